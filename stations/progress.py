"""How far a long operation (an import) has come, and a way to stop it cleanly between two of its steps.

The operation announces each stage with the number of units it will count (rows, usually) and advances as it
goes; a front end (the CLI's progress bar) listens. ``cancel`` may be called at any time, from a signal
handler too: the next ``stage``, ``advance`` or ``check`` raises ImportCancelled, so an operation stops only
where stopping is clean (never halfway through a commit).

>>> seen = []
>>> progress = Progress(on_stage=lambda name, total: seen.append((name, total)))
>>> progress.stage("validating rows", 10)
>>> progress.cancel("SIGINT")
>>> progress.advance(5)
Traceback (most recent call last):
...
stations.errors.ImportCancelled: import cancelled (SIGINT); nothing was written
>>> seen
[('validating rows', 10)]
"""

from __future__ import annotations

from collections.abc import Callable

from stations.errors import ImportCancelled


class Progress:
    """Stages and counts of a long operation for ``on_stage(name, total)`` / ``on_advance(count)``, and its
    cancel request (``cancel(reason)``; honoured at the next ``stage``, ``advance`` or ``check``)."""

    def __init__(
        self,
        on_stage: Callable[[str, int | None], None] | None = None,
        on_advance: Callable[[int], None] | None = None,
    ) -> None:
        self.on_stage = on_stage
        self.on_advance = on_advance
        self.cancelled: str | None = None
        """Why the operation was asked to stop (e.g. ``"SIGINT"``), or None."""

    def cancel(self, reason: str) -> None:
        """Ask the operation to stop at its next check; one attribute write, so safe in a signal handler."""
        self.cancelled = self.cancelled or reason

    def check(self) -> None:
        """Raise ImportCancelled if a cancel was asked for."""
        if self.cancelled is not None:
            raise ImportCancelled(self.cancelled)

    def stage(self, name: str, total: int | None = None) -> None:
        """Start stage ``name`` of ``total`` units (None: not known in advance)."""
        self.check()
        if self.on_stage is not None:
            self.on_stage(name, total)

    def advance(self, count: int) -> None:
        """``count`` more units of the current stage are done."""
        self.check()
        if self.on_advance is not None:
            self.on_advance(count)
