"""How long the ``yizhan`` CLI takes to answer, from process start: ``--help`` and ``nearby`` on the sample.

Baselines measured in the same run: a bare Python start, and a bare typer app printing its help (the floor any
typer CLI pays). Targets (issue 13): ``yizhan --help`` ≤ 0.3 s and ``yizhan nearby`` ≤ 1.0 s (medians).

    .venv/bin/python bench/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
YIZHAN = str(Path(sys.executable).with_name("yizhan"))
BARE_TYPER = """
import typer
app = typer.Typer()
@app.command()
def a() -> None: pass
@app.command()
def b() -> None: pass
app(["--help"])
"""


def median_seconds(command: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall time of ``command`` over ``runs`` runs (after one warm-up run)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "YIZHAN_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite3'}"}
        subprocess.run([YIZHAN, "import", "data/hangzhou/stations.csv"], env=env, cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        figures = {
            "python -c pass": median_seconds([sys.executable, "-c", "pass"], env, runs),
            "bare typer --help": median_seconds([sys.executable, "-c", BARE_TYPER], env, runs),
            "yizhan --help": median_seconds([YIZHAN, "--help"], env, runs),
            "yizhan nearby (sample, k=5)": median_seconds([YIZHAN, "nearby", "120.16", "30.25", "-k", "5"], env, runs),
        }
    floor = figures["bare typer --help"]
    load = os.getloadavg()[0]
    print(f"median of {runs} runs each; load average {load:.1f}")
    for name, seconds in figures.items():
        print(f"{name:30s} {seconds:6.3f} s   {seconds / floor:4.1f}x bare typer")
    print(f"targets: --help ≤ 0.3 s ({'met' if figures['yizhan --help'] <= 0.3 else 'NOT met'}), "
          f"nearby ≤ 1.0 s ({'met' if figures['yizhan nearby (sample, k=5)'] <= 1.0 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
