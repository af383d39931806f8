"""Large CSV imports on moto through the template's functions: presigned upload, start, the queue
worker (ContactImportFunction) in chunks, progress, rejected rows as a CSV, resume after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from callproof.contacts import jobs
from callproof.store.import_jobs_dynamo import DynamoImportJobStore, import_key
from callproof_local.pollers import sqs_record
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event


def people_csv(count: int, start: int = 0) -> str:
    rows = "".join(f"Person {i},p{i}@example.com,+1 202 555 {i:04d}\n" for i in range(start, start + count))
    return "name,email,phone\n" + rows


def upload(call: Invoke, text: str, **who: Any) -> str:
    status, created = call("ContactsFunction", api_event("POST", "/v1/contacts/imports/uploads", **who))
    assert status == 201, created
    assert created["status"] == "awaiting_upload"
    form = created["upload"]
    assert form["fields"]["key"] == f"orgs/{who.get('org', 'org-a')}/imports/{created['import_id']}.csv"
    response = requests.post(
        form["url"], data=form["fields"], files={"file": ("people.csv", text.encode())}, timeout=30
    )
    assert response.status_code in (200, 204), response.text
    return str(created["import_id"])


def start(call: Invoke, import_id: str, **who: Any) -> tuple[int, Any]:
    return call("ContactsFunction", api_event("POST", f"/v1/contacts/imports/{import_id}/start", **who))


def get(call: Invoke, import_id: str, **who: Any) -> tuple[int, Any]:
    return call("ContactsFunction", api_event("GET", f"/v1/contacts/imports/{import_id}", **who))


def messages(aws_stack: dict[str, Physical]) -> Iterator[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = aws_stack["ContactImportQueue"].ref
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    while found := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=found[0]["ReceiptHandle"])
        yield sqs_record(found[0], arn)


def work(call: Invoke, aws_stack: dict[str, Physical]) -> list[dict[str, Any]]:
    """Deliver the queued runs to the worker as Lambda would, until none is left."""
    return [call.raw("ContactImportFunction", {"Records": [record]}) for record in messages(aws_stack)]  # type: ignore[attr-defined]


@pytest.fixture
def small_chunks(aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "CHUNK_ROWS", 100)  # several chunks from a file moto imports in seconds


def test_upload_start_work_and_follow_an_import(
    call: Invoke, aws_stack: dict[str, Physical], small_chunks: None
) -> None:
    text = people_csv(250) + "Bad phone,bad@x.io,12\n" + people_csv(50)[len("name,email,phone\n") :]
    import_id = upload(call, text)
    status, job = get(call, import_id)
    assert (status, job["status"], job["rows_done"]) == (200, "awaiting_upload", 0)
    status, job = start(call, import_id)
    assert (status, job["status"]) == (202, "running")
    assert start(call, import_id)[0] == 202  # again before a run took it: queued again, the lease decides
    results = work(call, aws_stack)
    assert results == [{"batchItemFailures": []}] * 2
    status, job = get(call, import_id)
    assert status == 200
    assert (job["status"], job["rows_done"], job["errors"]) == ("done", 301, 1)
    assert job["counts"] == {"created": 250, "updated": 0, "duplicate": 50, "rejected": 1, "suppressed": 0}
    errors = requests.get(job["errors_url"], timeout=30)
    assert errors.text.splitlines() == [
        "line,status,field,reason",
        "252,rejected,phones[0],invalid phone number: too short",
    ]
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=aws_stack["DataBucket"].ref, Prefix="orgs/org-a/imports/")
    assert [o["Key"] for o in listed["Contents"]] == [f"orgs/org-a/imports/{import_id}-errors.csv"]
    lookup = {"emails": ["p249@example.com"], "phones": []}
    _, found = call("ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup))
    assert [c["name"] for c in found["emails"]["p249@example.com"]] == ["Person 249"]


def test_a_crashed_worker_resumes_from_its_checkpoint_and_imports_no_row_twice(
    call: Invoke, aws_stack: dict[str, Physical], small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = upload(call, people_csv(450))
    start(call, import_id)
    saves = {"n": 0}
    save = DynamoImportJobStore.save

    def dies_at_the_third_checkpoint(self: DynamoImportJobStore, job: Any, held: str | None) -> bool:
        saves["n"] += 1
        if saves["n"] >= 4:  # the claim and two chunks went through; the process dies now
            raise MemoryError("killed")
        return save(self, job, held)

    monkeypatch.setattr(DynamoImportJobStore, "save", dies_at_the_third_checkpoint)
    (record,) = list(messages(aws_stack))
    with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda will deliver it again
        call.raw("ContactImportFunction", {"Records": [record]})  # type: ignore[attr-defined]
    monkeypatch.setattr(DynamoImportJobStore, "save", save)
    _, job = get(call, import_id)
    assert (job["status"], job["rows_done"]) == ("running", 200)
    # The same message comes back; the lease holds until the dead run's time is out, then it resumes.
    assert call.raw("ContactImportFunction", {"Records": [record]}) == {"batchItemFailures": []}  # type: ignore[attr-defined]
    assert get(call, import_id)[1]["rows_done"] == 200
    table, key = aws_stack["ContactsTable"].ref, import_key("org-a", import_id)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )
    assert call.raw("ContactImportFunction", {"Records": [record]}) == {"batchItemFailures": []}  # type: ignore[attr-defined]
    _, job = get(call, import_id)
    assert (job["status"], job["rows_done"]) == ("done", 450)
    # The third chunk ran twice: its rows are duplicates the second time, no contact exists twice.
    assert job["counts"] == {"created": 350, "updated": 0, "duplicate": 100, "rejected": 0, "suppressed": 0}
    contacts, cursor = 0, None
    while True:
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        _, page = call("ContactsFunction", api_event("GET", "/v1/contacts", query=query))
        contacts += len(page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert contacts == 450


def test_another_orgs_import_is_not_found_and_roles_apply(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    import_id = upload(call, people_csv(3))
    assert get(call, import_id, org="org-b")[0] == 404
    assert start(call, import_id, org="org-b")[0] == 404
    assert start(call, import_id, roles="compliance")[0] == 403
    assert get(call, "0000", roles="rep")[0] == 404
    status, error = start(call, upload.__name__ and "nope")
    assert status == 404, error


def test_start_before_the_upload_is_a_conflict(call: Invoke, aws_stack: dict[str, Physical]) -> None:
    status, created = call("ContactsFunction", api_event("POST", "/v1/contacts/imports/uploads"))
    status, error = start(call, created["import_id"])
    assert (status, error["error"]["code"]) == (409, "conflict")


def test_a_synchronous_import_over_1000_rows_is_sent_to_the_upload_route(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    event = api_event("POST", "/v1/contacts/imports", body=people_csv(1001), content_type="text/csv")
    status, error = call("ContactsFunction", event)
    assert (status, error["error"]["code"]) == (413, "payload_too_large")
    assert "/v1/contacts/imports/uploads" in error["error"]["message"]
    _, listed = call("ContactsFunction", api_event("GET", "/v1/contacts"))
    assert listed["items"] == []
