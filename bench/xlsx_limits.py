"""Hostile XLSX imports (issue 12, item 3): time and peak memory of ``parse_file`` on the issue's files.

Each file is read in a fresh process (peak RSS is per process), by this tree's importer and, with ``--before
REV``, by the importer of another commit (exported with ``git archive`` to a temporary directory) as the
baseline::

    .venv/bin/python bench/xlsx_limits.py --before f6e1c4c~1

Files: one row of 2,000,000 cells (~60 KB packed); one cell of 300 MB (~300 KB packed); each read with the
default limits and with the compression-ratio limit lifted (so that the row, cell limits are what stop it).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the hostile files' builders, shared with the tests

import xlsx_bombs  # noqa: E402 - tests/ is on sys.path once the line above ran

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from stations.importers import parse_file
kwargs = {}
if sys.argv[3] == "lifted":
    from stations.xlsx import ReadLimits
    kwargs["limits"] = ReadLimits(max_compression_ratio=10**9)
data = open(sys.argv[2], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    parsed = parse_file(data, "hostile.xlsx", **kwargs)
    answer = f"read: {parsed.rows} rows, {len(parsed.stations)} stations"
except Exception as error:
    answer = f"{type(error).__name__}: {error}"
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_mib": (peak - before) / 1024, "answer": answer}))
"""


def measure(tree: Path, path: Path, limits: str) -> dict[str, object]:
    """Time and peak-RSS growth of one parse in a fresh process."""
    code = [sys.executable, "-c", MEASURE, str(tree), str(path), limits]
    done = subprocess.run(code, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision``, unpacked into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="a commit whose importer is the baseline (e.g. f6e1c4c~1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = {"2,000,000-cell row": xlsx_bombs.wide_row(), "300 MB cell": xlsx_bombs.long_cell()}
        trees = {"this tree": ROOT}
        if args.before:
            trees[f"before ({args.before})"] = export(args.before, Path(scratch) / "before")
        print("file | packed | code | limits | seconds | peak RSS growth MiB | answer")
        for label, data in files.items():
            path = Path(scratch) / f"{len(data)}.xlsx"
            path.write_bytes(data)
            for tree_label, tree in trees.items():
                for limits in ("default", "lifted") if tree == ROOT else ("default",):
                    result = measure(tree, path, limits)
                    answer = str(result["answer"])[:150]
                    print(
                        f"{label} | {len(data):,} B | {tree_label} | {limits} | {result['seconds']:.2f} |"
                        f" {result['rss_mib']:,.0f} | {answer}"
                    )


if __name__ == "__main__":
    main()
