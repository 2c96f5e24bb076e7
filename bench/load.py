"""Load test of ``GET /stations/nearby`` over HTTP on loopback: ``yizhan serve --workers 2`` driven by wrk.

For each registry size (the sample's 1,614 stations; 1M synthetic stations over Hangzhou) the script builds a
SQLite registry once (cached under ``--cache-dir``, keyed by the code that shapes the file), starts
``yizhan serve --workers 2`` on a free loopback port with it and, beside it, the framework's floor (bench/floor_app.py:
a bare Starlette app, 2 uvicorn workers, ``/healthz`` answering ``{"status":"ok"}``), waits until every worker of
both has started and ``/healthz`` answers, then runs wrk (one thread, ``--connections`` open connections, a warm-up
that is not counted, then ``--duration`` seconds) ``--runs`` times, interleaving the cases (only one server is
loaded at a time; the other idles):

* ``floor``: the bare Starlette app's ``GET /healthz`` — the baseline every figure is a share of;
* the same app answering a fixed JSON text as large as a nearby k=10 answer (its mean size, measured first): what
  the framework and loopback TCP cost for an answer of that size, with no work to make it (not a target; it bounds
  the share any nearby answer of that size could reach);
* both again behind Yizhan's own request pipeline, served as ``yizhan serve`` serves (bench/floor_app.py
  ``--layers``: its access log, security headers, compression, CORS, limits, protocol; the answers as hot lanes,
  as nearby's is): what every Yizhan request costs before its answer's own work — the highest share of the floor
  ``/healthz`` and nearby could reach with answers that took no time (not targets; the bounds of the targets);
* ``GET /healthz`` of yizhan (the whole middleware stack and the snapshot dependency, a tiny JSON answer);
* ``GET /stations/nearby?lon&lat&k=10``: the typical rider query, at a new uniformly random point in
  Hangzhou's bounding box (of data/hangzhou/districts.geojson) per request (bench/load.lua);
* the same with ``types=outdoor_worker&amenities=hot_water&open_at=now`` (the filtered mix);
* plain nearby again with a browser's ``Accept-Encoding`` (wrk sends none): the answer compressed, as a rider's page
  gets it (not a target of the issue; what the rider path costs).

Reported: requests/s, p50/p99 latency (wrk's, per request, from send to full response), non-2xx answers and
socket errors, how the work split between the workers (wrk's connections each held, counted half-way through a run;
the busiest worker's share of the workers' CPU time), as the median over the runs with the spread (min–max), and
requests/s as a share of the floor measured in the same run, against issue 17's targets (``/healthz`` >= 80% of the
floor; nearby >= 50% with p99 < 20 ms, at 1M >= 40%; the filtered mix >= 40%), each beside its bound (the same
answer with no work behind the same layers) and as a share of that bound; per registry size the workers' start-up
time (from launching the server to each worker's "Application startup complete") and resident memory (RSS) after
the runs.

With a closed loop of C connections, mean latency ≈ C / throughput (Little's law), so latency figures hold
for the connection count used; the default 8 keeps ~1,000 req/s at p99 well under 20 ms if the server keeps up.

The 1M registry is synthetic and labelled so (ids ``HZ-LOAD-…``, ``source`` "synthetic (bench/load.py)"):
positions as in bench/coverage.py (90% within ~1.5 km of a random sample station, 10% uniform over the
districts' bounding box), every other field copied from a random sample station, districts by
point-in-polygon. It is written straight into the store's table (no per-row validation; the server
validates every row when it loads them).

Needs wrk (Debian: ``apt-get install wrk``). Run from the repository root::

    .venv/bin/python bench/load.py                          # sample and 1M, 3 runs of 20 s, 8 connections
    .venv/bin/python bench/load.py --sizes sample --runs 5
    .venv/bin/python bench/load.py --uvicorn=--no-access-log  # `python -m uvicorn` with extra options instead
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repo root, so `api`, `stations` and `geo` import uninstalled

from coverage import synthetic_stations  # noqa: E402 - bench/ is on sys.path when a script runs
from report import code_lines, machine_lines, table  # noqa: E402

import api.routes.stations  # noqa: E402
import stations.exporters  # noqa: E402
import stations.snapshot  # noqa: E402
from geo.districts import Districts  # noqa: E402
from stations.importers import parse_file  # noqa: E402
from stations.registry import assign_districts  # noqa: E402
from stations.settings import SAMPLE_DIR  # noqa: E402
from stations.store import StationRow, Store  # noqa: E402

LUA_SCRIPT = Path(__file__).with_name("load.lua")
SIZES = {"sample": 0, "1m": 1_000_000}
WORKERS = 2
TARGET_P99_MS = 20.0
FLOOR, LAYERED, YIZHAN = "floor", "layered", "yizhan"
BROWSER = ("Accept-Encoding: gzip, deflate, br, zstd",)
"""What a rider's browser sends that bears on the answer's cost (wrk sends no Accept-Encoding of its own)."""
CASES: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {  # label: (server, path, query, headers)
    "floor: bare Starlette /healthz": (FLOOR, "/healthz", None, ()),
    "floor: a fixed answer as large as nearby k=10's": (FLOOR, "/answer?bytes={answer_bytes}", None, ()),
    "Yizhan's layers, no work: /healthz": (LAYERED, "/healthz", None, ()),
    "Yizhan's layers, no work: the fixed answer": (LAYERED, "/answer?bytes={answer_bytes}", None, ()),
    "GET /healthz": (YIZHAN, "/healthz", None, ()),
    "nearby k=10": (YIZHAN, "/stations/nearby", "k=10", ()),
    "nearby k=10 filtered": (
        YIZHAN,
        "/stations/nearby",
        "k=10&types=outdoor_worker&amenities=hot_water&open_at=now",
        (),
    ),
    "nearby k=10, a browser's Accept-Encoding (Brotli)": (YIZHAN, "/stations/nearby", "k=10", BROWSER),
}
BASELINE = "floor: bare Starlette /healthz"
TARGET_SHARES = {"GET /healthz": 0.8, "nearby k=10": 0.5, "nearby k=10 filtered": 0.4}
"""issue 17: each case's requests/s as a share of the floor's, at least (nearby also with p99 < TARGET_P99_MS)."""
TARGET_SHARES_BY_SIZE = {"1m": {**TARGET_SHARES, "nearby k=10": 0.4}}
"""Where a size's targets differ (issue 17: nearby at 1M stations >= 40% of the floor)."""
BOUNDS = {
    "GET /healthz": "Yizhan's layers, no work: /healthz",
    "nearby k=10": "Yizhan's layers, no work: the fixed answer",
    "nearby k=10 filtered": "Yizhan's layers, no work: the fixed answer",
}
"""The case bounding each target's: the same answer behind the same layers, made in no time."""
LIFESPAN = "Waiting for application startup."  # a worker has imported the app and starts loading the registry
STARTED = "Application startup complete."
SERVING = re.compile(r"serving registry version (?P<version>\d+) \(\d+ stations\) in process (?P<pid>\d+)")
BUILD_VERSION = "1"  # bump when the way registries are built here changes


