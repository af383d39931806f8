"""Re-match call logs when contacts gain or lose phone numbers (ContactsTable stream). Thin.

Each stream record is one contact change; a failed record is reported back (partial batch response)
so only it is retried, and after the retries it goes to the dead-letter queue: nothing is dropped.
"""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import wiring
from callproof.calls.service import numbers_to_rematch
from callproof.observability import logger, metrics, tracer
from callproof.store.contacts_dynamo import contact_from_image

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def rematch(record: DynamoDBRecord) -> int:
    change = record.raw_event.get("dynamodb", {})
    old, new = contact_from_image(change.get("OldImage")), contact_from_image(change.get("NewImage"))
    contact = new or old
    numbers = numbers_to_rematch(old, new)
    if contact is None or not numbers:
        return 0
    changed = wiring.call_logs()[0].rematch(contact.org_id, numbers)
    metrics.add_metric(name="CallLogsRematched", unit="Count", value=changed)
    return changed


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=rematch, processor=processor, context=context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
