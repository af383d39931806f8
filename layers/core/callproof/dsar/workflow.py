"""The steps of the export and erasure state machines (infra/statemachines/*.asl.json).

Each step is idempotent: it records what it finished on the request (per store, or per step), and a
step that finds its work recorded does nothing. So a retried or replayed execution, or a new
execution started by ``retry`` after a failure, resumes where the last one stopped and never sends an
email or appends an audit entry twice. Stores page through their data inside one step: the number of
state transitions depends on the number of stores, never on the number of records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callproof.dsar import links
from callproof.dsar.audit import AuditLog
from callproof.dsar.export import ExportPart, assemble, write_csv
from callproof.dsar.model import (
    DsarRequest,
    Identifiers,
    RequestType,
    Status,
    StepStatus,
    StoreProgress,
    Subject,
)
from callproof.dsar.once import audit_once, digest, send_once
from callproof.dsar.ports import (
    ExportStorage,
    KeepsOptOuts,
    Mailer,
    PersonalDataStore,
    RequestStore,
    Suppression,
)
from callproof.errors import NotFound
from callproof.ids import utc_now

SYSTEM = "system"  # the actor of what the steps do
DONE = StepStatus.DONE
RESIDUE_LOOKS = 4  # the first look and up to three more, after 1, 2 and 4 seconds


class RequestCancelled(Exception):
    """The request was cancelled (or is no longer running): the execution ends quietly."""


class StoresFailed(Exception):
    """Some stores did not finish: the request waits in needs_attention for a retry."""


class ErasureIncomplete(Exception):
    """A store failed or still holds data of the subject: the request waits in needs_attention."""


class TaskEvent(BaseModel):
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


def staging_key(request: DsarRequest, store: str) -> str:
    return f"exports/{request.org_id}/{request.id}/staging/{store}.csv"


def archive_key(request: DsarRequest) -> str:
    return f"exports/{request.org_id}/{request.id}/{request.id}.zip"


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
    ) -> None:
        self._requests = requests
        self._audit = audit
        self._stores = stores
        self._suppression = suppression
        self._exports = exports
        self._mailer = mailer
        self._link_key = link_key
        self._base_url = public_base_url.rstrip("/") if public_base_url else None
        self._clock = clock
        self._settle = settle
        self._erased_last = erased_last  # erased in a second round, after every other store

    def run(self, event: TaskEvent) -> dict[str, object]:
        request = self._running(event)
        per_store = {"collect": self._collect, "erase": self._erase, "store_failed": self._store_failed}
        if event.step in per_store:
            store = self._stores.get(event.store or "")
            if store is None:
                raise NotFound(f"no store named {event.store!r} is deployed")
            return per_store[event.step](request, store, event)
        whole_request = {
            "begin": self._begin,
            "assemble": self._assemble,
            "deliver": self._deliver,
            "suppress": self._suppress,
            "verify": self._verify,
            "finish": self._finish,
            "needs_attention": self._needs_attention,
        }
        return whole_request[event.step](request, event)

    # --------------------------------------------------------------------------------- both
    def _begin(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        """The plan: which stores each Map runs. The subject was resolved (and stored) before the
        workflow started: after an erasure began, the contacts that led to the rest may be gone."""
        self._subject(request)
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
        self._log(
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
        self._log(
            request, "request.needs_attention", {"error": (event.error or "Error")[:100]}, per=event.attempt
        )
        return {"status": Status.NEEDS_ATTENTION.value}

    def _finish(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        now = self._clock()
        done = replace(request.with_status(Status.COMPLETED, now), version=request.version + 1)
        if request.type is RequestType.ERASURE and request.subject is not None:
            # Nothing of the person stays on the request but pseudonymous ids and the counts.
            kept = Subject(
                org_id=request.org_id,
                contact_ids=request.subject.contact_ids,
                user_ids=request.subject.user_ids,
            )
            done = replace(
                done,
                identifiers=Identifiers(contact_id=request.identifiers.contact_id),
                subject=kept,
                recipient_email=None,
            )
        self._requests.save(request, done)
        self._log(request, "request.completed", {"stores": len(request.stores)})
        return {"status": Status.COMPLETED.value}

    # --------------------------------------------------------------------------------- export
    def _collect(self, request: DsarRequest, store: PersonalDataStore, event: TaskEvent) -> dict[str, object]:
        progress = request.stores.get(store.name, StoreProgress())
        if progress.status is DONE:
            return {"store": store.name, "rows": progress.rows}
        with self._exports.writer(staging_key(request, store.name)) as sink:
            rows = write_csv(store.rows(self._subject(request)), store.columns, sink)
        done = StoreProgress(status=DONE, rows=rows, attempts=progress.attempts + 1)
        self._requests.set_store(request.org_id, request.id, store.name, done)
        self._log(request, "export.collected", {"store": store.name, "rows": rows}, per=store.name)
        return {"store": store.name, "rows": rows}

    def _assemble(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        if request.steps.get("assemble") is DONE:
            return {"key": request.export_key}
        unfinished = [
            name for name in self._stores if request.stores.get(name, StoreProgress()).status is not DONE
        ]
        if unfinished:
            raise StoresFailed(f"{len(unfinished)} store(s) did not finish")
        subject = self._subject(request)
        parts = [
            ExportPart(
                name,
                store.columns,
                request.stores[name].rows,
                self._exports.chunks(staging_key(request, name)),
            )
            for name, store in self._stores.items()
        ]
        files = chain.from_iterable(store.files(subject) for store in self._stores.values())
        key = archive_key(request)
        with self._exports.writer(key) as sink:
            manifest = assemble(
                sink, parts, files, self._clock(), {"id": request.id, "type": request.type.value}
            )
        self._exports.delete([staging_key(request, name) for name in self._stores])
        self._save(request, export_key=key, step="assemble")
        self._log(
            request,
            "export.assembled",
            {
                "stores": len(manifest.stores),
                "rows": sum(entry.rows for entry in manifest.stores),
                "files": sum(manifest.files.values()),
            },
        )
        return {"key": key}

    def _deliver(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        if request.steps.get("deliver") is DONE:
            return {"delivered": True}
        if request.export_key is None:
            raise StoresFailed("no export to deliver")
        portability = request.type is RequestType.PORTABILITY
        to = request.recipient_email if portability else request.identifiers.email
        if to is None or self._base_url is None:
            self._save(
                request,
                step="deliver",
                event="export ready: no email on file, staff deliver it from the console",
            )
            return {"delivered": False}
        link = links.download_token(
            self._link_key(), request.org_id, request.id, request.export_key, self._clock()
        )
        url = f"{self._base_url}/privacy/download?token={link.token}"
        expires = link.expires_at.date().isoformat()
        if portability:
            text = (
                "A person asked us to transfer a copy of their data to you (data portability).\n"
                f"Download it (a ZIP of CSV files and a manifest) until {expires}:\n{url}\n"
            )
        else:
            text = f"The copy of your data you asked for is ready.\nDownload it (a ZIP of CSV files) until {expires}:\n{url}\n"
        send_once(
            self._requests,
            self._mailer,
            request,
            "export-link",
            to,
            "Your data export is ready" if not portability else "Data transferred to you",
            text,
        )
        receipt = (
            "delivered to the named third party" if portability else "download link emailed to the subject"
        )
        self._save(request, step="deliver", event=receipt)
        detail: dict[str, str | int] = {"recipient": digest(to.lower())[:16], "expires": expires}
        self._log(request, "export.transferred" if portability else "export.delivered", detail)
        return {"delivered": True}

    # --------------------------------------------------------------------------------- erasure
    def _suppress(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        """Before anything is deleted: the keyed hashes of the subject's phones and emails go on the
        suppression list, with the SMS opt-out of each number that had one (a legal obligation: the
        person must never be texted again)."""
        if request.steps.get("suppress") is DONE:
            return {}
        subject = self._subject(request)
        opted_out = frozenset(
            chain.from_iterable(
                store.opted_out(subject) for store in self._stores.values() if isinstance(store, KeepsOptOuts)
            )
        )
        entries = 0
        if self._suppression is not None:
            entries = self._suppression.suppress(request.org_id, subject.emails, subject.phones, opted_out)
        self._save(request, step="suppress")
        self._log(
            request,
            "erasure.suppressed",
            {
                "entries": entries,
                "sms_opt_outs_kept": len(opted_out),
                "basis": "legal obligation: SMS opt-out kept as a keyed hash",
            },
        )
        return {"entries": entries}

    def _erase(self, request: DsarRequest, store: PersonalDataStore, event: TaskEvent) -> dict[str, object]:
        progress = request.stores.get(store.name, StoreProgress())
        if progress.status is DONE:
            return {"store": store.name, "deleted": progress.deleted}
        erased = store.erase(self._subject(request))
        done = StoreProgress(
            status=DONE, deleted=erased.deleted, kept=erased.kept, attempts=progress.attempts + 1
        )
        self._requests.set_store(request.org_id, request.id, store.name, done)
        detail: dict[str, str | int] = {"store": store.name, "deleted": erased.deleted, "kept": erased.kept}
        if erased.kept_reasons:
            detail["kept_because"] = "; ".join(erased.kept_reasons)
        if erased.notes:
            detail["notes"] = "; ".join(erased.notes)
        self._log(request, "erasure.erased", detail, per=store.name)
        return {"store": store.name, "deleted": erased.deleted}

    def _verify(self, request: DsarRequest, event: TaskEvent) -> dict[str, object]:
        """The proof: every store is scanned through each of its access paths for the subject."""
        unfinished = [
            name for name in self._stores if request.stores.get(name, StoreProgress()).status is not DONE
        ]
        if unfinished:
            raise ErasureIncomplete(f"{len(unfinished)} store(s) were not erased")
        subject = self._subject(request)
        found = {}
        for name, store in self._stores.items():
            residue = self._residue(store, subject)
            progress = replace(request.stores[name], residue=residue)
            if residue:
                progress = replace(progress, status=StepStatus.FAILED, error="Residue")
            self._requests.set_store(request.org_id, request.id, name, progress)
            found[name] = residue
        if any(found.values()):
            raise ErasureIncomplete("the residue scan still finds data of the subject")
        self._save(request, step="verify")
        detail: dict[str, str | int] = {}
        for name in self._stores:
            progress = request.stores[name]
            detail.update(
                {f"{name}.deleted": progress.deleted, f"{name}.kept": progress.kept, f"{name}.residue": 0}
            )
        self._log(request, "erasure.verified", detail)
        return {"residue": 0}

    # --------------------------------------------------------------------------------- helpers
    def _residue(self, store: PersonalDataStore, subject: Subject) -> int:
        """A store's residue, looked at again a few times before it counts: secondary indexes are
        eventually consistent, so an item deleted a moment ago may still be listed."""
        for attempt in range(RESIDUE_LOOKS - 1):
            if not store.residue(subject):
                return 0
            self._settle(attempt)
        return store.residue(subject)

    def _running(self, event: TaskEvent) -> DsarRequest:
        request = self._requests.get(event.org_id, event.request_id)
        if request is None:
            raise NotFound("no such request")
        if request.status is not Status.IN_PROGRESS or request.attempt != event.attempt:
            raise RequestCancelled(f"the request is {request.status.value} (attempt {request.attempt})")
        return request

    @staticmethod
    def _subject(request: DsarRequest) -> Subject:
        if request.subject is None:
            raise RuntimeError("a workflow starts only once the request's subject is resolved")
        return request.subject

    def _save(
        self,
        request: DsarRequest,
        *,
        subject: Subject | None = None,
        export_key: str | None = None,
        step: str | None = None,
        event: str | None = None,
    ) -> None:
        changed = replace(
            request,
            subject=subject or request.subject,
            export_key=export_key or request.export_key,
            steps={**request.steps, step: DONE} if step else request.steps,
            version=request.version + 1,
        )
        if event:
            changed = changed.with_event(step or "note", self._clock(), event)
        self._requests.save(request, changed)

    def _log(
        self, request: DsarRequest, action: str, detail: Mapping[str, str | int], per: object = None
    ) -> None:
        audit_once(self._audit, request, SYSTEM, action, detail, per)
