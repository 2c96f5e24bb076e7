"""Imports run in the background for the keeper console: a file checked (dry run) in a worker thread while the
page polls its progress, kept on the server until the keeper commits it or cancels, then written all or
nothing (``Registry.import_file`` does the checking and the writing; this module only holds the file and runs
it).

Between the dry run and the commit the uploaded file stays in memory, keyed by a random id (128 bits) and bound
to the person and to their session (``owner``, ``session``: a job asked for from another session is not
found). Limits: the file is at most the upload limit (``YIZHAN_MAX_UPLOAD_BYTES``); a job is forgotten
``KEEP_MINUTES`` after it was last looked at (the file re-uploaded then); one person keeps at most
``PER_OWNER`` jobs and the server ``MAX_JOBS`` (the oldest finished ones make room; when all are still running
a new one is refused with RateLimited). A committed or cancelled job drops its file at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from stations.errors import ImportCancelled, ImportRejected, NotFound, RateLimited, YizhanError
from stations.import_words import error_zh
from stations.importers import file_format, parse_file
from stations.progress import Progress
from stations.registry import ImportReport, Registry

KEEP_MINUTES = 30
"""A job not looked at for this long is forgotten, and its file with it."""
PER_OWNER = 3
"""Jobs one person keeps at once."""
MAX_JOBS = 12
"""Jobs the server keeps at once (files of at most ``YIZHAN_MAX_UPLOAD_BYTES`` each)."""
DUPLICATES_PLACED = 200
"""Likely duplicates whose new rows are placed (for a map) after a dry run."""

State = Literal["checking", "checked", "committing", "committed", "rejected", "failed", "cancelled"]
RUNNING: frozenset[str] = frozenset({"checking", "committing"})


@dataclass
class ImportJob:
    """One uploaded file, what its dry run found (``report``), and its commit (``result``)."""

    id: str
    owner: str
    session: str
    filename: str
    crs: str
    data: bytes | None
    state: State = "checking"
    stage: str | None = None
    """The stage the running import is in (``Registry.import_file``'s names: "validating rows"...)."""
    done: int = 0
    total: int | None = None
    report: ImportReport | None = None
    """The dry run's report."""
    result: ImportReport | None = None
    """The commit's report (``committed``), or the rejected one."""
    error: str | None = None
    """Why the import stopped (Chinese), when it failed."""
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    """WGS84 (lon, lat) of the new rows among the first ``DUPLICATES_PLACED`` likely duplicates, by station id
    (the report names them by id and row only)."""
    touched: float = field(default_factory=time.monotonic)
    progress: Progress = field(default_factory=Progress)

    @property
    def running(self) -> bool:
        """Whether its worker thread is still checking or writing."""
        return self.state in RUNNING

    def status(self) -> dict[str, object]:
        """What the page polls: state, stage and how far it has come."""
        return {"id": self.id, "state": self.state, "stage": self.stage, "done": self.done, "total": self.total}


class ImportJobs:
    """The console's import jobs over ``registry``; ``run_inline`` runs them in the calling thread (tests)."""

    def __init__(self, registry: Registry, run_inline: bool = False) -> None:
        self.registry = registry
        self.run_inline = run_inline
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def start(self, data: bytes, filename: str, crs: str, owner: str, session: str) -> ImportJob:
        """Keep ``data`` and start its dry run; InvalidValue for a file type the importers do not read,
        RateLimited when the server holds ``MAX_JOBS`` running imports."""
        file_format(filename)
        job = ImportJob(secrets.token_urlsafe(16), owner, session, filename, crs, data)
        with self._lock:
            self._make_room(owner)
            self._jobs[job.id] = job
        self._run(job, dry_run=True)
        return job

    def get(self, job_id: str, owner: str, session: str) -> ImportJob:
        """The job, if it is this person's in this session and not yet forgotten; NotFound otherwise."""
        with self._lock:
            self._forget_old()
            job = self._jobs.get(job_id)
            if job is None or not secrets.compare_digest(job.session, session) or job.owner != owner:
                raise NotFound("import", job_id)
            job.touched = time.monotonic()
            return job

    def commit(self, job_id: str, owner: str, session: str) -> ImportJob:
        """Write the checked file (a new check against the registry as it is now, then one transaction);
        a job that is not checked, or whose check found bad rows, is left as it is."""
        job = self.get(job_id, owner, session)
        with self._lock:
            if job.state != "checked" or job.data is None or (job.report is not None and job.report.problems):
                return job
            job.state, job.stage, job.done, job.total = "committing", None, 0, None
        self._run(job, dry_run=False)
        return job

    def cancel(self, job_id: str, owner: str, session: str) -> None:
        """Stop a running check (a running commit stops before it writes, or rolls back) and forget the job."""
        job = self.get(job_id, owner, session)
        job.progress.cancel("cancelled in the console")
        with self._lock:
            if not job.running:
                self._jobs.pop(job.id, None)
                job.data = None

    def _run(self, job: ImportJob, dry_run: bool) -> None:
        def on_stage(name: str, total: int | None) -> None:
            job.stage, job.total, job.done = name, total, 0

        def on_advance(count: int) -> None:
            job.done += count

        job.progress = Progress(on_stage, on_advance)
        if self.run_inline:
            self._work(job, dry_run)
        else:
            threading.Thread(target=self._work, args=(job, dry_run), name=f"import-{job.id[:6]}", daemon=True).start()

    def _work(self, job: ImportJob, dry_run: bool) -> None:
        data = job.data
        assert data is not None  # a job runs only while it holds its file
        try:
            report = self.registry.import_file(data, job.filename, job.crs, dry_run, job.owner, job.progress)
        except ImportCancelled:
            self._finish(job, "cancelled")
        except ImportRejected as rejected:
            job.result = rejected.report
            self._finish(job, "rejected")
        except YizhanError as error:
            job.error = error_zh(error)
            self._finish(job, "failed")
        else:
            if dry_run:
                job.report = report
                job.positions = self._placed(job, report)
                self._finish(job, "checked")
            else:
                job.result = report
                self._finish(job, "committed")

    def _placed(self, job: ImportJob, report: ImportReport) -> dict[str, tuple[float, float]]:
        """Where the new rows among the first likely duplicates are: the file read again (only when there are
        likely duplicates; the report names rows, not positions)."""
        wanted = {i for d in report.duplicates[:DUPLICATES_PLACED] for i in (d.id, d.existing_id)}
        if not wanted or job.data is None:
            return {}
        parsed = parse_file(job.data, job.filename, job.crs, limits=self.registry.limits)
        return {s.id: (s.lon, s.lat) for s in parsed.stations if s.id in wanted}

    def _finish(self, job: ImportJob, state: State) -> None:
        with self._lock:
            job.state = state
            job.touched = time.monotonic()
            if state in ("committed", "cancelled", "failed"):
                job.data = None
            if state == "cancelled":
                self._jobs.pop(job.id, None)

    def _forget_old(self) -> None:
        oldest = time.monotonic() - KEEP_MINUTES * 60
        for job in [j for j in self._jobs.values() if j.touched < oldest and not j.running]:
            job.progress.cancel("forgotten")
            job.data = None
            del self._jobs[job.id]

    def _make_room(self, owner: str) -> None:
        self._forget_old()
        for limit, jobs in (
            (PER_OWNER, [j for j in self._jobs.values() if j.owner == owner]),
            (MAX_JOBS, list(self._jobs.values())),
        ):
            finished = sorted((j for j in jobs if not j.running), key=lambda j: j.touched)
            while len(jobs) >= limit and finished:
                dropped = finished.pop(0)
                jobs.remove(dropped)
                dropped.data = None
                del self._jobs[dropped.id]
            if len(jobs) >= limit:
                raise RateLimited("导入任务太多：请等正在进行的导入完成后再试", 30)
