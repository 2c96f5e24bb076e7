"""Benchmark: a whole import (validation, district lookup, plan, duplicate report, commit) of a large file.

Run from the repository root::

    .venv/bin/python bench/imports.py                        # 100k and 500k rows, baseline at 5k and 20k
    .venv/bin/python bench/imports.py --sizes 20k 100k --baseline-sizes 5k

Each size runs in a fresh child process (so that peak RSS is that import's) against a new SQLite file that
holds the sample registry (data/hangzhou, 1,614 stations), as ``yizhan import`` would: a dry run of the
synthetic file (``bench/import_data.py``: dense rows over central Hangzhou, many likely duplicates), then
the real import (one transaction). Stage times come from the import's own progress reports.

Baseline, in the same run: the code before the rework (``--baseline-rev``, default ``50e3b13``: one k=n
nearest query per row for duplicates, one coordinate transform per row), extracted with ``git archive`` and
measured the same way on smaller files (``--baseline-sizes``): at 20k rows it already takes ~85 s, and it
grows with n², so 100k would take over half an hour. The ratio is taken at the baseline's sizes, against
the new code measured on the same files.

``--cli`` also times the real command, ``yizhan import FILE --dry-run`` and ``yizhan import FILE`` (report
printed to a pipe), at the first size.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import importlib.metadata
import itertools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the repo root (of this copy of bench/), so `stations` imports uninstalled

SIZES = {"5k": 5_000, "10k": 10_000, "20k": 20_000, "50k": 50_000, "100k": 100_000, "200k": 200_000, "500k": 500_000}
TARGETS_S = {100_000: 10.0, 500_000: 60.0}
BASELINE_REV = "50e3b13"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(n: int, seed: int) -> dict[str, Any]:
    """Time a dry run and then the commit of ``n`` synthetic rows in this process; the figures as a dict."""
    from import_data import import_csv

    from geo.districts import Districts
    from stations.registry import Registry
    from stations.settings import SAMPLE_DIR
    from stations.store import Store

    try:  # the new code reports its stages; the baseline's does not
        from stations.progress import Progress
    except ImportError:
        Progress = None

    folder = Path(tempfile.mkdtemp(prefix="yizhan-bench-imports-"))
    try:
        registry = Registry(
            Store(f"sqlite:///{folder / 'yizhan.sqlite3'}"),
            Districts.from_geojson(SAMPLE_DIR / "districts.geojson"),
            check_interval_s=0,
        )
        registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
        sample = [(s.lon, s.lat, s.name) for s in registry.snapshot().stations]
        data = import_csv(n, seed, sample)
        result: dict[str, Any] = {
            "n": n, "mb": len(data) / 1e6, "rss_before_mb": _peak_rss_mb(), "load": [os.getloadavg()[0]]
        }  # fmt: skip
        for kind, dry_run in (("dry", True), ("commit", False)):
            stages: list[tuple[str, float]] = []
            kwargs = {}
            if Progress is not None:
                kwargs["progress"] = Progress(
                    on_stage=lambda name, _total, marks=stages: marks.append((name, time.perf_counter()))
                )
            start, cpu = time.perf_counter(), time.process_time()
            report = registry.import_file(data, "bench.csv", dry_run=dry_run, **kwargs)
            end, cpu = time.perf_counter(), time.process_time() - cpu
            del report.rows_added, report.rows_unchanged  # the dry run's report is not kept while the commit runs
            marks = [("start", start), *stages, ("end", end)]
            result[kind] = {
                "total_s": end - start,
                "cpu_s": cpu,
                "stages": {name: later - at for (name, at), (_, later) in itertools.pairwise(marks[1:])},
                "rows": report.rows,
                "added": report.added,
                "duplicates": getattr(report, "duplicates_total", len(report.duplicates)),  # listed: 10,000 at most
                "committed": report.committed,
            }
        result["stations_after"] = registry.store.count()
        result["load"].append(os.getloadavg()[0])
        result["peak_rss_mb"] = _peak_rss_mb()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_cli(n: int, seed: int) -> dict[str, Any]:
    """Wall time and peak RSS of ``yizhan import FILE --dry-run`` and then ``yizhan import FILE``."""
    from import_data import import_csv

    from stations.settings import SAMPLE_DIR

    yizhan = Path(sys.executable).with_name("yizhan")
    folder = Path(tempfile.mkdtemp(prefix="yizhan-bench-cli-"))
    try:
        env = {**os.environ, "YIZHAN_DATABASE_URL": f"sqlite:///{folder / 'yizhan.sqlite3'}"}
        subprocess.run(
            [yizhan, "import", SAMPLE_DIR / "stations.csv"], env=env, cwd=folder, check=True, capture_output=True
        )
        path = folder / "bench.csv"
        path.write_bytes(import_csv(n, seed))
        result: dict[str, Any] = {"n": n}
        for kind, extra in (("dry", ["--dry-run"]), ("commit", [])):
            start = time.perf_counter()
            process = subprocess.Popen(
                [yizhan, "import", path, *extra], env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            output, _ = process.communicate()
            result[kind] = {
                "total_s": time.perf_counter() - start,
                "exit": process.returncode,
                "output_lines": output.count(b"\n"),
                "first_line": output.decode().partition("\n")[0],
            }
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _child(root: Path, args: list[str]) -> dict[str, Any]:
    """Run this script's copy under ``root`` with ``args`` in a fresh process; its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    completed = subprocess.run(
        [sys.executable, str(root / "bench" / "imports.py"), *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _baseline_tree(rev: str) -> Path:
    """The repository at ``rev`` in a temporary folder, with this run's bench scripts copied in."""
    folder = Path(tempfile.mkdtemp(prefix="yizhan-bench-baseline-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    for name in ("imports.py", "import_data.py", "report.py"):
        shutil.copy2(REPO / "bench" / name, folder / "bench" / name)
    return folder


def _stage_cell(figures: dict[str, Any], *names: str) -> str:
    total = sum(figures["stages"].get(name, 0.0) for name in names)
    return f"{total:.2f}" if figures["stages"] else "-"


def run(
    sizes: Sequence[str], baseline_sizes: Sequence[str], baseline_rev: str, seed: int, cli: bool, rev: str | None = None
) -> None:
    import numpy
    import pydantic
    import scipy
    import sqlalchemy
    from report import code_lines, machine_lines, table

    import geo.index
    import stations.edits
    import stations.importers
    import stations.imports
    import stations.registry

    versions = ", ".join(
        f"{name} {version}"
        for name, version in (
            ("python", sys.version.split()[0]),
            ("numpy", numpy.__version__),
            ("scipy", scipy.__version__),
            ("pydantic", pydantic.__version__),
            ("sqlalchemy", sqlalchemy.__version__),
            ("sqlite", __import__("sqlite3").sqlite_version),
            ("pykdtree", importlib.metadata.version("pykdtree")),
        )
    )
    print("Import benchmark (bench/imports.py)")
    print(f"date:    {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print("\n".join(machine_lines(versions)))
    print("\n".join(code_lines([stations.importers, stations.imports, stations.edits, stations.registry, geo.index])))
    print(f"command: python bench/imports.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"file:    bench/import_data.py, seed {seed}; a SQLite file holding the 1,614 sample stations first\n")

    new_root = _baseline_tree(rev) if rev else REPO  # a commit: others' edits in the shared tree stay out
    try:
        results = []
        for size in sizes:
            print(f"  new code ({rev or 'working tree'}), {SIZES[size]:,} rows ...", flush=True)
            results.append(("new", _child(new_root, ["--one", str(SIZES[size]), "--seed", str(seed)])))
        baseline = []
        if baseline_sizes:
            tree = _baseline_tree(baseline_rev)
            try:
                for size in baseline_sizes:
                    print(f"  baseline ({baseline_rev}), {SIZES[size]:,} rows ...", flush=True)
                    old = _child(tree, ["--one", str(SIZES[size]), "--seed", str(seed)])
                    print(f"  new code, {SIZES[size]:,} rows (for the ratio) ...", flush=True)
                    new = _child(new_root, ["--one", str(SIZES[size]), "--seed", str(seed)])
                    baseline.append((old, new))
            finally:
                shutil.rmtree(tree, ignore_errors=True)
    finally:
        if new_root != REPO:
            shutil.rmtree(new_root, ignore_errors=True)

    header = [
        "code",
        "rows",
        "MB",
        "validate s",
        "districts s",
        "plan s",
        "duplicates s",
        "dry run s",
        "write s",
        "commit s",
        "commit CPU s",
        "dupl. found",
        "peak RSS MB",
        "load",
        "target",
    ]
    body = []
    for code, r in [*results, *((f"baseline {baseline_rev}", old) for old, _ in baseline)]:
        dry, commit = r["dry"], r["commit"]
        target = TARGETS_S.get(r["n"])
        verdict = (
            ""
            if target is None or code != "new"
            else (
                f"≤ {target:g} s: " + ("met" if commit["total_s"] <= target and dry["total_s"] <= target else "NOT met")
            )
        )
        body.append(
            [
                code,
                f"{r['n']:,}",
                f"{r['mb']:.1f}",
                _stage_cell(dry, "validating rows"),
                _stage_cell(dry, "locating districts"),
                _stage_cell(dry, "planning"),
                _stage_cell(dry, "checking duplicates"),
                f"{dry['total_s']:.2f}",
                _stage_cell(commit, "writing"),
                f"{commit['total_s']:.2f}",
                f"{commit['cpu_s']:.2f}" if "cpu_s" in commit else "-",
                f"{dry['duplicates']:,}",
                f"{r['peak_rss_mb']:,.0f}",
                "-".join(f"{x:.1f}" for x in r.get("load", [])),
                verdict,
            ]
        )
    print()
    print("\n".join(table(header, body)))
    print("dry run s: the whole dry run (validation, districts, plan, duplicates; ~0.1 s of registry refresh);")
    print("commit s: the whole real import, which validates and plans again, writes in one transaction and")
    print("reloads the registry snapshot. Peak RSS is the child process's, after both. commit CPU s: the commit's")
    print("process time (steadier than wall time on a shared machine); load: 1-minute load average before-after.")
    if baseline:
        print()
        rows = []
        for old, new in baseline:
            same = old["dry"]["duplicates"] == new["dry"]["duplicates"]
            rows.append(
                [
                    f"{old['n']:,}",
                    f"{old['dry']['total_s']:.2f}",
                    f"{new['dry']['total_s']:.2f}",
                    f"{old['dry']['total_s'] / new['dry']['total_s']:.1f}x",
                    f"{old['commit']['total_s']:.2f}",
                    f"{new['commit']['total_s']:.2f}",
                    f"{old['commit']['total_s'] / new['commit']['total_s']:.1f}x",
                    f"{old['peak_rss_mb']:,.0f} / {new['peak_rss_mb']:,.0f}",
                    f"{old['dry']['duplicates']:,} / {new['dry']['duplicates']:,}" + ("" if same else " DIFFER"),
                ]
            )
        print(
            "\n".join(
                table(
                    [
                        "rows",
                        "old dry s",
                        "new dry s",
                        "speed-up",
                        "old commit s",
                        "new commit s",
                        "speed-up",
                        "peak RSS MB old / new",
                        "duplicates old / new",
                    ],
                    rows,
                )
            )
        )
    if cli:
        n = SIZES[sizes[0]]
        print(f"\n  the real command at {n:,} rows ...", flush=True)
        figures = _child(REPO, ["--cli-one", str(n), "--seed", str(seed)])
        for kind in ("dry", "commit"):
            f = figures[kind]
            print(
                f"yizhan import ({kind}): {f['total_s']:.2f} s wall, exit {f['exit']}, {f['output_lines']:,} lines "
                f"printed; {f['first_line']}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["100k", "500k"], choices=list(SIZES))
    parser.add_argument("--baseline-sizes", nargs="*", default=["5k", "20k"], choices=list(SIZES))
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--rev", help="measure the new code at this commit (git archive), not the working tree")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cli", action="store_true", help="also time the real `yizhan import` command")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: measure this many rows, print JSON
    parser.add_argument("--cli-one", type=int, help=argparse.SUPPRESS)  # child: time the command on this many rows
    args, _ = parser.parse_known_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.seed)))
    elif args.cli_one is not None:
        print(json.dumps(measure_cli(args.cli_one, args.seed)))
    else:
        run(args.sizes, args.baseline_sizes, args.baseline_rev, args.seed, args.cli, args.rev)


if __name__ == "__main__":
    main()
