"""Contact import worker (ContactImportQueue): one record = one run of an import job, from the job's
checkpoint, in chunks (a CSV file's rows, or Google Contacts' People API pages), until the source
ends or the run's time is nearly out (then a message continues it). The message names the kind of
job, so a CSV run never loads Google's client. A failed record is reported back (partial batch
response), retried, then dead-lettered."""

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
from callproof.contacts.model import ImportSource
from callproof.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


def run(record: SQSRecord, lambda_context: LambdaContext) -> None:
    try:
        job = json.loads(record.body)
        org_id, import_id, token = str(job["org_id"]), str(job["import_id"]), str(job["token"])
        source = ImportSource(job.get("source", ImportSource.CSV.value))
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("malformed import message dropped", extra={"message_id": record.message_id})
        return
    jobs = wiring.google_imports() if source is ImportSource.GOOGLE else wiring.contact_imports()
    result = jobs.run(org_id, import_id, token, lambda: lambda_context.get_remaining_time_in_millis() / 1000)
    logger.info(
        "contacts import run",
        extra={
            "org_id": org_id,
            "import_id": import_id,
            "source": source.value,
            "outcome": result.outcome.value,
            "rows": result.rows,
        },
    )
    metrics.add_metric(name="ContactsImportRows", unit="Count", value=result.rows)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=run, processor=processor, context=context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
