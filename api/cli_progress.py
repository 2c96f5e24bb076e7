"""A long ``yizhan`` command's progress bar (rich, on a terminal only) and its clean stop on SIGINT/SIGTERM.

``cancellable`` installs handlers for both signals that only ask the running operation to stop
(``stations.progress.Progress.cancel``); the operation stops at its next check, between two chunks of rows,
so an import raises ImportCancelled before its commit or rolls its transaction back, and nothing is written.
A second signal while it stops changes nothing: the rollback is never cut short.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from stations.progress import Progress

EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}
"""Exit status of a command stopped by a signal: 128 + its number, as shells report it."""


@contextmanager
def cancellable(console: Console) -> Iterator[Progress]:
    """A Progress for a long operation: drawn as a rich bar on ``console`` when it is a terminal, and cancelled
    by SIGINT or SIGTERM (its ``cancelled`` then names the signal) while the block runs."""
    bar = Bar(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    current: list[TaskID] = []

    def on_stage(name: str, total: int | None) -> None:
        if current:
            bar.update(current[-1], completed=bar.tasks[-1].total or bar.tasks[-1].completed)
        current.append(bar.add_task(name, total=total))

    def on_advance(count: int) -> None:
        if current:
            bar.advance(current[-1], count)

    progress = Progress(on_stage, on_advance)

    def stop(signum: int, _frame: FrameType | None) -> None:
        progress.cancel(signal.Signals(signum).name)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        with bar:
            yield progress
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
