"""Memory of a server under planning requests with ever-new cell sizes (issue 12, item 5).

Starts the app with uvicorn on a loopback port in a child process (the sample registry and districts, a fresh
SQLite file), asks ``/coverage`` once at ``cell_m=100`` (warm), then runs ``--threads`` clients for
``--seconds``, each asking ``/coverage`` with a cell size never asked before, and reports the server's resident
memory (RSS) before, at its peak and ``--settle`` seconds after the load, with the answers by status.

``--cells fractional`` is the issue's scenario (60.001, 60.002, … m); ``--cells whole`` asks 60, 61, 62, … m,
which rounding to whole metres does not merge. ``--repo`` runs the server from another checkout (e.g. a git
worktree of the commit before the change), so before and after are measured the same way::

    git worktree add /tmp/before <commit> && .venv/bin/python bench/planning_memory.py --repo /tmp/before
    .venv/bin/python bench/planning_memory.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

HERE = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout to run the server from")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the load before 'after'")
    parser.add_argument("--cells", choices=("fractional", "whole"), default="fractional")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="yizhan-planning-memory-"))
    env = {**os.environ, "YIZHAN_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "PYTHONPATH": str(args.repo)}
    python = sys.executable
    sample = args.repo / "data" / "hangzhou" / "stations.csv"
    cli = "from api.cli import app; app()"
    subprocess.run([python, "-c", cli, "import", str(sample)], env=env, cwd=args.repo, check=True, capture_output=True)
    port = _free_port()
    run = f"import uvicorn; uvicorn.run('api.app:create_app', factory=True, port={port}, log_level='warning')"
    server = subprocess.Popen([python, "-c", run], env=env, cwd=args.repo)
    base = f"http://127.0.0.1:{port}"
    try:
        process = psutil.Process(server.pid)
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(600):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            warm = client.get("/coverage", params={"cell_m": 100})
            assert warm.status_code == 200, warm.text
        before = process.memory_info().rss
        statuses: Counter[int] = Counter()
        counter = itertools.count(1)
        lock = threading.Lock()
        peak = before
        stop_at = time.monotonic() + args.seconds

        def client_loop() -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                while time.monotonic() < stop_at:
                    n = next(counter)
                    cell_m = 60 + n * 0.001 if args.cells == "fractional" else 60 + n
                    try:
                        status = client.get("/coverage", params={"cell_m": cell_m, "radius_m": 1000}).status_code
                    except httpx.TransportError:
                        status = 0
                    with lock:
                        statuses[status] += 1

        threads = [threading.Thread(target=client_loop) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.2)
        time.sleep(args.settle)
        after = process.memory_info().rss
        mb = 1e6
        print(
            f"repo={args.repo} cells={args.cells} threads={args.threads} seconds={args.seconds:g}: "
            f"RSS before {before / mb:,.0f} MB, peak {peak / mb:,.0f} MB, after {after / mb:,.0f} MB "
            f"(+{(after - before) / mb:,.0f} MB); answers {dict(sorted(statuses.items()))}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
