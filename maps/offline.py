"""The rider page offline: its service worker (``maps/static/sw.js``), the URL the page registers it by, and the
headers it is served with.

The worker keeps the page and the last answers of ``/stations/nearby`` (stations near the last positions asked)
and, when the network is gone, gives back the answer saved nearest the position asked, marked with the time it was
saved; the app shows it as saved, with its age, never as live (see the script's header). The app registers
``service_worker_url()`` in mode ``"rider"`` only: embeds and the static export (no server) have no worker.

``app_version`` is a hash of the app's files; it is the ``v`` of the worker's URL, which names the worker's
caches, so a new app drops the caches of the old one.

>>> service_worker_url().startswith("/sw.js?v="), len(app_version())
(True, 12)
>>> 'addEventListener("fetch"' in service_worker()
True
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

SERVICE_WORKER_PATH = "/sw.js"
"""Where the worker is served: at the root, so that its scope (its folder, ``/``) holds the rider page."""
SERVICE_WORKER_POLICY = "default-src 'none'; connect-src 'self'"
"""The worker's own Content-Security-Policy: it fetches from this server only (the page and the API)."""
SERVICE_WORKER_HEADERS = {
    "Cache-Control": "no-cache",
    "Service-Worker-Allowed": "/",
    "Content-Security-Policy": SERVICE_WORKER_POLICY,
}
"""Headers of the worker's script: ``no-cache``, so a browser asks for a new version each time it checks."""
APP_FILES = ("app.js", "app.css", "rider.html", "sw.js")
"""The files of ``maps/static`` that make the rider app, hashed into ``app_version``."""


def _read(name: str) -> bytes:
    return (resources.files("maps") / "static" / name).read_bytes()


@cache
def service_worker() -> str:
    """The worker's script (``maps/static/sw.js``), read once."""
    return _read("sw.js").decode("utf-8")


@cache
def app_version() -> str:
    """The first 12 hex digits of the SHA-256 of the rider app's files (``APP_FILES``), read once."""
    digest = hashlib.sha256()
    for name in APP_FILES:
        data = _read(name)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:12]


def service_worker_url() -> str:
    """The URL the rider page registers the worker by: ``/sw.js?v=<app_version>``."""
    return f"{SERVICE_WORKER_PATH}?v={app_version()}"
