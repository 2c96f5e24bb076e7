"""Cost of our holiday calendar in the hours evaluation (issue 16): ``stations.hours.status`` and ``next_change``
with every day of each holiday period as ``PH`` and 调休 working days as working days (``stations.holidays``),
against opening-hours-py alone with its own one-day-per-holiday calendar, measured in the same run on the same
(hours text, time) pairs.

The texts are the sample registry's distinct hours; the times random over 2025-2027 (half of them within a day of
a holiday or 调休 day, where the rewriting for the day is used). Also how many answers differ from the library's
(the days it gets wrong: holiday periods after their first day, and the 调休 working days).

Run: ``.venv/bin/python bench/hours_calendar.py [--calls 20000]``
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta

import numpy as np
from report import machine_lines, per_call_ms, table

from stations import holidays, hours
from stations.importers import parse_file
from stations.settings import SAMPLE_DIR


def library_status(text: str, moment: datetime) -> str:
    """The status opening-hours-py gives with its own calendar."""
    parsed = hours.parse(text)
    return "open" if parsed.is_open(moment) else "closed" if parsed.is_closed(moment) else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    sample = parse_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv").stations
    texts = sorted({s.opening_hours for s in sample if s.opening_hours})
    rng = random.Random(16)
    start = datetime(2025, 1, 1, tzinfo=hours.TIMEZONE)
    special = holidays.special_days()
    moments = []
    for _ in range(args.calls):
        if rng.random() < 0.5:
            day = rng.choice(special)
            base = datetime(day.year, day.month, day.day, tzinfo=hours.TIMEZONE) - timedelta(days=1)
            moments.append(base + timedelta(minutes=rng.randrange(3 * 1440)))
        else:
            moments.append(start + timedelta(minutes=rng.randrange(3 * 365 * 1440)))
    pairs = [(rng.choice(texts), moment) for moment in moments]
    for text, moment in pairs[:200]:  # warm both sides' caches (parsing is not what is measured)
        hours.status(text, moment)
        hours.parse(text).state(moment)

    ours = per_call_ms(lambda i: hours.status(*pairs[i]), len(pairs))
    library = per_call_ms(lambda i: hours.parse(pairs[i][0]).state(pairs[i][1]), len(pairs))
    few = min(len(pairs), 4000)
    ours_change = per_call_ms(lambda i: hours.next_change(*pairs[i]), few)
    library_change = per_call_ms(lambda i: hours.parse(pairs[i][0]).next_change(pairs[i][1]), few)
    differ = sum(hours.status(text, moment) != library_status(text, moment) for text, moment in pairs)
    print("\n".join(machine_lines(f"opening-hours-py, {len(texts)} distinct hours texts of the sample")))
    rows = [
        ["status (our calendar)", f"{np.median(ours) * 1000:.1f}", f"{ours.sum() / 1000:.2f}",
         f"{ours.sum() / library.sum():.2f}x"],
        ["state (library alone) — baseline", f"{np.median(library) * 1000:.1f}", f"{library.sum() / 1000:.2f}",
         "1.00x"],
        ["next_change (our calendar)", f"{np.median(ours_change) * 1000:.1f}", f"{ours_change.sum() / 1000:.2f}",
         f"{ours_change.sum() / library_change.sum():.2f}x"],
        ["next_change (library alone) — baseline", f"{np.median(library_change) * 1000:.1f}",
         f"{library_change.sum() / 1000:.2f}", "1.00x"],
    ]  # fmt: skip
    print("\n".join(table(["what", "median µs/call", "total s", "vs library"], rows)))
    print(f"answers that differ from the library's calendar: {differ} of {len(pairs)} (status)")


if __name__ == "__main__":
    main()
