"""What every step of the export and erasure state machines writes: what it finished, on the request
(so that a replayed step finds it and does nothing), and in the audit trail (once)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.dsar.model import DsarRequest, StepStatus, Subject
from callproof.dsar.once import audit_once

if TYPE_CHECKING:
    from callproof.dsar.audit import AuditLog
    from callproof.dsar.ports import RequestStore

SYSTEM = "system"  # the actor of what the steps do
DONE = StepStatus.DONE


class StepJournal:
    """Its ``requests`` and ``clock`` are the steps' too: one store of requests, one time."""

    def __init__(self, requests: RequestStore, audit: AuditLog, clock: Callable[[], datetime]) -> None:
        self.requests = requests
        self.clock = clock
        self._audit = audit

    @staticmethod
    def subject(request: DsarRequest) -> Subject:
        if request.subject is None:
            raise RuntimeError("a workflow starts only once the request's subject is resolved")
        return request.subject

    def step_done(
        self, request: DsarRequest, step: str, *, export_key: str | None = None, event: str | None = None
    ) -> None:
        """Record ``step`` as done (with the export's key, and ``event`` on the timeline if given)."""
        changed = replace(
            request,
            export_key=export_key or request.export_key,
            steps={**request.steps, step: DONE},
            version=request.version + 1,
        )
        if event:
            changed = changed.with_event(step, self.clock(), event)
        self.requests.save(request, changed)

    def log(
        self, request: DsarRequest, action: str, detail: Mapping[str, str | int], per: object = None
    ) -> None:
        audit_once(self._audit, request, SYSTEM, action, detail, per)
