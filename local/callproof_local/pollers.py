"""Event source mappings, locally: DynamoDB stream and SQS events of the template feed their handlers.

moto stores stream records and queue messages but never delivers them to Lambda, so one thread per
``DynamoDB`` / ``SQS`` event polls and invokes the handler with Lambda's event shapes. An idle poller
sleeps until moto is asked to change something (``MotoActivity``, fed by the moto server's app) or
``IDLE_SECONDS`` pass, so an idle stack costs almost no CPU and a write is picked up at once. A stream
event's ``FilterCriteria`` drop the records that match none of its patterns before the handler sees
them, as Lambda does (with moto's EventBridge pattern matcher; the SQS events have no filters). Kept simple:
a failing stream batch is retried twice and then skipped (with its traceback); a failing SQS batch is
left on the queue (visibility timeout and the queue's redrive policy apply), and with
``ReportBatchItemFailures`` only the messages the handler did not report are deleted.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto.events.models import EventPattern

from callproof_local.invoke import invoke
from callproof_local.model import Function, StreamEvent
from callproof_local.provision import aws_session
from callproof_local.template import REGION

Invoker = Callable[[Function, Any], Any]
IDLE_SECONDS = 2.0  # the longest an idle poller sleeps without being woken
# Requests that change nothing a poller reads (every poller's own calls among them): no wake-up.
_READS = frozenset({
    "GetRecords", "GetShardIterator", "DescribeStream", "ListStreams", "ReceiveMessage", "GetQueueUrl",
    "GetQueueAttributes", "GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable",
})  # fmt: skip


class MotoActivity:
    """A counter of the requests that may have changed moto's state; pollers wait for it to move."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def bump(self) -> None:
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._generation != seen, timeout)

    def wsgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """``app`` (the moto server's) bumping the counter after each request that may write."""

        def waking(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            try:
                return app(environ, start_response)
            finally:
                if not _read_only(environ):
                    self.bump()

        return waking


def _read_only(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
        return True
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))  # JSON protocols: "<Service>.<Operation>"
    return target.rpartition(".")[2] in _READS


STREAM_ATTEMPTS = 3


def stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams record as Lambda delivers it (times as epoch seconds, source ARN added)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn, "awsRegion": REGION}


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as Lambda delivers it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "dataType": value["DataType"],
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def matching(records: list[dict[str, Any]], patterns: list[EventPattern]) -> list[dict[str, Any]]:
    """The records an event's ``FilterCriteria`` let through: all without patterns, else those matching one."""
    if not patterns:
        return records
    return [r for r in records if any(p.matches_event(r) for p in patterns)]  # type: ignore[arg-type]


def failed_message_ids(result: Any) -> set[str]:
    """Message ids named in a ``{"batchItemFailures": [{"itemIdentifier": ...}]}`` response."""
    if not isinstance(result, dict):
        return set()
    return {str(item["itemIdentifier"]) for item in result.get("batchItemFailures") or []}


class Poller:
    """One polling thread for one stream or queue event of one function."""

    def __init__(
        self,
        function: Function,
        source: StreamEvent,
        endpoint: str,
        invoker: Invoker = invoke,
        activity: MotoActivity | None = None,
    ) -> None:
        self.function = function
        self.source = source
        self._endpoint = endpoint
        self._invoker = invoker
        self._activity = activity or MotoActivity()
        self._patterns = [EventPattern.load(pattern) for pattern in source.filters]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poll-{source.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._activity.bump()  # wakes the idle wait
        self._thread.join(timeout=5)

    def _idle(self, seen: int) -> None:
        """Sleep until moto changed since ``seen`` (the poll just made may have missed it) or a while."""
        self._activity.wait_past(seen, IDLE_SECONDS)

    def _run(self) -> None:
        poll = self._poll_stream if self.source.kind == "DynamoDB" else self._poll_queue
        try:
            poll()
        except Exception:  # report, the rest of the stack keeps running
            if not self._stop.is_set():
                print(f"poller {self.source.name} stopped:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)

    def _poll_stream(self) -> None:
        client: Any = aws_session().client("dynamodbstreams", endpoint_url=self._endpoint)
        arn = self.source.source_arn
        shard = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType=self.source.starting_position
        )["ShardIterator"]
        while not self._stop.is_set():
            seen = self._activity.generation
            response = client.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
            records = response["Records"]
            wanted = matching([stream_record(record, arn) for record in records], self._patterns)
            if wanted:
                self._deliver_stream(wanted)
            iterator = response["NextShardIterator"]
            if not records:
                self._idle(seen)

    def _deliver_stream(self, records: list[dict[str, Any]]) -> None:
        for attempt in range(1, STREAM_ATTEMPTS + 1):
            try:
                self._invoker(self.function, {"Records": records})
                return
            except Exception:
                print(f"{self.source.name}: stream batch failed (attempt {attempt})", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
        print(f"{self.source.name}: skipping {len(records)} stream records after {STREAM_ATTEMPTS} attempts",
              file=sys.stderr)  # fmt: skip

    def _poll_queue(self) -> None:
        client = aws_session().client("sqs", endpoint_url=self._endpoint)
        url = client.get_queue_url(QueueName=self.source.source_arn.rsplit(":", 1)[1])["QueueUrl"]
        while not self._stop.is_set():
            seen = self._activity.generation
            messages = client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(self.source.batch_size, 10),
                WaitTimeSeconds=0,  # short polls keep stop() prompt
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                self._idle(seen)
                continue
            event = {"Records": [sqs_record(dict(message), self.source.source_arn) for message in messages]}
            try:
                result = self._invoker(self.function, event)
            except Exception:  # the whole batch returns to the queue
                print(f"{self.source.name}: SQS batch failed", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                continue
            failed = failed_message_ids(result) if self.source.report_batch_item_failures else set()
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )


def pollers_for(
    functions: Iterable[Function], endpoint: str, activity: MotoActivity | None = None
) -> list[Poller]:
    return [
        Poller(function, source, endpoint, activity=activity)
        for function in functions
        for source in function.streams
    ]