# --------------------------------------------------------------------------- registries


def require_wrk() -> str:
    """The path of wrk, or exit with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        sys.exit("bench/load.py needs wrk, the HTTP load generator: on Debian/Ubuntu `sudo apt-get install wrk`")
    return path


def registry_key(size: str, seed: int) -> str:
    """A file name that changes whenever the code or data that shape the registry file change."""
    digest = hashlib.sha256(BUILD_VERSION.encode())
    shaping = [ROOT / "stations" / "store.py", ROOT / "stations" / "model.py", SAMPLE_DIR / "stations.csv"]
    shaping += sorted((ROOT / "stations" / "migrations").rglob("*.py"))
    for path in shaping:
        digest.update(path.read_bytes())
    return f"{size}-seed{seed}-{digest.hexdigest()[:12]}.sqlite3"


def write_stations(url: str, payloads: Sequence[dict]) -> int:
    """Stations (JSON-ready dicts as the store keeps them) written in bulk straight into the store's table; how
    many the table then holds.

    The registry's write path (validation, history, version) is not what is measured here, and at 1M rows it
    would take minutes; the server validates every row when it loads them anyway.
    """
    store = Store(url)
    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        for start in range(0, len(payloads), 50_000):
            rows = [
                {"id": p["id"], "lon": p["lon"], "lat": p["lat"], "adcode": p.get("adcode"), "payload": p,
                 "updated_at": now}
                for p in payloads[start : start + 50_000]
            ]  # fmt: skip
            connection.execute(StationRow.__table__.insert(), rows)
    count = store.count()
    store.engine.dispose()
    return count


def sample_payloads(districts: Districts) -> list[dict]:
    """The sample's stations as `yizhan import data/hangzhou/stations.csv` stores them (districts located)."""
    parsed = parse_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    assert not parsed.problems, parsed.problems[:3]
    located, _ = assign_districts(parsed.stations, parsed.station_rows, districts)
    return [s.model_dump(mode="json", exclude_none=True) for s in located]


