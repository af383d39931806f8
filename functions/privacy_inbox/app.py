"""The privacy mailbox (SES receipt rule -> S3 -> this function): each message to the privacy address
becomes a privacy request, confirmed by the link emailed to its sender; mail that fails SPF, DKIM or
DMARC is held for staff and runs nothing (``callproof.dsar.intake``). Thin: read SES's receipt, call,
count. Logs name the outcome and a fixed reason, never an address or a subject."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SESEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring_privacy
from callproof.dsar.intake import Outcome, Receipt, Result, Verdicts
from callproof.observability import logger, metrics, tracer

METRICS = {outcome: f"PrivacyMail{outcome.value.capitalize()}" for outcome in Outcome}


def receipt(event: dict[str, Any]) -> Receipt:
    """SES's Lambda action event as our ``Receipt``; ``KeyError`` / ``ValueError`` when it is not one."""
    record = next(SESEvent(event).records)
    if record.event_source != "aws:ses":
        raise ValueError("not an SES event")
    ses = record.ses
    verdicts = ses.receipt
    return Receipt(
        message_id=ses.mail.message_id,
        received_at=datetime.fromisoformat(ses.receipt.timestamp),
        recipients=tuple(verdicts.recipients),
        verdicts=Verdicts(
            spf=verdicts.spf_verdict.status,
            dkim=verdicts.dkim_verdict.status,
            dmarc=verdicts.dmarc_verdict.status,
            spam=verdicts.spam_verdict.status,
            virus=verdicts.virus_verdict.status,
        ),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        received = receipt(event)
    except (KeyError, TypeError, ValueError, StopIteration):
        result = Result(Outcome.DROPPED, "not an SES receipt")
    else:
        result = wiring_privacy.privacy_inbox().receive(received)
    metrics.add_metric(name=METRICS[result.outcome], unit="Count", value=1)
    logger.info("privacy mail", extra={"outcome": result.outcome.value, "reason": result.reason})
    return {"outcome": result.outcome.value, "reason": result.reason, "request_id": result.request_id}


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
