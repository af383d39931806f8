"""Gmail sync worker (GmailSyncQueue): one record = one mailbox to bring up to date from its stored
cursor. A failed record is reported back (partial batch response), retried, then dead-lettered."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def sync(record: SQSRecord) -> None:
    try:
        job = json.loads(record.body)
        org_id, user_id = str(job["org_id"]), str(job["user_id"])
    except (ValueError, KeyError, TypeError):
        logger.warning("malformed sync job dropped", extra={"message_id": record.message_id})
        return
    result = wiring.gmail()[1].sync(org_id, user_id)
    logger.info(
        "gmail sync",
        extra={
            "org_id": org_id,
            "listed": result.listed,
            "matched": result.matched,
            "stored": result.stored,
            "full_sync": result.full_sync,
            "cursor_moved": result.cursor_moved,
            "skipped": result.skipped,
        },
    )
    metrics.add_metric(name="GmailMessagesStored", unit="Count", value=result.stored)
    if result.full_sync:
        metrics.add_metric(name="GmailFullSyncs", unit="Count", value=1)
    if result.skipped == "disconnected":
        metrics.add_metric(name="GmailDisconnected", unit="Count", value=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=sync, processor=processor, context=context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
