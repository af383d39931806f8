"""What every import job shares, whatever it reads (a CSV file, Google Contacts): reading a job of
the caller's org, the worker run's lease, the progress write after each chunk with its rejected rows,
and the errors file at the end.

Only one run holds a job at a time: a run takes the job's lease by replacing its token (conditional
on the token it read), and every progress write is conditional on that token. The queue message that
continues a job carries the token of the run that sent it, so it may take over at once; any other
message (a redelivery after a crash, a duplicate) may take over only once the lease has expired. A run
that raises releases its lease first, so that its redelivery resumes at once. A run that dies between
two progress writes leaves the previous checkpoint: the next run applies that chunk again, which the
importer's deduplication turns into duplicates (nothing is created twice).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from callproof.contacts.model import ImportJob, ImportSource, ImportStatus, RowStatus
from callproof.errors import NotFound
from callproof.ids import utc_now
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.importer import RowResult
    from callproof.contacts.ports import ImportFiles, ImportJobStore, ImportQueue

CONTENT_TYPE = "text/csv"
DOWNLOAD_TTL = timedelta(minutes=15)
JOB_TTL = timedelta(days=30)
SAFETY_SECONDS = 30.0  # a run stops taking chunks when less time than this is left
ERRORS_HEADER = b"line,status,field,reason\r\n"
_IMPORT_ID = re.compile(r"[0-9a-f]{23}")  # ids.time_ordered_id


def errors_key(org_id: str, import_id: str) -> str:
    return f"orgs/{org_id}/imports/{import_id}-errors.csv"


def error_parts_prefix(org_id: str, import_id: str) -> str:
    return f"orgs/{org_id}/imports/{import_id}-errors/"


class RunOutcome(StrEnum):
    SKIPPED = "skipped"  # not running, or another run holds it
    CONTINUED = "continued"  # out of time: a message continues it
    DONE = "done"
    FAILED = "failed"
    LOST = "lost"  # another run took the lease meanwhile


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: RunOutcome
    rows: int  # rows this run imported


class JobRuns:
    """The shared half of an import job's service; a subclass reads its source in ``_work``."""

    source: ImportSource

    def __init__(
        self,
        jobs: ImportJobStore,
        files: ImportFiles,
        queue: ImportQueue,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._jobs, self._files, self._queue = jobs, files, queue
        self._clock = clock

    # ------------------------------------------------------------------ API
    def get(self, caller: Caller, import_id: str) -> tuple[ImportJob, str | None]:
        """The job and, when rows were rejected and the job is over, a download URL of them."""
        caller.require(Role.REP, Role.ADMIN)
        job = self._own(caller, import_id)
        url = None
        if job.errors and job.status in {ImportStatus.DONE, ImportStatus.FAILED}:
            url = self._files.presign_get(errors_key(job.org_id, job.id), DOWNLOAD_TTL)
        return job, url

    def _own(self, caller: Caller, import_id: str) -> ImportJob:
        if not _IMPORT_ID.fullmatch(import_id):  # never one of ours: no key built from it
            raise NotFound("no such import", field="import_id")
        job = self._jobs.get(caller.org_id, import_id)
        if job is None or job.expires_at <= self._clock():
            raise NotFound("no such import", field="import_id")
        return job

    def _requeue_if_idle(self, job: ImportJob) -> None:
        """A running job no run holds (never taken: the first send may have failed after the save; or
        its last run's lease ran out) is queued again with its token; a duplicate is skipped by the
        lease rules."""
        idle = job.lease_until is None or job.lease_until <= self._clock()
        if job.status is ImportStatus.RUNNING and idle and job.lease_token is not None:
            self._queue.send(job.org_id, job.id, job.lease_token, job.source)

    # --------------------------------------------------------------- worker
    def run(self, org_id: str, import_id: str, token: str, seconds_left: Callable[[], float]) -> RunResult:
        """Import chunks from the job's checkpoint while time is left; then continue through the queue."""
        job = self._jobs.get(org_id, import_id)
        now = self._clock()
        if job is None or job.status is not ImportStatus.RUNNING or job.source is not self.source:
            return RunResult(RunOutcome.SKIPPED, 0)
        held = job.lease_until is not None and job.lease_until > now
        if token != job.lease_token and held:
            return RunResult(RunOutcome.SKIPPED, 0)
        mine = secrets.token_hex(16)
        lease = now + timedelta(seconds=seconds_left() + SAFETY_SECONDS)
        claimed = replace(job, lease_token=mine, lease_until=lease, updated_at=now)
        if not self._jobs.save(claimed, job.lease_token):
            return RunResult(RunOutcome.SKIPPED, 0)
        try:
            return self._work(claimed, mine, seconds_left)
        except Exception:
            # Let the redelivered message take over at once rather than after the lease.
            current = self._jobs.get(org_id, import_id)
            if current is not None and current.lease_token == mine:
                self._jobs.save(replace(current, lease_until=self._clock()), mine)
            raise

    def _work(self, job: ImportJob, token: str, seconds_left: Callable[[], float]) -> RunResult:
        raise NotImplementedError

    def _out_of_time(self, job: ImportJob, token: str, seconds_left: Callable[[], float]) -> bool:
        """Less than the safety margin left: a message continues the job (with this run's token)."""
        if seconds_left() >= SAFETY_SECONDS:
            return False
        self._queue.send(job.org_id, job.id, token, job.source)
        return True

    @staticmethod
    def _owner(job: ImportJob) -> Caller:
        return Caller(job.org_id, job.user_id, frozenset({Role.REP}))

    def _progress(self, job: ImportJob, results: list[RowResult], **checkpoint: Any) -> ImportJob:
        """The job after a chunk: its counts, rejected rows (one S3 part per chunk, keyed by the
        chunk's first line: a chunk applied again overwrites its part) and the new checkpoint."""
        counts = dict.fromkeys((status.value for status in RowStatus), 0) | job.counts
        for row in results:
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
        rejected = [row for row in results if row.status is RowStatus.REJECTED]
        if rejected:
            part = f"{error_parts_prefix(job.org_id, job.id)}{min(r.line for r in results):012d}.csv"
            self._files.write(part, _errors_csv(rejected), CONTENT_TYPE)
        return replace(
            job,
            rows_done=job.rows_done + len(results),
            counts=counts,
            errors=job.errors + len(rejected),
            updated_at=self._clock(),
            **checkpoint,
        )

    def _end(self, job: ImportJob, token: str, status: ImportStatus, rows: int, **changes: Any) -> RunResult:
        """Mark the job over: the rejected rows as one CSV, then the final conditional write."""
        over = replace(job, status=status, updated_at=self._clock(), lease_until=None, **changes)
        if over.errors:
            self._files.concatenate(
                error_parts_prefix(job.org_id, job.id), errors_key(job.org_id, job.id), ERRORS_HEADER
            )
        self._cleanup(over)
        if not self._jobs.save(over, token):
            return RunResult(RunOutcome.LOST, rows)
        return RunResult(RunOutcome.DONE if status is ImportStatus.DONE else RunOutcome.FAILED, rows)

    def _cleanup(self, job: ImportJob) -> None:
        """What the source leaves behind once the job is over (nothing by default)."""


def _errors_csv(rows: list[RowResult]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([row.line, row.status.value, row.field or "", row.reason or ""])
    return out.getvalue().encode()
