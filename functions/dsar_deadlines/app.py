"""Daily: flag open data-subject requests due within 7 days and overdue ones, and incidents whose
72 hours to notify the supervisory authority ran out (status + metrics)."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring, wiring_privacy
from callproof.dsar.deadline_check import deadline_states
from callproof.dsar.deadlines import DeadlineState
from callproof.incidents.clock import authority_clocks
from callproof.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    counts = deadline_states(wiring.dsar_requests(), datetime.now(UTC))
    metrics.add_metric(name="DsarDueSoon", unit="Count", value=counts[DeadlineState.DUE_SOON])
    metrics.add_metric(name="DsarOverdue", unit="Count", value=counts[DeadlineState.OVERDUE])
    metrics.add_metric(name="DsarConfirmationsExpired", unit="Count", value=counts["expired"])
    logger.info("dsar deadline check", extra=counts)
    incidents = authority_clocks(wiring_privacy.incident_store(), datetime.now(UTC))
    metrics.add_metric(name="IncidentsAwaitingAuthority", unit="Count", value=incidents["awaiting_authority"])
    metrics.add_metric(name="IncidentsAuthorityOverdue", unit="Count", value=incidents["overdue"])
    logger.info("incident clock check", extra=incidents)
    return counts | {f"incidents_{name}": value for name, value in incidents.items()}


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
