"""The steps of the export and erasure state machines (infra/statemachines/*.asl.json): one entry
point for the task function, the steps both machines run, and the export's and erasure's own steps
(``callproof.dsar.export_steps``, ``callproof.dsar.erasure_steps``).

Each step is idempotent: it records what it finished on the request (per store, or per step), and a
step that finds its work recorded does nothing. So a retried or replayed execution, or a new
execution started by ``retry`` after a failure, resumes where the last one stopped and never sends an
email or appends an audit entry twice. Stores page through their data inside one step: the number of
state transitions depends on the number of stores, not on the number of records (a store that
collects or erases in rounds adds two per invocation that ran short of time, about one per 13
minutes of work).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field

from callproof.dsar import notices
from callproof.dsar.erasure_steps import ErasureSteps
from callproof.dsar.export_steps import ExportSteps
from callproof.dsar.model import (
    DsarRequest,
    RequestType,
    Status,
    StepStatus,
    StoreProgress,
)
from callproof.dsar.once import send_once
from callproof.dsar.step_journal import StepJournal
from callproof.errors import NotFound
from callproof.ids import utc_now
from callproof.models import Model

if TYPE_CHECKING:
    from callproof.dsar.audit import AuditLog
    from callproof.dsar.ports import (
        BusinessRecords,
        ExportStorage,
        Mailer,
        MemberAccounts,
        PersonalDataStore,
        RequestStore,
        Suppression,
    )


class RequestCancelled(Exception):
    """The request was cancelled (or is no longer running): the execution ends quietly."""


class TaskEvent(Model):
    """What a state machine task sends (infra/statemachines)."""

    model_config = ConfigDict(extra="ignore")

    step: Literal[
        "begin", "collect", "assemble", "deliver", "suppress", "erase", "verify", "finish",
        "store_failed", "needs_attention",
    ]  # fmt: skip
    org_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    request_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    attempt: int = Field(ge=1)
    store: str | None = Field(default=None, pattern=r"^[a-z_]{1,40}$")
    error: str | None = Field(default=None, max_length=200)


class WorkflowTasks:
    def __init__(
        self,
        requests: RequestStore,
        audit: AuditLog,
        stores: Mapping[str, PersonalDataStore],
        suppression: Suppression | None,
        exports: ExportStorage,
        mailer: Mailer,
        link_key: Callable[[], bytes],
        public_base_url: str | None,
        clock: Callable[[], datetime] = utc_now,
        settle: Callable[[int], None] = lambda attempt: time.sleep(2**attempt),
        erased_last: frozenset[str] = frozenset(),
        members: MemberAccounts | None = None,
        records: Mapping[str, BusinessRecords] | None = None,
    ) -> None:
        self._requests = requests
        self._mailer = mailer
        self._stores = stores
        self._clock = clock
        self._erased_last = erased_last  # erased in a second round, after every other store
        self._journal = StepJournal(requests, audit, clock)
        self._export = ExportSteps(self._journal, exports, mailer, link_key, public_base_url)
        self._erasure = ErasureSteps(self._journal, suppression, settle, members, records)

    def run(self, event: TaskEvent, more_time: Callable[[], bool] = lambda: True) -> dict[str, object]:
        """Run one step. ``more_time()`` says whether the invocation still has time for another
        batch of deletions (``ErasesInRounds``) or part of an export (``CollectsInRounds``): the task
        function asks its Lambda context."""
        request = self._running(event)
        match event.step:
            case "begin":
                return self._begin(request)
            case "collect":
                return self._export.collect(request, self._store(event), more_time)
            case "assemble":
                return self._export.assemble(request, self._stores)
            case "deliver":
                return self._export.deliver(request)
            case "suppress":
                return self._erasure.suppress(request, self._stores)
            case "erase":
                return self._erasure.erase(request, self._store(event), more_time)
            case "verify":
                return self._erasure.verify(request, self._stores)
            case "finish":
                return self._finish(request)
            case "store_failed":
                return self._store_failed(request, self._store(event), event)
            case "needs_attention":
                return self._needs_attention(request, event)

    # ------------------------------------------------------------------------ both machines
    def _begin(self, request: DsarRequest) -> dict[str, object]:
        """The plan: which stores each Map runs. The subject was resolved (and stored) before the
        workflow started: after an erasure began, the contacts that led to the rest may be gone."""
        self._journal.subject(request)
        if request.type is not RequestType.ERASURE:
            return {"stores": list(self._stores), "last": []}
        return {
            "stores": [name for name in self._stores if name not in self._erased_last],
            "last": [name for name in self._stores if name in self._erased_last],
        }

    def _store_failed(
        self, request: DsarRequest, store: PersonalDataStore, event: TaskEvent
    ) -> dict[str, object]:
        progress = request.stores.get(store.name, StoreProgress())
        error = (event.error or "Error")[:100]
        failed = replace(progress, status=StepStatus.FAILED, attempts=progress.attempts + 1, error=error)
        self._requests.set_store(request.org_id, request.id, store.name, failed)
        self._journal.log(
            request,
            "store.failed",
            {"store": store.name, "error": error},
            per=f"{store.name}.{event.attempt}",
        )
        return {"store": store.name, "status": "failed"}

    def _needs_attention(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        detail = f"failed: {(event.error or 'Error')[:100]}"
        self._requests.save(
            request,
            replace(
                request.with_status(Status.NEEDS_ATTENTION, self._clock(), detail),
                version=request.version + 1,
            ),
        )
        self._journal.log(
            request, "request.needs_attention", {"error": (event.error or "Error")[:100]}, per=event.attempt
        )
        return {"status": Status.NEEDS_ATTENTION.value}

    def _finish(self, request: DsarRequest) -> dict[str, object]:
        now = self._clock()
        if request.type is RequestType.ERASURE and request.subject is not None and request.identifiers.email:
            subject_line, text = notices.erasure(request)  # told before the address goes (closing)
            send_once(
                self._requests,
                self._mailer,
                request,
                notices.ERASURE_KEY,
                request.identifiers.email,
                subject_line,
                text,
            )
        # Completing removes the person's identifiers in the same write (DsarRequest.closing): the
        # erasure's suppression list was written from them in its earlier "suppress" step.
        done = replace(request.with_status(Status.COMPLETED, now), version=request.version + 1)
        self._requests.save(request, done)
        self._journal.log(request, "request.completed", {"stores": len(request.stores)})
        return {"status": Status.COMPLETED.value}

    def _store(self, event: TaskEvent) -> PersonalDataStore:
        store = self._stores.get(event.store or "")
        if store is None:
            raise NotFound(f"no store named {event.store!r} is deployed")
        return store

    def _running(self, event: TaskEvent) -> DsarRequest:
        request = self._requests.get(event.org_id, event.request_id)
        if request is None:
            raise NotFound("no such request")
        if request.status is not Status.IN_PROGRESS or request.attempt != event.attempt:
            raise RequestCancelled(f"the request is {request.status.value} (attempt {request.attempt})")
        return request
