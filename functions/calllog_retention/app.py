"""Daily retention purge: every store with a retention rule (``callproof.retention.model``), each org's
expired items page by page; counts per store as metrics and in each org's audit chain. Thin."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.observability import logger, metrics, tracer
from callproof.retention.service import totals


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    counts = wiring.retention().run()
    by_store = totals(counts)
    for store, deleted in by_store.items():
        metrics.add_metric(name=f"RetentionPurged_{store}", unit="Count", value=deleted)
    if "call_logs" in by_store:
        metrics.add_metric(name="CallLogsExpired", unit="Count", value=by_store["call_logs"])
    total = sum(by_store.values())
    logger.info("retention purge", extra={"orgs": len(counts), "deleted": total, "stores": by_store})
    return {"deleted": total, "orgs": len(counts), "stores": by_store}


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
