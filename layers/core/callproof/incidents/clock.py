"""The daily check of the incidents' 72-hour clocks, run beside the DSAR deadline check by
``functions/dsar_deadlines`` (the same daily schedule): an incident whose 72 hours ran out without the
authority's notification becomes ``overdue``."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.errors import Conflict
from callproof.incidents.model import AWAITING_AUTHORITY, IncidentStatus

if TYPE_CHECKING:
    from callproof.incidents.ports import IncidentStore


def authority_clocks(incidents: IncidentStore, now: datetime) -> dict[str, int]:
    """How many incidents await the authority's notification, and how many of them are overdue
    (those still ``open`` are marked ``overdue``)."""
    counts = {"awaiting_authority": 0, "overdue": 0}
    for org_id, incident_id in incidents.awaiting_authority():
        incident = incidents.get(org_id, incident_id)
        if incident is None or incident.status not in AWAITING_AUTHORITY:
            continue
        counts["awaiting_authority"] += 1
        if incident.overdue(now):
            counts["overdue"] += 1
            if incident.status is IncidentStatus.OPEN:
                with contextlib.suppress(Conflict):  # staff acted meanwhile: tomorrow's run sees it
                    incidents.save(incident, incident.next_version(status=IncidentStatus.OVERDUE))
    return counts
