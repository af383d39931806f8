"""Google Contacts imports as jobs: the API checks the grant and queues a job; a worker imports the
user's Google Contacts one People API page (up to 1,000 people) at a time.

Checkpoint: after each page one conditional write stores the job's counts with the page token of the
next page (within the changes since the job's ``sync_from``); after the last page, ``pages_done`` and
Google's next sync token. The sync token is saved for the next import only then, before the job is
marked done. A grant removed or revoked meanwhile fails the job with a message (no retry can
help). A run that dies mid-page leaves the previous page token: the next run reads that page
again and applies it again, which the importer's dedupe turns into duplicates, and the person links
and ``removed_in_google`` marks are idempotent (nothing is created twice). Google refusing the sync
token as expired restarts the job as a full sync. Lease rules: ``callproof.contacts.job_runs``.

One running Google import per user: a POST while the user's latest Google import is still running
answers that job (and queues it again when no run holds it) instead of creating a second one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.contacts.job_runs import JOB_TTL, JobRuns, RunOutcome, RunResult
from callproof.contacts.model import ImportJob, ImportSource, ImportStatus
from callproof.errors import Conflict
from callproof.ids import time_ordered_id, utc_now
from callproof.tenancy import Caller, Role

if TYPE_CHECKING:
    from callproof.contacts.importer import ContactImporter
    from callproof.contacts.ports import ImportFiles, ImportJobStore, ImportQueue, PeopleSource

START_ATTEMPTS = 3  # a POST racing others reads the current job again this many times


class GoogleImportJobs(JobRuns):
    source = ImportSource.GOOGLE

    def __init__(
        self,
        jobs: ImportJobStore,
        files: ImportFiles,
        queue: ImportQueue,
        importer: Callable[[], ContactImporter],
        people: PeopleSource,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(jobs, files, queue, clock)
        self._importer = importer  # built on the worker's first page only: the API route never needs it
        self._people = people

    # ------------------------------------------------------------------ API
    def start(self, caller: Caller) -> tuple[ImportJob, bool]:
        """The caller's running Google import, or a new one queued; whether it is new. Raises
        ``Conflict`` (``google_scope_missing``) without the Google Contacts grant."""
        caller.require(Role.REP, Role.ADMIN)
        self._people.check(caller)
        for _ in range(START_ATTEMPTS):
            current_id = self._jobs.current(caller.org_id, caller.user_id, self.source)
            running = self._running(caller, current_id)
            if running is not None:
                return running, False
            job = self._new_job(caller)
            if self._jobs.create_current(job, current_id):
                self._queue.send(job.org_id, job.id, job.lease_token or "", job.source)
                return job, True
            # A concurrent POST made its job current first: answer that one (read again).
        raise Conflict("another Google Contacts import started meanwhile; retry")

    def _new_job(self, caller: Caller) -> ImportJob:
        now = self._clock()
        sync_from = self._people.sync_token(caller)
        return ImportJob(
            org_id=caller.org_id,
            id=time_ordered_id(now),
            user_id=caller.user_id,
            status=ImportStatus.RUNNING,
            created_at=now,
            updated_at=now,
            expires_at=now + JOB_TTL,
            lease_token=secrets.token_hex(16),
            source=ImportSource.GOOGLE,
            sync_from=sync_from,
            full_sync=sync_from is None,
        )

    def _running(self, caller: Caller, import_id: str | None) -> ImportJob | None:
        job = self._jobs.get(caller.org_id, import_id) if import_id else None
        if job is None or job.status is not ImportStatus.RUNNING or job.expires_at <= self._clock():
            return None
        self._requeue_if_idle(job)
        return job

    # --------------------------------------------------------------- worker
    def _work(self, job: ImportJob, token: str, seconds_left: Callable[[], float]) -> RunResult:
        caller = self._owner(job)
        done = 0
        while not job.pages_done:
            if self._out_of_time(job, token, seconds_left):
                return RunResult(RunOutcome.CONTINUED, done)
            try:
                page = self._people.page(caller, job.sync_from, job.page_token)
            except Conflict as exc:  # the grant was removed or revoked: retrying cannot help
                return self._end(job, token, ImportStatus.FAILED, done, message=exc.message)
            if page.restarted:  # the sync token expired: every contact again, from the first page
                job = self._restart(job)
            first = job.rows_done + 1  # a person's "line": their rank in this import
            records = list(enumerate((record for _, record in page.records), start=first))
            results = self._importer().apply(caller, records) if records else []
            contact_of = {row.line: row.contact_id for row in results}
            imported = {
                name: contact
                for line, (name, _) in enumerate(page.records, start=first)
                if name and (contact := contact_of.get(line))
            }
            marked = self._people.record(caller, imported, list(page.deleted))
            job = self._progress(
                job,
                results,
                page_token=page.next_page_token,
                pages_done=page.next_page_token is None,
                next_sync_token=page.next_sync_token,
                removed_in_google=job.removed_in_google + marked,
            )
            if not self._jobs.save(job, token):
                return RunResult(RunOutcome.LOST, done)
            done += len(results)
        self._people.finish(caller, job.next_sync_token)
        return self._end(job, token, ImportStatus.DONE, done)

    @staticmethod
    def _restart(job: ImportJob) -> ImportJob:
        return replace(job, sync_from=None, page_token=None, full_sync=True)
