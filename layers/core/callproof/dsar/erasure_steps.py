"""The erasure state machine's own steps: the subject's phones and emails suppressed before anything
is deleted, each store erased, and the proof that nothing is left (the residue scan)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import chain

from callproof.dsar.model import DsarRequest, StepStatus, StoreProgress, Subject
from callproof.dsar.ports import (
    BusinessRecords,
    ErasesInRounds,
    KeepsOptOuts,
    MemberAccounts,
    PersonalDataStore,
    Suppression,
)
from callproof.dsar.self_service import LastAdmin, successor
from callproof.dsar.step_journal import DONE, StepJournal

RESIDUE_LOOKS = 4  # the first look and up to three more, after 1, 2 and 4 seconds


class ErasureIncomplete(Exception):
    """A store failed or still holds data of the subject: the request waits in needs_attention."""


class ErasureSteps:
    def __init__(
        self,
        journal: StepJournal,
        suppression: Suppression | None,
        settle: Callable[[int], None],
        members: MemberAccounts | None = None,
        records: Mapping[str, BusinessRecords] | None = None,
    ) -> None:
        self._journal = journal
        self._suppression = suppression
        self._settle = settle
        self._members = members
        self._records = records or {}

    def suppress(self, request: DsarRequest, stores: Mapping[str, PersonalDataStore]) -> dict[str, object]:
        """Before anything is deleted: the keyed hashes of the subject's phones and emails go on the
        suppression list, with the SMS opt-out of each number that had one (a legal obligation: the
        person must never be texted again)."""
        if request.steps.get("suppress") is DONE:
            return {}
        subject = self._journal.subject(request)
        self._reassign(request, subject)
        opted_out = frozenset(
            chain.from_iterable(
                store.opted_out(subject) for store in stores.values() if isinstance(store, KeepsOptOuts)
            )
        )
        entries = 0
        if self._suppression is not None:
            entries = self._suppression.suppress(request.org_id, subject.emails, subject.phones, opted_out)
        self._journal.step_done(request, "suppress")
        self._journal.log(
            request,
            "erasure.suppressed",
            {
                "entries": entries,
                "sms_opt_outs_kept": len(opted_out),
                "basis": "legal obligation: SMS opt-out kept as a keyed hash",
            },
        )
        return {"entries": entries}

    def _reassign(self, request: DsarRequest, subject: Subject) -> None:
        """Before anything is deleted, an erased org user's business records (contacts they own,
        calls they logged) go to the org's longest-standing other admin, audited once per user.
        Idempotent: a replay finds nothing left to move. No admin left: ``LastAdmin``, the step
        fails and the request waits in needs_attention."""
        if not subject.user_ids or not self._records:
            return
        members = self._members.list_org(request.org_id) if self._members else []
        heir = successor(members, subject.user_ids)
        if heir is None:
            raise LastAdmin("no other admin of the org can receive the erased user's business records")
        for user_id in sorted(subject.user_ids):
            moved = {
                name: records.reassign(request.org_id, user_id, heir.user_id)
                for name, records in self._records.items()
            }
            self._journal.log(
                request, "erasure.reassigned", {"user": user_id, "to": heir.user_id, **moved}, per=user_id
            )

    def erase(
        self,
        request: DsarRequest,
        store: PersonalDataStore,
        more_time: Callable[[], bool] = lambda: True,
    ) -> dict[str, object]:
        """Erase one store. A store that ``ErasesInRounds`` stops when ``more_time()`` turns false
        (the task's time is nearly up): its deletions so far are added to the request, the answer
        says ``more`` and the state machine runs this step again; the audit entry comes once, after
        the last round, with the totals."""
        progress = request.stores.get(store.name, StoreProgress())
        if progress.status is DONE:
            return {"store": store.name, "deleted": progress.deleted}
        subject = self._journal.subject(request)
        if isinstance(store, ErasesInRounds):
            erased = store.erase_round(subject, more_time)
        else:
            erased = store.erase(subject)
        deleted = progress.deleted + erased.deleted
        if erased.more:
            ongoing = replace(progress, status=StepStatus.PENDING, deleted=deleted, error=None)
            self._journal.requests.set_store(request.org_id, request.id, store.name, ongoing)
            return {"store": store.name, "deleted": deleted, "more": True}
        done = StoreProgress(
            status=DONE,
            deleted=deleted,
            kept=erased.kept,
            kept_because="; ".join(erased.kept_reasons) or None,
            attempts=progress.attempts + 1,
        )
        self._journal.requests.set_store(request.org_id, request.id, store.name, done)
        detail: dict[str, str | int] = {"store": store.name, "deleted": deleted, "kept": erased.kept}
        if erased.kept_reasons:
            detail["kept_because"] = "; ".join(erased.kept_reasons)
        if erased.notes:
            detail["notes"] = "; ".join(erased.notes)
        self._journal.log(request, "erasure.erased", detail, per=store.name)
        return {"store": store.name, "deleted": deleted}

    def verify(self, request: DsarRequest, stores: Mapping[str, PersonalDataStore]) -> dict[str, object]:
        """The proof: every store is scanned through each of its access paths for the subject."""
        unfinished = [name for name in stores if request.stores.get(name, StoreProgress()).status is not DONE]
        if unfinished:
            raise ErasureIncomplete(f"{len(unfinished)} store(s) were not erased")
        subject = self._journal.subject(request)
        found = {}
        for name, store in stores.items():
            residue = self._residue(store, subject)
            progress = replace(request.stores[name], residue=residue)
            if residue:
                progress = replace(progress, status=StepStatus.FAILED, error="Residue")
            self._journal.requests.set_store(request.org_id, request.id, name, progress)
            found[name] = residue
        if any(found.values()):
            raise ErasureIncomplete("the residue scan still finds data of the subject")
        self._journal.step_done(request, "verify")
        detail: dict[str, str | int] = {}
        for name in stores:
            progress = request.stores[name]
            detail.update(
                {f"{name}.deleted": progress.deleted, f"{name}.kept": progress.kept, f"{name}.residue": 0}
            )
        self._journal.log(request, "erasure.verified", detail)
        return {"residue": 0}

    def _residue(self, store: PersonalDataStore, subject: Subject) -> int:
        """A store's residue, looked at again a few times before it counts: secondary indexes are
        eventually consistent, so an item deleted a moment ago may still be listed."""
        for attempt in range(RESIDUE_LOOKS - 1):
            if not store.residue(subject):
                return 0
            self._settle(attempt)
        return store.residue(subject)
