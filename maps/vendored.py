"""The map libraries Yizhan serves itself (``maps/vendor``: Leaflet 1.9.4, Leaflet.markercluster 1.5.3), inlined
into a page as ``<script>`` and ``<style>`` elements, images as ``data:`` URIs: no page asks a CDN for code.
Without folium, so that the pages that draw their own small map (the keeper console's) do not load it."""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

LEAFLET_VERSION = "1.9.4"
MARKERCLUSTER_VERSION = "1.5.3"

_LEAFLET_DIR = f"leaflet-{LEAFLET_VERSION}"
_MARKERCLUSTER_DIR = f"leaflet.markercluster-{MARKERCLUSTER_VERSION}"
_JSDELIVR = "https://cdn.jsdelivr.net/npm"

LEAFLET_JS = ("leaflet", f"{_JSDELIVR}/leaflet@{LEAFLET_VERSION}/dist/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{_JSDELIVR}/leaflet@{LEAFLET_VERSION}/dist/leaflet.css")
MARKERCLUSTER_JS = (
    "markerclusterjs",
    f"{_JSDELIVR}/leaflet.markercluster@{MARKERCLUSTER_VERSION}/dist/leaflet.markercluster.js",
)
MARKERCLUSTER_CSS = (
    ("markerclustercss", f"{_JSDELIVR}/leaflet.markercluster@{MARKERCLUSTER_VERSION}/dist/MarkerCluster.css"),
    (
        "markerclusterdefaultcss",
        f"{_JSDELIVR}/leaflet.markercluster@{MARKERCLUSTER_VERSION}/dist/MarkerCluster.Default.css",
    ),
)
"""The CDN links a map built here declares (used as is when the ``folium.Map`` is shown in a notebook)."""

VENDORED: dict[str, str] = {
    "leaflet": f"{_LEAFLET_DIR}/leaflet.js",
    "leaflet_css": f"{_LEAFLET_DIR}/leaflet.css",
    "markerclusterjs": f"{_MARKERCLUSTER_DIR}/leaflet.markercluster.js",
    "markerclustercss": f"{_MARKERCLUSTER_DIR}/MarkerCluster.css",
    "markerclusterdefaultcss": f"{_MARKERCLUSTER_DIR}/MarkerCluster.Default.css",
}
"""folium resource name → file under ``maps/vendor`` that replaces it."""

_SOURCE_MAP = re.compile(r"^\s*(//[#@] sourceMappingURL=.*|/\*[#@] sourceMappingURL=.*\*/)\s*$", re.MULTILINE)
_CSS_IMAGE = re.compile(r"url\((['\"]?)images/([\w.-]+\.png)\1\)")


def leaflet_inline() -> tuple[str, str]:
    """Leaflet's style sheet and script as inline ``<style>`` and ``<script>`` elements (with the default marker
    icons as ``data:`` URIs), for a page that draws its own map without folium (the console's station form).

    >>> style, script = leaflet_inline()
    >>> style.startswith("<style>"), "L.Icon.Default.mergeOptions" in script
    (True, True)
    """
    return inline_style("leaflet_css"), inline_script("leaflet")


@cache
def _asset(path: str) -> str:
    return (resources.files("maps") / "vendor" / path).read_text(encoding="utf-8")


@cache
def _data_uri(path: str) -> str:
    data = (resources.files("maps") / "vendor" / path).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _checked(name: str, text: str, closing: str) -> str:
    text = _SOURCE_MAP.sub("", text)  # a source map would be fetched relative to wherever the page is served
    if closing in text.lower():
        raise ValueError(f"vendored {VENDORED[name]} contains {closing!r} and cannot be inlined")
    return text


@cache
def inline_script(name: str) -> str:
    """The vendored script ``name`` (a ``VENDORED`` key) as an inline ``<script>`` (Leaflet's default icons as
    ``data:`` URIs)."""
    code = _checked(name, _asset(VENDORED[name]), "</script")
    script = f"<script>/* {VENDORED[name]} (maps/vendor) */\n{code}</script>"
    if name == "leaflet":
        images = f"{_LEAFLET_DIR}/images"
        icons = {
            "iconUrl": _data_uri(f"{images}/marker-icon.png"),
            "iconRetinaUrl": _data_uri(f"{images}/marker-icon-2x.png"),
            "shadowUrl": _data_uri(f"{images}/marker-shadow.png"),
        }
        options = ",".join(f'{key}:"{value}"' for key, value in icons.items())
        script += f'\n<script>L.Icon.Default.imagePath="";L.Icon.Default.mergeOptions({{{options}}});</script>'
    return script


@cache
def inline_style(name: str) -> str:
    """The vendored style sheet ``name`` (a ``VENDORED`` key) as an inline ``<style>``, its images as ``data:`` URIs."""
    path = VENDORED[name]
    folder = path.rsplit("/", 1)[0]

    def image(match: re.Match[str]) -> str:
        return f'url("{_data_uri(f"{folder}/images/{match.group(2)}")}")'

    css = _CSS_IMAGE.sub(image, _checked(name, _asset(path), "</style"))
    return f"<style>/* {path} (maps/vendor) */\n{css}</style>"
