"""Large CSV imports: a presigned upload, a start that queues the job, and a worker that imports the
file in chunks from a checkpoint.

Resume: after every chunk the job stores the byte offset and line number the chunk ended at, with its
counts, in one conditional write. A worker that dies mid-chunk leaves the previous checkpoint; the
next run reads the file from that byte on and applies the chunk again, which the importer's
deduplication turns into duplicates (nothing is created twice; those rows count as duplicates).
The lease rules, the progress write and the errors file are every import job's
(``callproof.contacts.job_runs``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from callproof.contacts.csv_stream import Checkpoint, CsvChunks
from callproof.contacts.job_runs import (
    CONTENT_TYPE,
    JOB_TTL,
    JobRuns,
    RunOutcome,
    RunResult,
    errors_key,
)
from callproof.contacts.model import ImportJob, ImportSource, ImportStatus
from callproof.errors import Conflict, InvalidInput
from callproof.ids import time_ordered_id, utc_now
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.importer import ContactImporter
    from callproof.contacts.ports import ImportFiles, ImportJobStore, ImportQueue

__all__ = ["CONTENT_TYPE", "ImportJobs", "RunOutcome", "RunResult", "errors_key", "upload_key"]

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
UPLOAD_TTL = timedelta(minutes=15)
CHUNK_ROWS = 500


def upload_key(org_id: str, import_id: str) -> str:
    return f"orgs/{org_id}/imports/{import_id}.csv"


class ImportJobs(JobRuns):
    source = ImportSource.CSV

    def __init__(
        self,
        jobs: ImportJobStore,
        files: ImportFiles,
        queue: ImportQueue,
        importer: ContactImporter,
        clock: Callable[[], datetime] = utc_now,
        chunk_rows: int | None = None,
    ) -> None:
        super().__init__(jobs, files, queue, clock)
        self._importer = importer
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

    def start(self, caller: Caller, import_id: str) -> ImportJob:
        """Queue the job once its file is uploaded; starting a started job changes nothing, except that
        a running job no run holds is queued again (the first send may have failed after the save)."""
        caller.require(Role.REP, Role.ADMIN)
        job = self._own(caller, import_id)
        if job.source is not ImportSource.CSV:
            raise Conflict("this import reads Google Contacts, not an uploaded file", field="import_id")
        self._requeue_if_idle(job)
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

    # --------------------------------------------------------------- worker
    def _work(self, job: ImportJob, token: str, seconds_left: Callable[[], float]) -> RunResult:
        caller = self._owner(job)
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
                if self._out_of_time(job, token, seconds_left):
                    return RunResult(RunOutcome.CONTINUED, done)
                records = reader.read(self._chunk_rows)
                if not records:
                    break
                results = self._importer.apply(caller, records)
                at = reader.checkpoint
                job = self._progress(job, results, offset=at.offset, line=at.line)
                if not self._jobs.save(job, token):
                    return RunResult(RunOutcome.LOST, done)
                done += len(records)
        except InvalidInput as exc:
            return self._end(job, token, ImportStatus.FAILED, done, message=exc.message)
        return self._end(job, token, ImportStatus.DONE, done)

    def _cleanup(self, job: ImportJob) -> None:
        self._files.delete(upload_key(job.org_id, job.id))  # the uploaded file: personal data
