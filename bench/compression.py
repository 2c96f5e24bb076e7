"""Benchmark: what compressing an answer costs, by encoding and level — the choice of ``api/compression.py``.

Bodies: the sample's ``/stations/nearby?k=10`` answers at random Hangzhou points (the answer every rider's page
asks for, made per request) and the rider page ``/`` (made once per version, compressed per request), fetched
uncompressed through the app in process. For each Brotli quality 1–5 and gzip level 1/4/6: CPU µs per body (process
time, the median of 5 passes) and mean compressed bytes. The baseline is Brotli quality 5, which every body took
before 2026-12-04; the line ``chosen`` is what ``api.compression.compress`` does now (quality 1 below
``SMALL_BODY``), with its ratio to the baseline measured in the same run; ``chosen, sent again`` the same body
compressed again (a page's bytes, kept with their encoding after the first time).

Run from the repository root::

    .venv/bin/python bench/compression.py [--bodies 30]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import brotli
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, so `api` imports uninstalled

from report import code_lines, machine_lines, table  # bench/ is on sys.path when a script runs

import api.compression
from api.app import create_app
from stations.settings import SAMPLE_DIR, Settings

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient  # noqa: E402  # after its deprecation warning is silenced

Encoder = Callable[[bytes], bytes]


def bodies(count: int) -> tuple[list[bytes], bytes]:
    """``count`` nearby answers at random Hangzhou points, and the rider page, uncompressed."""
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/bench.sqlite3"))
        with TestClient(app) as client:
            app.state.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
            plain = {"accept-encoding": "identity"}
            nearby = [
                client.get("/stations/nearby", params={"lon": x, "lat": y, "k": 10}, headers=plain).content
                for x, y in zip(rng.uniform(120.0, 120.35, count), rng.uniform(30.15, 30.4, count), strict=True)
            ]
            return nearby, client.get("/", headers=plain).content


def cost(encode: Encoder, items: list[bytes], passes: int = 5) -> tuple[float, float]:
    """Median CPU µs per body over ``passes`` passes, and mean compressed bytes."""
    per_pass = []
    for _ in range(passes):
        start = time.process_time()
        for body in items:
            encode(body)
        per_pass.append((time.process_time() - start) / len(items) * 1e6)
    return float(np.median(per_pass)), float(np.mean([len(encode(body)) for body in items]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bodies", type=int, default=30, help="nearby answers measured")
    args = parser.parse_args()
    nearby, page = bodies(args.bodies)
    encoders: dict[str, Encoder] = {
        **{f"brotli {q}": (lambda b, q=q: brotli.compress(b, quality=q)) for q in (1, 2, 3, 4, 5)},
        **{f"gzip {level}": (lambda b, level=level: gzip.compress(b, level, mtime=0)) for level in (1, 4, 6)},
        "chosen": lambda b: (api.compression._compress_kept.cache_clear(), api.compression.compress(b, "br"))[1],
        # a new bytes object each time, as each response makes (its hash is not cached): the copy is counted too
        "chosen, sent again": lambda b: api.compression.compress(bytes(bytearray(b)), "br"),
    }
    print("Compression of answers (bench/compression.py)")
    print(*machine_lines(f"brotli {brotli.__version__}"), sep="\n")
    print(*code_lines([api.compression]), sep="\n")
    for name, items, passes in (("nearby k=10", nearby, 5), ("rider page /", [page], 3)):
        size = np.mean([len(b) for b in items])
        baseline_us, baseline_bytes = cost(encoders["brotli 5"], items, passes)
        rows = []
        for label, encode in encoders.items():
            us, packed = (baseline_us, baseline_bytes) if label == "brotli 5" else cost(encode, items, passes)
            rows.append(
                [label, f"{us:,.0f}", f"{packed:,.0f}", f"{baseline_us / us:.2f}x", f"{packed / baseline_bytes:.2f}"]
            )
        print(f"\n{name}: {len(items)} bodies of {size:,.0f} bytes on average")
        print(*table(["encoding", "CPU µs", "bytes", "CPU vs brotli 5", "bytes vs brotli 5"], rows), sep="\n")


if __name__ == "__main__":
    main()
