"""What every benchmark prints: the machine, the code measured, and plain-text tables (imported by bench/*.py,
which run with bench/ on sys.path)."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine_lines(versions: str) -> list[str]:
    """Architecture, cores, CPU and OS, then ``versions`` (the libraries that matter to the benchmark)."""
    return [
        f"machine: {platform.machine()}, nproc {usable_cores()} (os.cpu_count {os.cpu_count()}), CPU {cpu_model()}",
        f"         {platform.platform()}",
        f"         {versions}",
    ]


def code_lines(modules: Sequence[ModuleType]) -> list[str]:
    """Short sha256 and modification time of each module's file: which code this run measured."""
    lines = []
    for module in modules:
        path = Path(str(module.__file__))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"{path.parent.name}/{path.name}: sha256 {digest}..., modified {mtime}")
    return ["code:    " + lines[0], *("         " + line for line in lines[1:])]


def table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in body)]


def per_call_ms(call: Callable[[int], object], count: int) -> np.ndarray:
    """Wall time in milliseconds of each of ``count`` calls ``call(i)``."""
    times = np.empty(count)
    for i in range(count):
        start = time.perf_counter_ns()
        call(i)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return times
