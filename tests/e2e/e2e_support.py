"""What the browser tests share: the station set (hostile names: markup, and template syntax of Jinja2, JS, Ruby
and ERB in the others, which must all show as text), the rider's position, a fixed clock,
and ``serve``, which runs the app with uvicorn on a free 127.0.0.1 port in a thread."""

from __future__ import annotations

import csv
import functools
import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from served import free_port

from api.app import create_app
from stations.people import People
from stations.settings import Settings
from stations.store import Store

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"</script><script>alert(2)</script>'
RIDER_AT = (120.16, 30.25)
"""(lon, lat) WGS84 where the mocked rider stands: the east shore of West Lake."""
FIXED_NOW = "2026-11-23T12:00"
"""A Monday noon (China time): split-shift stations are closed, day-time ones open."""
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

SPLIT = "Mo-Fr 08:30-11:00,13:30-17:00; PH off"
DAY = "Mo-Su 08:00-20:00"
EVENING = "Mo-Su 18:00-22:00"
# id, name, types, lon, lat, hours, hot_water, microwave, phone_charging, toilet, air_conditioning, address
STATIONS: list[tuple[str, str, str, float, float, str, str, str, str, str, str, str]] = [
    ("T-IMG", IMG, "outdoor_worker", 120.1612, 30.2509, DAY, "yes", "yes", "yes", "", "", f"湖滨路 {IMG}"),
    ("T-SCRIPT", SCRIPT, "driver_home", 120.1580, 30.2530, "24/7", "no", "", "yes", "yes", "yes", SCRIPT),
    (
        "T-SPLIT",
        "湖滨街道工会驿站 {# 二号",
        "outdoor_worker",
        120.1650,
        30.2470,
        SPLIT,
        "yes",
        "no",
        "yes",
        "yes",
        "",
        "",
    ),
    (
        "T-EVE",
        "延安路骑士之家 SSTI[{{ 7*7 }}]X",
        "outdoor_worker",
        120.1680,
        30.2560,
        EVENING,
        "no",
        "yes",
        "yes",
        "",
        "",
        "延安路1号",
    ),
    (
        "T-NONE",
        "西湖母婴室 {% if 1 %}IF-RAN{% endif %}",
        "nursing_room",
        120.1550,
        30.2440,
        "",
        "",
        "",
        "",
        "yes",
        "yes",
        "",
    ),
    (
        "T-MOM",
        "龙翔桥妈咪暖心小屋",
        "nursing_room;outdoor_worker",
        120.1700,
        30.2600,
        DAY,
        "yes",
        "",
        "",
        "",
        "yes",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ),
    (
        "T-DRV",
        "钱江司机之家 ${7*7}-dollar",
        "driver_home",
        120.2100,
        30.2450,
        "24/7",
        "yes",
        "yes",
        "yes",
        "yes",
        "yes",
        "",
    ),
    ("T-FAR", "滨江爱心驿站 #{7*7}-hash", "outdoor_worker", 120.2150, 30.2100, DAY, "yes", "yes", "", "", "", ""),
    (
        "T-WEST",
        "灵隐户外劳动者服务站 <%= 7*7 %>-erb",
        "outdoor_worker",
        120.1010,
        30.2410,
        SPLIT,
        "",
        "yes",
        "yes",
        "",
        "",
        "",
    ),
]
STATION_WGS84 = {row[0]: (row[3], row[4]) for row in STATIONS}


def stations_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "name", "types", "lon", "lat", "opening_hours", "hot_water", "microwave", "phone_charging", "toilet",
         "air_conditioning", "address", "verified_at"]
    )  # fmt: skip
    for number, row in enumerate(STATIONS):
        writer.writerow([*row, f"2026-10-{number + 1:02d}"])
    return out.getvalue().encode("utf-8")


@dataclass
class Server:
    url: str
    settings: Settings

    def get(self, path: str, **params: Any) -> httpx.Response:
        response = httpx.get(self.url + path, params=params, timeout=30)
        response.raise_for_status()
        return response


@contextmanager
def serve(tmp: Path, **overrides: Any) -> Iterator[Server]:
    """The app on a free loopback port in a thread, with ``STATIONS`` imported; stopped on exit."""
    import uvicorn

    settings = Settings(database_url=f"sqlite:///{tmp / 'yizhan.sqlite3'}", demand_path=None, **overrides)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        raise RuntimeError("uvicorn did not start")
    report = app.state.registry.import_file(stations_csv(), "e2e.csv")
    assert report.committed and not report.problems, report
    app.state.registry.refresh()
    try:
        yield Server(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def other_site(folder: Path, pages: dict[str, str]) -> Iterator[str]:
    """Serves ``pages`` (file name → HTML) from ``folder`` on another loopback port: a union's web site.

    A real loopback server, not a routed fake: Chromium's local network access checks block a page from a
    "public" origin (which a fulfilled route is) from framing 127.0.0.1."""
    for name, html in pages.items():
        (folder / name).write_text(html, encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def list_ids(page: Any) -> list[str]:
    """The station ids of the rider page's list, in its order."""
    return page.eval_on_selector_all(".yz-item", "items => items.map(item => item.dataset.id)")


def wait_for_ids(page: Any, expected: list[str], timeout_s: float = 10.0) -> None:
    """Wait until the rider page lists ``expected`` (then assert it, so a failure shows both lists)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if list_ids(page) == expected:
            return
        page.wait_for_timeout(50)
    assert list_ids(page) == expected


CONSOLE_PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def console_serve(tmp: Path, people: Iterable[tuple[str, str]]) -> Iterator[Server]:
    """``serve`` with keeper-console accounts: each (name, role) signs in with ``CONSOLE_PASSWORD``."""
    with serve(tmp) as running:
        accounts = People.from_settings(Store(running.settings.database_url), running.settings)
        for name, role in people:
            accounts.create(name, role, CONSOLE_PASSWORD)
        accounts.store.engine.dispose()
        yield running


def signed_in(new_page: Callable[..., Any], server: Server, path: str, name: str, **options: Any) -> Any:
    """A desktop page (Chinese) signed in to the console as ``name``, on ``path``."""
    page = new_page(viewport=DESKTOP, locale="zh-CN", **options)
    page.goto(f"{server.url}/console/login?next={path}")
    page.fill("#yz-name", name)
    page.fill("#yz-password", CONSOLE_PASSWORD)
    page.click("#yz-signin-form button[type=submit]")
    page.wait_for_url(f"{server.url}{path}")
    return page
