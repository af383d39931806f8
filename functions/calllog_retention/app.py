"""Daily sweep: delete call logs older than each org's retention period (default 24 months). Thin."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service, orgs = wiring.call_logs()
    deleted = service.enforce_retention(orgs)
    total = sum(deleted.values())
    metrics.add_metric(name="CallLogsExpired", unit="Count", value=total)
    logger.info("call-log retention sweep", extra={"orgs": len(deleted), "deleted": total})
    return {"deleted": total, "orgs": len(deleted)}
