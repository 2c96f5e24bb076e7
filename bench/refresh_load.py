"""Refresh under load (issue 17 item 3): edits made while wrk loads ``yizhan serve --workers 2`` at 200k stations.

The registry (``--stations`` synthetic stations over Hangzhou, built and cached as bench/load.py builds its 1M
registry; a SQLite file) is served by ``yizhan serve --workers 2`` on a free loopback port. Each run has two
phases of ``--duration`` seconds, with the same load:

* ``baseline``: wrk on ``GET /stations/nearby?k=10`` at random points (bench/load.lua), no edits;
* ``edits``: the same wrk load while an editor edits a random station through the API every ``--edit-every``
  seconds (``GET`` for its ETag, then ``PATCH`` moving it a few metres and renaming it, with ``If-Match``).

After each edit the registry version it committed is read from the store. In both phases a watcher asks
``/healthz`` on a new connection every ``--poll-every`` seconds (so the kernel hands each to either worker) and notes
which worker serves which version: an edit's delay is from just before its ``PATCH`` was sent (before its commit)
until the send time of the first answer showing its version from the last worker (resolution: the poll interval
times the number of workers). A probe beside wrk sends ``GET /stations/nearby`` on a new connection every
``--probe-every`` seconds in both phases and records when each was sent and how long it took, so the requests
*during a refresh* (sent between an edit's ``PATCH`` and the moment every worker served it) are known one by one.
The edits are written into the cached registry file, so a run starts from the registry as the last run left it; a
new ``--seed`` (or an emptied ``--cache-dir``) gives a freshly bulk-written one, whose newest write is every row.
Four edits are made after start-up before the runs (not counted, printed): a worker's first write costs more than
the next ones (first use of the write path), a one-off that is not the refresh measured here.

Targets (issue 17): every edit served by every worker within 2 s of its commit; no request during the refresh
takes more than 50 ms longer than the p99 before it, i.e. than the baseline phase's p99 in the same run. Checked
on wrk's maximum over the whole edits phase (every request, refreshes or not: an upper bound) and on the probe's
requests during refreshes. The baseline phase's own maximum is printed too: on a shared 2-core machine a request
can stall without any refresh.

    .venv/bin/python bench/refresh_load.py                    # 200k stations, 2 runs of 30 s per phase
    .venv/bin/python bench/refresh_load.py --stations 20000 --runs 1 --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import load  # bench/ is on sys.path when a script runs
import numpy as np
import shapely
from load import DEFAULT_SERVER, LUA_SCRIPT, Server, exit_on_signal, memory_mib, require_wrk, serving
from report import code_lines, machine_lines, table

import stations.refresh
import stations.snapshot
from geo.districts import Districts
from stations.settings import SAMPLE_DIR
from stations.store import Store

TARGET_DELAY_S = 2.0
TARGET_EXTRA_MS = 50.0
ADMIN_TOKEN = "refresh-load-admin-" + "0" * 24
"""The server's bootstrap admin token (``YIZHAN_ADMIN_TOKEN``), for the editor: a loopback bench server only."""
NEARBY_QUERY = "k=10"
HANG_GUARD_S = 60.0
"""An edit not served by every worker after this long is reported as such (and ends waiting for it)."""


def _connection(base_url: str) -> http.client.HTTPConnection:
    host, port = base_url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=HANG_GUARD_S)


