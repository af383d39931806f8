"""Hourly Gmail maintenance: renew each users.watch about daily (Google requires every 7 days), count
lapsed watches, and queue a fallback sync for mailboxes without a push for over an hour. Thin."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = wiring.gmail()[1].maintain()
    metrics.add_metric(name="GmailWatchesRenewed", unit="Count", value=result.renewed)
    metrics.add_metric(name="GmailWatchRenewalFailures", unit="Count", value=result.renewal_failures)
    metrics.add_metric(name="GmailWatchesLapsed", unit="Count", value=result.lapsed)
    metrics.add_metric(name="GmailFallbackSyncs", unit="Count", value=result.polled)
    logger.info("gmail maintenance", extra=asdict(result))
    return asdict(result)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
