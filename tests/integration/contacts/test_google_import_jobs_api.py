"""Google Contacts imports as jobs on moto through the template's functions (issue 14, point 3): the
Gmail API answers 202 with a job, the import worker (ContactImportFunction) reads the People API (the
local Google double) page by page, `GET /v1/contacts/imports/{id}` follows it, a crashed run resumes
from its last page with nothing created twice, and another org never sees the job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from callproof.integrations import google_people
from callproof.store.import_jobs_dynamo import DynamoImportJobStore, import_key
from callproof_local.google_double import GoogleDouble
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.contacts.test_contact_import_jobs_api import get, messages, work
from tests.integration.mail.test_gmail_api import DEFAULT_MAILBOX, connect, google, person
from tests.support import api_event

__all__ = ["google"]  # the Google double fixture


@pytest.fixture
def small_pages(google: GoogleDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(google_people, "PAGE_SIZE", 10)  # several pages from a few people


def post(call: Invoke, **who: Any) -> tuple[int, Any]:
    return call("GmailFunction", api_event("POST", "/v1/contacts/imports/google", **who))


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [person(f"Person {i}", f"p{i}@example.com") for i in range(start, start + count)]


def count_contacts(call: Invoke) -> int:
    total, cursor = 0, None
    while True:
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        _, page = call("ContactsFunction", api_event("GET", "/v1/contacts", query=query))
        total += len(page["items"])
        if not (cursor := page["next_cursor"]):
            return total


def test_the_post_answers_a_job_the_worker_runs_page_by_page(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, small_pages: None
) -> None:
    status, body = post(call)
    assert (status, body["error"]["code"]) == (409, "google_scope_missing")  # checked before queueing
    assert list(messages(aws_stack)) == []
    connect(call, contacts=True)
    google.add_people(DEFAULT_MAILBOX, [*people(24), {"names": [{"displayName": ""}]}])  # the last: no name
    status, job = post(call)
    assert status == 202, job
    assert (job["source"], job["status"], job["rows_done"], job["full_sync"]) == (
        "google",
        "running",
        0,
        True,
    )
    status, again = post(call)  # while it runs: the same job, never a second one
    assert (status, again["import_id"]) == (202, job["import_id"])
    status, other = post(call, org="org-b")  # another org's member has no grant there
    assert (status, other["error"]["code"]) == (409, "google_scope_missing")
    # Two messages (the second POST queued the job again before any run took it): one run imports,
    # the other finds the job done.
    assert work(call, aws_stack) == [{"batchItemFailures": []}] * 2
    status, done = get(call, job["import_id"])
    assert status == 200
    assert (done["status"], done["rows_done"], done["errors"], done["full_sync"]) == ("done", 25, 1, True)
    assert done["counts"] == {"created": 24, "updated": 0, "duplicate": 0, "rejected": 1, "suppressed": 0}
    assert count_contacts(call) == 24
    errors = boto3.client("s3").get_object(
        Bucket=aws_stack["DataBucket"].ref, Key=f"orgs/org-a/imports/{job['import_id']}-errors.csv"
    )
    assert errors["Body"].read().decode().splitlines()[0] == "line,status,field,reason"
    assert done["errors_url"]
    status, hidden = get(call, job["import_id"], org="org-b")  # another org: 404, never the job
    assert (status, hidden["error"]["code"]) == (404, "not_found")
    status, csv_start = call(
        "ContactsFunction", api_event("POST", f"/v1/contacts/imports/{job['import_id']}/start")
    )
    assert status == 409, csv_start  # not an uploaded file's job
    # The next import reads only what changed; it is a new job, the last one being done.
    google.add_people(DEFAULT_MAILBOX, people(1, start=24))
    status, second = post(call)
    assert (status, second["full_sync"]) == (202, False)
    assert second["import_id"] != job["import_id"]
    assert work(call, aws_stack) == [{"batchItemFailures": []}]
    _, second = get(call, second["import_id"])
    assert (second["status"], second["rows_done"], second["counts"]["created"]) == ("done", 1, 1)


def test_a_crashed_run_resumes_from_its_last_page_and_creates_nothing_twice(
    call: Invoke,
    aws_stack: dict[str, Physical],
    google: GoogleDouble,
    small_pages: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connect(call, contacts=True)
    google.add_people(DEFAULT_MAILBOX, people(35))
    _, job = post(call)
    saves = {"n": 0}
    save = DynamoImportJobStore.save

    def dies_at_the_third_page(self: DynamoImportJobStore, job: Any, held: str | None) -> bool:
        saves["n"] += 1
        if saves["n"] >= 4:  # the claim and two pages went through; the process dies now
            raise MemoryError("killed")
        return save(self, job, held)

    monkeypatch.setattr(DynamoImportJobStore, "save", dies_at_the_third_page)
    (record,) = list(messages(aws_stack))
    assert json.loads(record["body"])["source"] == "google"  # the message names the kind of job
    with pytest.raises(BatchProcessingError):  # the whole batch failed: Lambda will deliver it again
        call.raw("ContactImportFunction", {"Records": [record]})  # type: ignore[attr-defined]
    monkeypatch.setattr(DynamoImportJobStore, "save", save)
    _, running = get(call, job["import_id"])
    assert (running["status"], running["rows_done"]) == ("running", 20)
    assert count_contacts(call) == 30  # the third page's contacts were stored, its checkpoint not
    # The same message comes back; the lease holds until the dead run's time is out, then it resumes.
    assert call.raw("ContactImportFunction", {"Records": [record]}) == {"batchItemFailures": []}  # type: ignore[attr-defined]
    assert get(call, job["import_id"])[1]["rows_done"] == 20
    table, key = aws_stack["ContactsTable"].ref, import_key("org-a", job["import_id"])
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )
    assert call.raw("ContactImportFunction", {"Records": [record]}) == {"batchItemFailures": []}  # type: ignore[attr-defined]
    _, done = get(call, job["import_id"])
    assert (done["status"], done["rows_done"]) == ("done", 35)
    # The third page ran twice: its people are duplicates the second time, no contact exists twice.
    assert done["counts"] == {"created": 25, "updated": 0, "duplicate": 10, "rejected": 0, "suppressed": 0}
    assert count_contacts(call) == 35


def test_the_current_job_changes_only_from_the_job_it_was_read_as(aws_stack: dict[str, Physical]) -> None:
    """Two POSTs racing: the pointer and the job are one transaction, conditional on the pointer read."""
    from callproof import aws
    from callproof.contacts.model import ImportJob, ImportSource, ImportStatus

    store = DynamoImportJobStore(aws.dynamodb(), aws_stack["ContactsTable"].ref)
    now = datetime.now(UTC).replace(microsecond=0)

    def job(import_id: str) -> ImportJob:
        return ImportJob(
            "org-a", import_id, "rep-1", ImportStatus.RUNNING, now, now, now + timedelta(days=30),
            lease_token="t", source=ImportSource.GOOGLE, sync_from="sync.4",
        )  # fmt: skip

    assert store.current("org-a", "rep-1", ImportSource.GOOGLE) is None
    assert store.create_current(job("a" * 23), None) is True
    assert store.create_current(job("b" * 23), None) is False  # another POST made "a" current first
    assert store.get("org-a", "b" * 23) is None  # and nothing of the loser was written
    assert store.create_current(job("c" * 23), "a" * 23) is True
    assert store.create_current(job("d" * 23), "a" * 23) is False  # read "a", but "c" is current now
    assert store.get("org-a", "d" * 23) is None
    assert store.current("org-a", "rep-1", ImportSource.GOOGLE) == "c" * 23
    assert store.current("org-a", "rep-2", ImportSource.GOOGLE) is None  # per user
    assert store.current("org-b", "rep-1", ImportSource.GOOGLE) is None  # per org
    stored = store.get("org-a", "c" * 23)
    assert stored is not None
    assert (stored.source, stored.sync_from, stored.pages_done) == (ImportSource.GOOGLE, "sync.4", False)