def request(base_url: str, method: str, path: str, body: object = None, headers: dict[str, str] | None = None):
    """One request on a new connection: (status, headers, body bytes)."""
    connection = _connection(base_url)
    try:
        data = None if body is None else json.dumps(body).encode()
        sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
        connection.request(method, path, body=data, headers=sent)
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@dataclass
class Probe:
    """Nearby requests on new connections at a steady pace: (sent at, monotonic s; latency, ms) each."""

    base_url: str
    box: Sequence[float]
    every_s: float
    seed: int
    samples: list[tuple[float, float]] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = np.random.default_rng(self.seed)
        while not self._stop.is_set():
            lon, lat = rng.uniform(self.box[0], self.box[2]), rng.uniform(self.box[1], self.box[3])
            path = f"/stations/nearby?lon={lon:.6f}&lat={lat:.6f}&{NEARBY_QUERY}"
            start = time.monotonic()
            try:
                status = request(self.base_url, "GET", path)[0]
            except OSError:
                status = 0
            took = time.monotonic() - start
            if status == 200:
                self.samples.append((start, took * 1000))
            else:
                self.failures += 1
            self._stop.wait(max(0.0, self.every_s - took))

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Watcher:
    """``/healthz`` on a new connection every ``every_s`` seconds (so the kernel hands each to either worker), in
    both phases: when each worker was seen serving which registry version."""

    base_url: str
    every_s: float
    logged: list[tuple[float, int, int]] = field(default_factory=list)
    """The workers' own "serving registry version" lines (``load.Server.versions``, the same shape as ``seen``):
    under load the kernel hands almost every new connection to the same worker (142 of 150 /healthz polls in a
    check here), so the polls alone can see the other worker late; each line is exact to the pipe's delay."""
    seen: list[tuple[float, int, int]] = field(default_factory=list)
    """(monotonic s, worker pid, registry version) of each answer."""
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            with contextlib.suppress(OSError, ValueError, KeyError):
                health = json.loads(request(self.base_url, "GET", "/healthz")[2])
                self.seen.append((start, health["worker"], health["registry_version"]))
            self._stop.wait(max(0.0, self.every_s - (time.monotonic() - start)))

    def workers(self) -> set[int]:
        return {worker for _, worker, _ in self.seen}

    def served(self, sent: float, version: int) -> dict[int, float]:
        """Seconds after ``sent`` at which each worker was first seen serving ``version`` or later (the request's
        send time: the answer may have come later, but the snapshot it was taken from was current then)."""
        first: dict[int, float] = {}
        for at, worker, seen_version in sorted([*self.seen, *self.logged]):
            if at >= sent and seen_version >= version and worker not in first:
                first[worker] = at - sent
        return first

    def wait_served(self, edits: Sequence[Edit], workers: int, timeout_s: float = HANG_GUARD_S) -> None:
        """Wait until every edit is seen served by ``workers`` workers (or ``timeout_s``), and note the delays."""
        deadline = time.monotonic() + timeout_s
        while edits and time.monotonic() < deadline:
            if all(len(self.served(e.sent, e.version)) >= workers for e in edits):
                break
            time.sleep(self.every_s)
        for edit in edits:
            edit.delay_by_worker = self.served(edit.sent, edit.version)
            if len(edit.delay_by_worker) >= workers:
                edit.served_all_s = max(edit.delay_by_worker.values())

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Edit:
    """One edit: when its PATCH was sent (monotonic s), the version it committed, and the seconds until each worker
    was seen serving that version (``served_all_s`` None: not every worker within ``HANG_GUARD_S``)."""

    sent: float
    version: int
    patch_s: float = 0.0
    """Seconds from sending the PATCH to its answer (the commit is within it)."""
    delay_by_worker: dict[int, float] = field(default_factory=dict)
    served_all_s: float | None = None


