"""DynamoDB stream and SQS events of the fixture template reach the recorder handler."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.events.models import EventPattern

from callproof_local.pollers import MotoActivity, matching
from callproof_local.provision import declared_functions
from callproof_local.stack import LocalStack

Aws = Callable[[str], Any]
BUCKET = "callproof-local-filesbucket"


def _received(aws: Aws, source: str) -> list[dict[str, Any]]:
    s3 = aws("s3")
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"received/{source}/").get("Contents", [])
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()) for item in listing]


def _eventually(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_stream_records_reach_the_handler(stack: LocalStack, aws: Aws) -> None:
    aws("dynamodb").put_item(
        TableName="callproof-local-eventstable",
        Item={"pk": {"S": "org#1"}, "sk": {"S": "e#1"}, "n": {"N": "1"}},
    )
    batches = _eventually(lambda: _received(aws, "aws-dynamodb"))
    assert batches, "no stream batch delivered"
    record = batches[0]["Records"][0]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stack.physical["EventsTable"].attributes["StreamArn"]
    assert record["dynamodb"]["NewImage"]["n"] == {"N": "1"}
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "org#1"}, "sk": {"S": "e#1"}}


def test_sqs_batch_failures_are_kept_and_successes_deleted(stack: LocalStack, aws: Aws) -> None:
    sqs = aws("sqs")
    queue = stack.physical["JobsQueue"].ref
    sqs.send_message(
        QueueUrl=queue, MessageBody="ok", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    sqs.send_message(QueueUrl=queue, MessageBody="fail")
    records = _eventually(
        lambda: [r for b in _received(aws, "aws-sqs") for r in b["Records"] if r["body"] == "ok"]
    )
    assert records, "no SQS batch delivered"
    ok = records[0]
    assert ok["eventSource"] == "aws:sqs"
    assert ok["eventSourceARN"] == stack.physical["JobsQueue"].attributes["Arn"]
    assert ok["messageAttributes"]["k"]["stringValue"] == "v"
    assert {"messageId", "receiptHandle", "md5OfBody", "attributes"} <= set(ok)
    # "fail" is reported as a batch item failure: it stays, is retried, and lands in the DLQ
    dead_letters = stack.physical["JobsDeadLetterQueue"].ref

    def dead() -> list[str]:
        messages = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in messages]

    assert _eventually(dead) == ["fail"]
    oks = [r for b in _received(aws, "aws-sqs") for r in b["Records"] if r["body"] == "ok"]
    assert len(oks) == 1  # deleted after the first successful delivery


def test_idle_pollers_wake_on_a_request_that_may_write_and_not_on_reads() -> None:
    """The moto server's app counts the requests that may change state; a waiting poller wakes on the
    count moving (or after IDLE_SECONDS), so polls of an idle stack are rare and writes are seen at once."""
    activity = MotoActivity()
    app = activity.wsgi(lambda environ, start_response: [b"{}"])
    requests = [
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords"}, 0),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}, 0),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, 0),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"}, 0),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, 1),
        ({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, 1),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/key"}, 1),
    ]
    for environ, moves in requests:
        seen = activity.generation
        assert app(environ, lambda *args: None) == [b"{}"]
        assert activity.generation - seen == moves, environ

    seen = activity.generation
    woken = threading.Event()
    waiter = threading.Thread(target=lambda: (activity.wait_past(seen, 60), woken.set()))
    waiter.start()
    app({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}, lambda *args: None)
    waiter.join(timeout=30)
    assert woken.is_set()  # woken by the write, long before its 60 s would have passed


def test_a_stream_events_filter_criteria_drop_the_records_matching_none_of_its_patterns() -> None:
    """The template's CallRematch event takes contact items only (Lambda's FilterCriteria)."""
    [rematch] = [e for e in declared_functions()["CallRematchFunction"].streams if e.kind == "DynamoDB"]
    patterns = [EventPattern.load(pattern) for pattern in rematch.filters]
    records = [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "ORG#a"}, "sk": {"S": f"{sk}"}}}}
        for sk in ("CONTACT#c1", "LOOKUP", "JOB#j1", "SETTINGS", "CONTACT#c2")
    ]
    kept = matching(records, patterns)
    assert [r["dynamodb"]["Keys"]["sk"]["S"] for r in kept] == ["CONTACT#c1", "CONTACT#c2"]
    assert matching(records, []) == records  # no FilterCriteria: every record