def synthetic_payloads(n: int, districts: Districts, seed: int) -> list[dict]:
    """``n`` synthetic stations over Hangzhou: positions as in bench/coverage.py, districts by point-in-polygon,
    every other field copied from a random sample station (address left out), labelled synthetic."""
    templates = sample_payloads(districts)
    lon, lat = synthetic_stations(n, districts, seed)
    where = districts.locate(lon, lat)
    pick = np.random.default_rng(seed + 1).integers(0, len(templates), n)
    payloads = []
    for i in range(n):
        payload = {k: v for k, v in templates[pick[i]].items() if k not in ("address", "adcode", "district")}
        payload.update(id=f"HZ-LOAD-{i:07d}", name=f"合成驿站{i:07d}", lon=float(lon[i]), lat=float(lat[i]))
        payload["source"] = "synthetic (bench/load.py)"
        if where[i] >= 0:
            payload.update(adcode=districts.adcodes[where[i]], district=districts.names[where[i]])
        payloads.append(payload)
    return payloads


def registry_file(size: str, cache_dir: Path, seed: int) -> Path:
    """The cached SQLite registry for ``size``, built first if missing (into a temporary name, then renamed)."""
    path = cache_dir / registry_key(size, seed)
    if path.exists():
        print(f"  reusing {path}", flush=True)
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob(f"{size}-seed{seed}-*"):  # built by other code: up to 1 GB each
        stale.unlink()
    partial = path.with_suffix(".partial")
    start = time.perf_counter()
    url = f"sqlite:///{partial}"
    districts = Districts.from_file(SAMPLE_DIR / "districts.geojson")
    n = SIZES[size]
    count = write_stations(url, synthetic_payloads(n, districts, seed) if n else sample_payloads(districts))
    os.replace(partial, path)  # every connection is closed, so the write-ahead log is merged and removed
    print(f"  built {path} ({count:,} stations) in {time.perf_counter() - start:.1f} s", flush=True)
    return path


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running server: its supervisor process and when each worker finished starting."""

    process: subprocess.Popen
    base_url: str
    launched: float
    lifespan: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    versions: list[tuple[float, int, int]] = field(default_factory=list)
    """(monotonic s when read, worker pid, registry version) of each "serving registry version" line (a worker took
    up a new snapshot: ``stations.registry``)."""

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            if (serving := SERVING.search(line)) is not None:
                self.versions.append((time.monotonic(), int(serving["pid"]), int(serving["version"])))
            if LIFESPAN in line:
                self.lifespan.append(time.perf_counter() - self.launched)
            if STARTED in line:
                self.started.append(time.perf_counter() - self.launched)

    def workers(self) -> list[int]:
        """Process ids of the worker processes (children of the supervisor started by multiprocessing)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == self.process.pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
        return sorted(found)

    def restarts(self) -> int:
        """Workers that uvicorn's supervisor found dead or unresponsive (5 s health check) and replaced."""
        return sum("died" in line for line in self.log)

    def cpu_s(self) -> dict[int, float]:
        """CPU time (user + system) used so far by each worker, seconds."""
        used = {}
        for pid in self.workers():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return used

    def connections(self) -> list[int]:
        """Open TCP connections to the server's port each worker holds now, most first."""
        port = int(self.base_url.rsplit(":", 1)[1])
        established = set()  # socket inodes of established connections whose local port is the server's
        for kernel_table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(kernel_table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    established.add(f"socket:[{fields[9]}]")
        held = []
        for pid in self.workers():
            with contextlib.suppress(OSError):
                held.append(sum(os.readlink(fd) in established for fd in Path(f"/proc/{pid}/fd").iterdir()))
        return sorted(held, reverse=True)


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM) of a process, MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


