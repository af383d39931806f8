"""Large CSV imports: a presigned upload, a start that queues the job, and a worker that imports the
file in chunks from a checkpoint.

Resume: after every chunk the job stores the byte offset and line number the chunk ended at, with its
counts, in one conditional write. A worker that dies mid-chunk leaves the previous checkpoint; the
next run reads the file from that byte on and applies the chunk again, which the importer's
deduplication turns into duplicates (nothing is created twice; those rows count as duplicates).
Only one run holds a job at a time: a run takes the job's lease by replacing its token (conditional
on the token it read), and every progress write is conditional on that token. The queue message that
continues a job carries the token of the run that sent it, so it may take over at once; any other
message (a redelivery after a crash, a duplicate) may take over only once the lease has expired.
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

from callproof.contacts.csv_stream import Checkpoint, CsvChunks
from callproof.contacts.importer import ContactImporter, RowResult, RowStatus
from callproof.contacts.model import ImportJob, ImportStatus
from callproof.contacts.ports import ImportFiles, ImportJobStore, ImportQueue
from callproof.errors import Conflict, InvalidInput, NotFound
from callproof.ids import time_ordered_id, utc_now
from callproof.tenancy import Caller, Role

CONTENT_TYPE = "text/csv"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
UPLOAD_TTL = timedelta(minutes=15)
DOWNLOAD_TTL = timedelta(minutes=15)
JOB_TTL = timedelta(days=30)
CHUNK_ROWS = 500
SAFETY_SECONDS = 30.0  # a run stops taking chunks when less time than this is left
ERRORS_HEADER = b"line,status,field,reason\r\n"
_IMPORT_ID = re.compile(r"[0-9a-f]{23}")  # ids.time_ordered_id


def upload_key(org_id: str, import_id: str) -> str:
    return f"orgs/{org_id}/imports/{import_id}.csv"


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


class ImportJobs:
    def __init__(
        self,
        jobs: ImportJobStore,
        files: ImportFiles,
        queue: ImportQueue,
        importer: ContactImporter,
        clock: Callable[[], datetime] = utc_now,
        chunk_rows: int | None = None,
    ) -> None:
        self._jobs, self._files, self._queue, self._importer = jobs, files, queue, importer
        self._clock = clock
        self._chunk_rows = chunk_rows or CHUNK_ROWS

    # ------------------------------------------------------------------ API
    def create(self, caller: Caller) -> tuple[ImportJob, str, dict[str, str]]:
        """A job awaiting its file, and the presigned POST (text/csv, up to 100 MB, 15 minutes)."""
        caller.require(Role.REP, Role.ADMIN)
        now = self._clock()
        job = ImportJob(
            org_id=caller.org_id,
            id=time_ordered_id(now),
            user_id=caller.user_id,
            status=ImportStatus.AWAITING_UPLOAD,
            created_at=now,
            updated_at=now,
            expires_at=now + JOB_TTL,
        )
        self._jobs.create(job)
        url, fields = self._files.presign_post(
            upload_key(job.org_id, job.id), CONTENT_TYPE, MAX_UPLOAD_BYTES, UPLOAD_TTL
        )
        return job, url, fields

    def get(self, caller: Caller, import_id: str) -> tuple[ImportJob, str | None]:
        """The job and, when rows were rejected and the job is over, a download URL of them."""
        caller.require(Role.REP, Role.ADMIN)
        job = self._own(caller, import_id)
        url = None
        if job.errors and job.status in {ImportStatus.DONE, ImportStatus.FAILED}:
            url = self._files.presign_get(errors_key(job.org_id, job.id), DOWNLOAD_TTL)
        return job, url

    def start(self, caller: Caller, import_id: str) -> ImportJob:
        """Queue the job once its file is uploaded; starting a started job changes nothing, except that
        a job no run has taken yet is queued again (the first send may have failed after the save)."""
        caller.require(Role.REP, Role.ADMIN)
        job = self._own(caller, import_id)
        if job.status is ImportStatus.RUNNING and job.lease_until is None and job.lease_token is not None:
            self._queue.send(job.org_id, job.id, job.lease_token)  # a duplicate is skipped by the lease
        if job.status is not ImportStatus.AWAITING_UPLOAD:
            return job
        size = self._files.size(upload_key(job.org_id, job.id))
        if size is None:
            raise Conflict("no file uploaded for this import yet", field="import_id")
        token = secrets.token_hex(16)
        started = replace(
            job, status=ImportStatus.RUNNING, size=size, updated_at=self._clock(), lease_token=token
        )
        if not self._jobs.save(started, job.lease_token):
            return self._own(caller, import_id)  # a concurrent start won
        self._queue.send(job.org_id, job.id, token)
        return started

    def _own(self, caller: Caller, import_id: str) -> ImportJob:
        if not _IMPORT_ID.fullmatch(import_id):  # never one of ours: no key built from it
            raise NotFound("no such import", field="import_id")
        job = self._jobs.get(caller.org_id, import_id)
        if job is None or job.expires_at <= self._clock():
            raise NotFound("no such import", field="import_id")
        return job

    # --------------------------------------------------------------- worker
    def run(self, org_id: str, import_id: str, token: str, seconds_left: Callable[[], float]) -> RunResult:
        """Import chunks from the job's checkpoint while time is left; then continue through the queue."""
        job = self._jobs.get(org_id, import_id)
        now = self._clock()
        if job is None or job.status is not ImportStatus.RUNNING:
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
            return self._chunks(claimed, mine, seconds_left)
        except Exception:
            # Let the redelivered message take over at once rather than after the lease.
            current = self._jobs.get(org_id, import_id)
            if current is not None and current.lease_token == mine:
                self._jobs.save(replace(current, lease_until=self._clock()), mine)
            raise

    def _chunks(self, job: ImportJob, token: str, seconds_left: Callable[[], float]) -> RunResult:
        caller = Caller(job.org_id, job.user_id, frozenset({Role.REP}))
        start = Checkpoint(job.offset, job.line)
        done = 0
        try:
            at_end = job.size is not None and job.offset >= job.size
            chunks = [] if at_end else self._files.read(upload_key(job.org_id, job.id), job.offset)
            reader = CsvChunks(chunks, start, list(job.header) if job.header is not None else None)
            if job.header is None:
                job = replace(
                    job,
                    header=tuple(reader.header),
                    line=reader.checkpoint.line,
                    offset=reader.checkpoint.offset,
                )
            while True:
                if seconds_left() < SAFETY_SECONDS:
                    self._queue.send(job.org_id, job.id, token)
                    return RunResult(RunOutcome.CONTINUED, done)
                records = reader.read(self._chunk_rows)
                if not records:
                    break
                results = self._importer.apply(caller, records)
                job = self._progress(job, results, reader.checkpoint)
                if not self._jobs.save(job, token):
                    return RunResult(RunOutcome.LOST, done)
                done += len(records)
        except InvalidInput as exc:
            failed = replace(job, status=ImportStatus.FAILED, message=exc.message, updated_at=self._clock())
            self._finish(failed)
            ok = self._jobs.save(failed, token)
            return RunResult(RunOutcome.FAILED if ok else RunOutcome.LOST, done)
        finished = replace(job, status=ImportStatus.DONE, updated_at=self._clock(), lease_until=None)
        self._finish(finished)
        ok = self._jobs.save(finished, token)
        return RunResult(RunOutcome.DONE if ok else RunOutcome.LOST, done)

    def _progress(self, job: ImportJob, results: list[RowResult], at: Checkpoint) -> ImportJob:
        counts = dict.fromkeys((status.value for status in RowStatus), 0) | job.counts
        for row in results:
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
        rejected = [row for row in results if row.status is RowStatus.REJECTED]
        if rejected:  # keyed by the chunk's first line: a chunk applied again overwrites its part
            part = f"{error_parts_prefix(job.org_id, job.id)}{results[0].line:012d}.csv"
            self._files.write(part, _errors_csv(rejected), CONTENT_TYPE)
        return replace(
            job,
            offset=at.offset,
            line=at.line,
            rows_done=job.rows_done + len(results),
            counts=counts,
            errors=job.errors + len(rejected),
            updated_at=self._clock(),
        )

    def _finish(self, job: ImportJob) -> None:
        """The rejected rows as one CSV; the uploaded file (personal data) deleted."""
        if job.errors:
            self._files.concatenate(
                error_parts_prefix(job.org_id, job.id), errors_key(job.org_id, job.id), ERRORS_HEADER
            )
        self._files.delete(upload_key(job.org_id, job.id))


def _errors_csv(rows: list[RowResult]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([row.line, row.status.value, row.field or "", row.reason or ""])
    return out.getvalue().encode()
