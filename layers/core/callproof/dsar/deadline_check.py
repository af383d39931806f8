"""The daily deadline check (``functions/dsar_deadlines``): a request whose confirmation link ran out
unused expires; every other open request's deadline state is recomputed and stored when it changed."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.dsar.deadlines import DeadlineState
from callproof.dsar.links import CONFIRMATION_TTL
from callproof.dsar.model import OPEN_STATUSES, DsarRequest, Status
from callproof.errors import Conflict

if TYPE_CHECKING:
    from callproof.dsar.ports import RequestStore


def deadline_states(requests: RequestStore, now: datetime) -> dict[str, int]:
    """The daily check: a request whose confirmation link ran out unused expires; every other open
    request's deadline state is recomputed (due within 7 days, overdue) and stored when it changed.
    Returns how many open requests are in each state, and how many expired."""
    counts = {state.value: 0 for state in DeadlineState} | {Status.EXPIRED.value: 0}
    today = now.date()
    for org_id, request_id in requests.open_requests():
        request = requests.get(org_id, request_id)
        if request is None or request.status not in OPEN_STATUSES:
            continue
        if request.status is Status.PENDING_CONFIRMATION and now > request.created_at + CONFIRMATION_TTL:
            expired = request.with_status(Status.EXPIRED, now, "the confirmation link was not used")
            _save_quietly(requests, request, replace(expired, version=request.version + 1))
            counts[Status.EXPIRED.value] += 1
            continue
        state = request.deadline.state(today)
        counts[state.value] += 1
        if state is not request.deadline_state:
            _save_quietly(
                requests, request, replace(request, deadline_state=state, version=request.version + 1)
            )
    return counts


def _save_quietly(requests: RequestStore, old: DsarRequest, new: DsarRequest) -> None:
    with contextlib.suppress(Conflict):  # changed meanwhile (staff acted): tomorrow's run sees it again
        requests.save(old, new)