DEFAULT_SERVER = "{bin}/yizhan serve --host 127.0.0.1 --port {port} --workers {workers}"
FLOOR_SERVER = "{python} bench/floor_app.py --host 127.0.0.1 --port {port} --workers {workers}"
LAYERED_SERVER = FLOOR_SERVER + " --layers"


def server_command(template: str, port: int) -> list[str]:
    """The server's command line: ``template`` with {bin} (this Python's bin directory), {python}, {port} and
    {workers} filled in."""
    values = {"bin": Path(sys.executable).parent, "python": sys.executable, "port": port, "workers": WORKERS}
    return shlex.split(template.format(**values))


@contextlib.contextmanager
def serving(database: Path | None, template: str, timeout_s: float = 900.0) -> Iterator[Server]:
    """Start the server on a free loopback port with ``database``; wait until every worker is up; stop it."""
    port = free_port()
    env = dict(os.environ)
    if database is not None:
        env["YIZHAN_DATABASE_URL"] = f"sqlite:///{database}"
    command = server_command(template, port)
    print(f"  starting: {' '.join(command)}", flush=True)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: stopping it stops its workers and nothing else
    )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", time.perf_counter())
    threading.Thread(target=server._read_log, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout_s
        while len(server.started) < WORKERS or get_ok(server.base_url + "/healthz") is False:
            if process.poll() is not None or any(line.startswith("Traceback") for line in server.log):
                raise RuntimeError("the server failed:\n" + "\n".join(server.log[-30:]))
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout_s:.0f} s")
            time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def get_ok(url: str) -> bool:
    with contextlib.suppress(OSError):
        return get(url, timeout=2.0)[0] == 200
    return False


# --------------------------------------------------------------------------- wrk


@dataclass
class Run:
    """One wrk run's figures."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    requests: int
    server_cpu_ms: float
    """Workers' CPU time per request (user + system), milliseconds: robust to other load on the machine."""
    wrk_cpu_ms: float
    busiest_cpu_share: float
    """The busiest worker's share of the workers' CPU time in the run (1/workers: even)."""
    connections: list[int]
    """wrk's connections each worker held half-way through the run, most first."""


