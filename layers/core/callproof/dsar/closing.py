"""Requests closed before a closing removed the person's identifiers (ADR 0022): ``scrub_closed``
gives them the record every request now gets when it closes (``DsarRequest.closing``). A one-off run
per org (``callproof dsar scrub-closed``); it pages through the org's requests by due date (a Query of
the org's partition of the ByDue index: the ClosedByOrgTime index does not hold requests closed before
it existed), never Scans, and saving each one also puts it in ClosedByOrgTime for the retention purge.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.dsar.model import OPEN_STATUSES
from callproof.errors import Conflict

if TYPE_CHECKING:
    from callproof.dsar.ports import RequestStore

PAGE = 100


def scrub_closed(requests: RequestStore, org_id: str, now: datetime, page: int = PAGE) -> int:
    """Remove the identifiers of the org's closed requests that still hold them; how many changed.
    Idempotent: a request already scrubbed is left as it is; one that changed meanwhile (a versioned
    save that conflicts) is left for the next run."""
    scrubbed = 0
    cursor: str | None = None
    while True:
        found, cursor = requests.page(org_id, None, None, page, cursor)
        for request in found:
            if request.status in OPEN_STATUSES or request.identifiers_removed_at is not None:
                continue
            with contextlib.suppress(Conflict):
                requests.save(request, replace(request.closing(now), version=request.version + 1))
                scrubbed += 1
        if cursor is None:
            return scrubbed