@dataclass
class Editor:
    """Edits a random station every ``every_s`` seconds (``Watcher`` tells when each is served)."""

    base_url: str
    store: Store
    count: int
    every_s: float
    seed: int
    edits: list[Edit] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = np.random.default_rng(self.seed)
        while not self._stop.wait(self.every_s):
            self.edit_once(rng)

    def edit_once(self, rng: np.random.Generator) -> Edit | None:
        """Move and rename a random station through the API; None (and a failure noted) if the API refused."""
        station_id = f"HZ-LOAD-{int(rng.integers(self.count)):07d}"
        status, headers, body = request(self.base_url, "GET", f"/stations/{station_id}")
        if status != 200:
            self.failures.append(f"GET {station_id}: {status} {body[:200]!r}")
            return None
        lon, lat = json.loads(body)["geometry"]["coordinates"]
        change = {"lon": lon + float(rng.uniform(-1e-4, 1e-4)), "lat": lat + float(rng.uniform(-1e-4, 1e-4)),
                  "name": f"改名驿站{int(rng.integers(1_000_000)):06d}"}  # fmt: skip
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}", "If-Match": headers["etag"]}
        sent = time.monotonic()
        try:
            status, _, body = request(self.base_url, "PATCH", f"/stations/{station_id}", change, auth)
        except OSError as error:
            self.failures.append(f"PATCH {station_id}: no answer after {time.monotonic() - sent:.1f} s ({error})")
            return None
        if status != 200:
            self.failures.append(f"PATCH {station_id}: {status} {body[:200]!r}")
            return None
        edit = Edit(sent, self.store.version(), time.monotonic() - sent)
        self.edits.append(edit)
        return edit

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Wrk:
    """wrk's figures for one phase (load.lua's summary)."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    """Non-2xx answers and socket errors."""


def run_wrk(wrk: str, server: Server, box: Sequence[float], seconds: float, connections: int) -> Wrk:
    """wrk (one thread, ``connections`` connections) on nearby k=10 at random points for ``seconds``."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(LUA_SCRIPT),
               server.base_url, "--", "/stations/nearby", *(f"{v:.6f}" for v in box), NEARBY_QUERY]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    errors = sum(summary[k] for k in ("non_2xx_3xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return Wrk(
        summary["requests"] / (summary["duration_us"] / 1e6), summary["p50_us"] / 1000, summary["p99_us"] / 1000,
        summary["max_us"] / 1000, summary["requests"], errors,
    )  # fmt: skip


@dataclass
class Phase:
    """One phase of a run: wrk's figures, the probe's samples and, with edits, the edits."""

    name: str
    wrk: Wrk
    probe: list[tuple[float, float]]
    probe_failures: int
    edits: list[Edit]
    edit_failures: list[str]
    load_average: tuple[float, float, float]

    def during_refresh(self) -> list[float]:
        """Latencies (ms) of the probe's requests sent while some edit was not yet served by every worker."""
        windows = [(e.sent, e.sent + (HANG_GUARD_S if e.served_all_s is None else e.served_all_s)) for e in self.edits]
        return [ms for at, ms in self.probe if any(start <= at <= end for start, end in windows)]


def run_phase(
    name: str, wrk: str, server: Server, box: Sequence[float], store: Store, count: int, args: argparse.Namespace,
    seed: int,
) -> Phase:  # fmt: skip
    """wrk for ``args.duration`` seconds with the probe and the watcher beside it and, for ``name == "edits"``, the
    editor; then the watcher alone until every edit is served."""
    probe = Probe(server.base_url, box, args.probe_every, seed)
    watcher = Watcher(server.base_url, args.poll_every)
    editor = Editor(server.base_url, store, count, args.edit_every, seed) if name == "edits" else None
    threads = [threading.Thread(target=probe.run, daemon=True), threading.Thread(target=watcher.run, daemon=True)]
    if editor is not None:
        threads.append(threading.Thread(target=editor.run, daemon=True))
    for thread in threads:
        thread.start()
    try:
        figures = run_wrk(wrk, server, box, args.duration, args.connections)
    finally:
        probe.stop()
        if editor is not None:
            editor.stop()
            threads[2].join(HANG_GUARD_S + 30)
            watcher.wait_served(editor.edits, load.WORKERS)
        watcher.stop()
        for thread in threads[:2]:
            thread.join(HANG_GUARD_S + 30)
    edits, failures = (editor.edits, editor.failures) if editor is not None else ([], [])
    return Phase(name, figures, probe.samples, probe.failures, edits, failures, os.getloadavg())


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(phases: Sequence[Phase], count: int, args: argparse.Namespace, startup: list[float],
           memory: list[tuple[float, float]]) -> list[str]:  # fmt: skip
    lines = [
        "Refresh under load (bench/refresh_load.py)",
        f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        *machine_lines(f"python {sys.version.split()[0]}"),
        *code_lines((stations.refresh, stations.snapshot)),
        f"server:  {DEFAULT_SERVER} (YIZHAN_CHECK_INTERVAL_S {os.environ.get('YIZHAN_CHECK_INTERVAL_S', 'default')})",
        f"registry: {count:,} synthetic stations (SQLite); workers serving after "
        f"{', '.join(f'{s:.1f}' for s in startup)} s; RSS per worker at the end "
        f"{', '.join(f'{now:,.0f} MiB (peak {peak:,.0f})' for now, peak in memory)}",
        f"load:    wrk 1 thread, {args.connections} connections, {args.duration:g} s per phase, nearby {NEARBY_QUERY} "
        f"at random points; probe: one request on a new connection every {args.probe_every:g} s; an edit every "
        f"{args.edit_every:g} s in the edits phase",
        "",
    ]
    body = []
    for number, item in enumerate(phases):
        w = item.wrk
        refresh = item.during_refresh()
        delays = [e.served_all_s for e in item.edits if e.served_all_s is not None]
        body.append([
            f"{number // 2 + 1} {item.name}", f"{w.requests_per_s:,.0f}", f"{w.p50_ms:.1f}", f"{w.p99_ms:.1f}",
            f"{w.max_ms:.1f}", f"{w.errors}", f"{percentile([ms for _, ms in item.probe], 99):.1f}",
            f"{max(refresh):.1f} ({len(refresh)})" if refresh else "-",
            f"{len(item.edits)}" + (f" (+{len(item.edit_failures)} failed)" if item.edit_failures else ""),
            f"{statistics.median(delays):.2f} / {max(delays):.2f}" if delays else "-",
            " ".join(f"{v:.2f}" for v in item.load_average),
        ])  # fmt: skip
    header = ["run phase", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "probe p99 ms",
              "probe max ms in refresh (n)", "edits", "served by all s (median / max)", "load avg 1/5/15"]  # fmt: skip
    lines += table(header, body)
    baselines = [p for p in phases if p.name == "baseline"]
    with_edits = [p for p in phases if p.name == "edits"]
    edits = [e for p in with_edits for e in p.edits]
    delays = [e.served_all_s for e in edits]
    worst = max((d for d in delays if d is not None), default=float("nan"))
    unserved = sum(d is None for d in delays)
    lines += ["", f"edits: {len(edits)}; served by every worker after (s, from just before the PATCH): median "
              f"{statistics.median([d for d in delays if d is not None] or [float('nan')]):.2f}, max {worst:.2f}"
              + (f"; {unserved} not served within {HANG_GUARD_S:g} s" if unserved else "")
              + f"; the PATCH itself answered after median {statistics.median([e.patch_s for e in edits] or [0]):.2f},"
              f" max {max([e.patch_s for e in edits] or [0]):.2f}"]  # fmt: skip
    met_delay = bool(edits) and not unserved and worst <= TARGET_DELAY_S
    lines.append(f"target: every edit served by every worker within {TARGET_DELAY_S:g} s -> "
                 f"{'MET' if met_delay else 'NOT MET'}")  # fmt: skip
    for base, edited in zip(baselines, with_edits, strict=False):
        refresh = edited.during_refresh()
        bound = base.wrk.p99_ms + TARGET_EXTRA_MS
        lines.append(
            f"run: baseline p99 {base.wrk.p99_ms:.1f} ms (its own max {base.wrk.max_ms:.1f} ms)"
            f" + {TARGET_EXTRA_MS:g} = "
            f"{bound:.1f} ms; with edits wrk max {edited.wrk.max_ms:.1f} ms -> "
            f"{'MET' if edited.wrk.max_ms <= bound else 'NOT MET'}; probe during refreshes max "
            f"{max(refresh, default=float('nan')):.1f} ms over {len(refresh)} requests -> "
            f"{'MET' if refresh and max(refresh) <= bound else 'NOT MET'}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, exit_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=200_000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--runs", type=int, default=2, help="pairs of phases (baseline, edits)")
    parser.add_argument("--edit-every", type=float, default=3.0, help="seconds between edits")
    parser.add_argument("--probe-every", type=float, default=0.02, help="seconds between probe requests")
    parser.add_argument("--poll-every", type=float, default=0.05, help="seconds between /healthz polls")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yizhan-load")
    args = parser.parse_args(argv)
    wrk = require_wrk()
    districts = Districts.from_file(SAMPLE_DIR / "districts.geojson")
    box = [float(v) for v in shapely.total_bounds(districts.geometries)]
    size = f"{args.stations // 1000}k"
    load.SIZES[size] = args.stations
    database = load.registry_file(size, args.cache_dir, args.seed)
    os.environ["YIZHAN_ADMIN_TOKEN"] = ADMIN_TOKEN  # the server's environment is this one's
    store = Store(f"sqlite:///{database}")
    count = store.count()
    phases: list[Phase] = []
    with serving(database, DEFAULT_SERVER) as server:
        startup = sorted(server.started)
        print(f"  {count:,} stations; workers up after {', '.join(f'{s:.1f} s' for s in startup)}", flush=True)
        run_wrk(wrk, server, box, 3.0, args.connections)  # warm-up, not counted
        # edits first, not counted: a worker's first write costs more (first use of the write path)
        watcher = Watcher(server.base_url, args.poll_every, server.versions)
        threading.Thread(target=watcher.run, daemon=True).start()
        warm = Editor(server.base_url, store, count, 0, args.seed - 1)
        rng = np.random.default_rng(0)
        firsts = [edit for _ in range(2 * load.WORKERS) if (edit := warm.edit_once(rng)) is not None]
        watcher.wait_served(firsts, load.WORKERS)
        watcher.stop()
        first_s = [None if edit.served_all_s is None else round(edit.served_all_s, 2) for edit in firsts]
        print(f"  first edits after start-up (not counted): served by all after {first_s} s", flush=True)
        for number in range(args.runs):
            for name in ("baseline", "edits"):
                item = run_phase(name, wrk, server, box, store, count, args, args.seed + number)
                phases.append(item)
                print(f"  run {number + 1} {name}: {item.wrk.requests_per_s:,.0f} req/s, p99 {item.wrk.p99_ms:.1f} ms, "
                      f"max {item.wrk.max_ms:.1f} ms; {len(item.edits)} edits, served by all after "
                      f"{[round(e.served_all_s, 2) if e.served_all_s is not None else None for e in item.edits]} s "
                      f"(the PATCH answered after {[round(e.patch_s, 2) for e in item.edits]} s); "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
                for failure in item.edit_failures[:3]:
                    print(f"    edit failed: {failure}", flush=True)
        memory = [memory_mib(pid) for pid in server.workers()]
    store.engine.dispose()
    lines = report(phases, count, args, startup, memory)
    at = next(i for i, line in enumerate(lines) if line.startswith("server:"))
    lines.insert(at, f"first edits after start-up (no load, not counted): served by every worker after {first_s} s")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
