"""Daily: members removed longer ago than their org's grace period lose their Cognito user and account
data (profile, current consents, photo); the consent history is kept pseudonymised (ADR 0023)."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring_offboarding
from callproof.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    purged = wiring_offboarding.member_sweep().purge_due()
    metrics.add_metric(name="MembersPurged", unit="Count", value=purged.members)
    logger.info("member sweep", extra={"purged": purged.members, "skipped": purged.skipped})
    return {"purged": purged.members, "skipped": purged.skipped}


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