def run_wrk(
    wrk: str,
    server: Server,
    path: str,
    query: str | None,
    box: Sequence[float],
    seconds: float,
    connections: int,
    headers: Sequence[str] = (),
) -> Run:
    """wrk with one thread and ``connections`` connections for ``seconds`` (each request with ``headers``); its
    figures from load.lua's summary."""
    script_args = [path, *(f"{v:.6f}" for v in box), query] if query is not None else [path]
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA_SCRIPT),
               *(f"-H{header}" for header in headers), server.base_url, "--", *script_args]  # fmt: skip
    server_before, wrk_before = server.cpu_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as load:
        time.sleep(seconds / 2)
        connections = server.connections()
        stdout, stderr = load.communicate(timeout=seconds + 60)
    if load.returncode != 0:
        raise RuntimeError(f"wrk failed ({load.returncode}): {stderr.strip()}")
    server_after, wrk_after = server.cpu_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = [server_after[pid] - server_before.get(pid, 0.0) for pid in server_after]
    server_cpu = sum(worker_cpu)
    wrk_cpu = wrk_after.ru_utime + wrk_after.ru_stime - wrk_before.ru_utime - wrk_before.ru_stime
    summary = json.loads(stdout.strip().splitlines()[-1])
    errors = sum(summary[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Run(
        requests_per_s=summary["requests"] / (summary["duration_us"] / 1e6),
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        non_2xx=summary["non_2xx_3xx"],
        socket_errors=errors,
        requests=summary["requests"],
        server_cpu_ms=server_cpu * 1000 / max(summary["requests"], 1),
        wrk_cpu_ms=wrk_cpu * 1000 / max(summary["requests"], 1),
        busiest_cpu_share=max(worker_cpu) / server_cpu if server_cpu > 0 else float("nan"),
        connections=connections,
    )


def check_answers(server: Server, box: Sequence[float]) -> int:
    """A few nearby answers before loading: 200, a FeatureCollection, k=10 features for the plain query; returns
    the plain query's mean answer size in bytes."""
    rng = np.random.default_rng(7)
    sizes = []
    for which, path, query, _ in CASES.values():
        if which != YIZHAN:
            continue
        for _ in range(5):
            lon, lat = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
            url = server.base_url + path + (f"?lon={lon:.6f}&lat={lat:.6f}&{query}" if query else "")
            status, body = get(url)
            assert status == 200, f"{url}: {status} {body[:300]!r}"
            answer = json.loads(body)
            if query == "k=10":
                assert answer["type"] == "FeatureCollection" and len(answer["features"]) == 10, url
                sizes.append(len(body))
    return round(statistics.mean(sizes))


# --------------------------------------------------------------------------- the report


def spread(values: Sequence[float], digits: int) -> str:
    median = statistics.median(values)
    return f"{median:,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


@dataclass
class SizeResult:
    size: str
    stations: int
    lifespan_s: list[float]
    """When each worker had imported the app and began loading the registry (seconds from launch)."""
    started_s: list[float]
    memory: list[tuple[float, float]]
    runs: dict[str, list[Run]]
    restarts: int


def measure(size: str, database: Path, wrk: str, box: Sequence[float], args: argparse.Namespace) -> SizeResult:
    with (
        serving(database, args.server) as server,
        serving(None, args.floor) as floor,
        serving(None, args.layered) as layered,
    ):
        servers = {YIZHAN: server, FLOOR: floor, LAYERED: layered}
        stations = json.loads(get(server.base_url + "/healthz")[1])["stations"]
        started, lifespan = sorted(server.started), sorted(server.lifespan)
        print(f"  {stations:,} stations; workers up after {', '.join(f'{s:.1f} s' for s in started)}", flush=True)
        answer_bytes = check_answers(server, box)
        cases = {
            label: (which, path.format(answer_bytes=answer_bytes), query, headers)
            for label, (which, path, query, headers) in CASES.items()
        }
        for which, path, query, headers in cases.values():  # warm-up, not counted
            run_wrk(wrk, servers[which], path, query, box, args.warmup, args.connections, headers)
        runs: dict[str, list[Run]] = {label: [] for label in CASES}
        for number in range(args.runs):
            for label, (which, path, query, headers) in cases.items():
                run = run_wrk(wrk, servers[which], path, query, box, args.duration, args.connections, headers)
                runs[label].append(run)
                print(f"  run {number + 1} {label}: {run.requests_per_s:,.0f} req/s, p50 {run.p50_ms:.2f} ms, "
                      f"p99 {run.p99_ms:.2f} ms, non-2xx {run.non_2xx}, errors {run.socket_errors}, server CPU "
                      f"{run.server_cpu_ms:.2f} ms/request, wrk {run.wrk_cpu_ms:.2f}, connections per worker "
                      f"{'/'.join(map(str, run.connections))}, busiest worker {run.busiest_cpu_share:.0%} of the "
                      f"CPU", flush=True)  # fmt: skip
        memory = [memory_mib(pid) for pid in server.workers()]
        restarts = server.restarts()
    return SizeResult(size, stations, lifespan, started, memory, runs, restarts)


def report(results: Sequence[SizeResult], args: argparse.Namespace, box: Sequence[float]) -> list[str]:
    versions = ", ".join(
        f"{p} {importlib.metadata.version(p)}" for p in ("fastapi", "starlette", "uvicorn", "pydantic")
    )
    extras = [p for p in ("uvloop", "httptools", "orjson") if importlib.util.find_spec(p) is not None]
    wrk_version = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    lines = [
        "Load test of GET /stations/nearby (bench/load.py)",
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        *machine_lines(f"python {sys.version.split()[0]}, {versions}; also importable: {', '.join(extras) or 'none'}"),
        *code_lines((api.routes.stations, stations.exporters, stations.snapshot)),
        f"server:  {args.server}",
        f"floor:   {args.floor} (bench/floor_app.py)",
        f"layers:  {args.layered} (bench/floor_app.py)",
        f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)",
        f"load:    {wrk_version.split(' [')[0]}, 1 thread, {args.connections} connections, {args.warmup:g} s warm-up "
        f"per case, then {args.runs} runs x {args.duration:g} s per case, interleaved",
        f"points:  uniform in Hangzhou's bounding box lon {box[0]:.3f}–{box[2]:.3f}, lat {box[1]:.3f}–{box[3]:.3f}",
        "figures: median over runs (min–max); latency from wrk (send to full answer); the machine is shared",
    ]
    for result in results:
        lines += ["", f"registry: {result.size}, {result.stations:,} stations"]
        lines.append(
            f"  workers (seconds from launch): app imported at {', '.join(f'{s:.1f}' for s in result.lifespan_s)}, "
            f"registry loaded and serving at {', '.join(f'{s:.1f}' for s in result.started_s)}; RSS per worker "
            f"after the runs: {', '.join(f'{now:,.0f} MiB (peak {peak:,.0f})' for now, peak in result.memory)}; "
            f"workers replaced by uvicorn's supervisor: {result.restarts}"
        )
        floor = statistics.median(r.requests_per_s for r in result.runs[BASELINE])
        body = []
        for label, runs in result.runs.items():
            rps = [r.requests_per_s for r in runs]
            body.append([
                label, spread(rps, 0), spread([r.p50_ms for r in runs], 2), spread([r.p99_ms for r in runs], 2),
                f"{sum(r.non_2xx for r in runs)}", f"{sum(r.socket_errors for r in runs)}",
                f"{sum(r.requests for r in runs):,}", f"{statistics.median(rps) / floor:.2f}x",
                spread([r.server_cpu_ms for r in runs], 2), spread([r.wrk_cpu_ms for r in runs], 2),
                ", ".join("/".join(map(str, r.connections)) for r in runs),
                spread([100 * r.busiest_cpu_share for r in runs], 0),
            ])  # fmt: skip
        header = ["case", "req/s", "p50 ms", "p99 ms", "non-2xx", "socket errors", "requests", "req/s vs floor",
                  "server CPU ms/req", "wrk CPU ms/req", "connections per worker", "busiest worker % CPU"]  # fmt: skip
        lines += ["  " + line for line in table(header, body)]
        for label, share in TARGET_SHARES_BY_SIZE.get(result.size, TARGET_SHARES).items():
            runs = result.runs[label]
            rps, p99 = statistics.median(r.requests_per_s for r in runs), statistics.median(r.p99_ms for r in runs)
            met = rps >= share * floor and (label != "nearby k=10" or p99 < TARGET_P99_MS)
            bound = f" with p99 < {TARGET_P99_MS:g} ms" if label == "nearby k=10" else ""
            ceiling = statistics.median(r.requests_per_s for r in result.runs[BOUNDS[label]])
            lines.append(
                f"  target, {label}: >= {share:.0%} of the floor{bound} -> {'MET' if met else 'NOT MET'} "
                f"({rps / floor:.0%}, {rps:,.0f} of {floor:,.0f} req/s, p99 {p99:.1f} ms); the same answer made in "
                f"no time behind the same layers: {ceiling / floor:.0%} of the floor; this case {rps / ceiling:.0%} "
                "of that"
            )
    return lines


def exit_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM handler of the load scripts: exit by unwinding, so the servers they started are stopped too."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, exit_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per counted run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of uncounted load per case first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yizhan-load")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="the server's command line (default: %(default)s)")
    parser.add_argument("--floor", default=FLOOR_SERVER, help="the floor's command line (default: %(default)s)")
    parser.add_argument(
        "--layered", default=LAYERED_SERVER, help="the floor behind Yizhan's layers (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    wrk = require_wrk()
    districts = Districts.from_file(SAMPLE_DIR / "districts.geojson")
    box = [float(v) for v in shapely.total_bounds(districts.geometries)]
    results = []
    for size in args.sizes:
        print(f"registry {size}:", flush=True)
        database = registry_file(size, args.cache_dir, args.seed)
        results.append(measure(size, database, wrk, box, args))
    print("\n" + "\n".join(report(results, args, box)))


if __name__ == "__main__":
    main()
