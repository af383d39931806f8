"""Issue 17, points 1-3 on moto: one message once per org in MailTable and S3 (two reps, one thread),
the list's key ranges, filters and cursors, thread view, purges that keep the other mailbox's copy,
DSAR export and erasure of the shared message, and mail stored in the old layout still working."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from callproof import aws
from callproof.dsar.model import Subject
from callproof.errors import InvalidInput
from callproof.mail.labels import purge_copies
from callproof.mail.model import EmailQuery, Integration, IntegrationStatus, object_key
from callproof.mail.reading import MailReader
from callproof.mail.sync import MailSync
from callproof.oauth.model import GMAIL_READONLY, OAuthToken
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.mail_personal_data import MailData
from callproof.tenancy import Caller, Role
from callproof_local.template import Physical
from tests.gmail_fakes import FakeGmail, FakeIntegrations, FakeMatcher, FakeOAuth, FakeQueue, FakeVault
from tests.unit.mail.test_mail_messages import CONFIG, eml

ORG = "org-a"
ANN = Caller(ORG, "rep-ann", frozenset({Role.REP}))
CONTACTS = {"ada@customer.example": "c-ada", "bob@customer.example": "c-bob"}
DAY = 86_400_000


class Org:
    def __init__(self, aws_stack: dict[str, Physical]) -> None:
        self.table, self.bucket = aws_stack["MailTable"].ref, aws_stack["DataBucket"].ref
        self.index = DynamoMailIndex(aws.dynamodb(), self.table)
        self.blobs = S3MailBlobs(aws.s3(), self.bucket)
        self.integrations = FakeIntegrations()
        self.boxes: dict[str, FakeGmail] = {}
        for user in ("rep-ann", "rep-ben"):
            address = f"{user.removeprefix('rep-')}@callproof.test"
            self.boxes[user] = FakeGmail(address=address)
            token = OAuthToken("access", "refresh", 1e12, (GMAIL_READONLY,))
            integration = Integration(ORG, user, address, IntegrationStatus.ACTIVE, 100, 4 * 10**12, "t")
            self.integrations.connect(integration, FakeVault().seal(token, ORG, user, "gmail"))
        self.reader = MailReader(self.index, self.blobs, FakeMatcher(CONTACTS))  # type: ignore[arg-type]
        self.dsar = MailData(aws.dynamodb(), self.table, self.index, self.blobs)

    def deliver(self, user: str, raw: bytes, date: int, labels: tuple[str, ...] = ("INBOX",)) -> None:
        self.boxes[user].add(raw, labels).internal_date = date

    def sync(self, user: str) -> Any:
        return MailSync(
            self.integrations,  # type: ignore[arg-type]
            self.index,
            self.blobs,
            FakeMatcher(CONTACTS),
            FakeOAuth(),
            FakeVault(),
            self.boxes[user].api,
            FakeQueue(),
            CONFIG,
        ).sync(ORG, user)

    def items(self, prefix: str = "") -> list[str]:
        response = boto3.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{ORG}"}},
        )
        return [i["sk"]["S"] for i in response["Items"] if i["sk"]["S"].startswith(prefix)]

    def versions(self) -> int:
        page = boto3.client("s3").list_object_versions(Bucket=self.bucket, Prefix=f"orgs/{ORG}/mail/")
        return len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))

    def subjects_ids(self) -> list[str]:
        return [e.email_id for e in self.reader.search(ANN, EmailQuery(), 50, None).emails]

    def subjects(self, query: EmailQuery, limit: int = 50) -> list[str]:
        return [e.subject for e in self.reader.search(ANN, query, limit, None).emails]


@pytest.fixture
def org(aws_stack: dict[str, Physical]) -> Org:
    return Org(aws_stack)


def two_reps_one_thread(org: Org) -> None:
    both = "ann@callproof.test, ben@callproof.test"
    for user in ("rep-ann", "rep-ben"):
        org.deliver(user, eml("ada@customer.example", both, "Quote", "<q1@x>"), 10 * DAY + 5)
    reply = eml("ben@callproof.test", "ada@customer.example", "Re: Quote", "<q2@x>", reply_to="<q1@x>")
    org.deliver("rep-ben", reply, 11 * DAY, ("SENT",))
    org.deliver("rep-ann", eml("bob@customer.example", "ann@callproof.test", "Invoice", "<i1@x>"), 12 * DAY)
    assert org.sync("rep-ann").stored == 2
    result = org.sync("rep-ben")
    assert (result.stored, result.linked) == (1, 1)


def test_two_reps_one_thread_is_stored_once_listed_once_and_read_as_one_thread(org: Org) -> None:
    two_reps_one_thread(org)
    assert org.versions() == 3  # three messages, one body each
    timeline = org.reader.search(ANN, EmailQuery(contact_id="c-ada"), 50, None).emails
    assert [(e.subject, e.mailboxes) for e in timeline] == [
        ("Re: Quote", ("rep-ben",)),
        ("Quote", ("rep-ann", "rep-ben")),
    ]
    assert org.subjects(EmailQuery()) == ["Invoice", "Re: Quote", "Quote"]  # newest first
    assert org.subjects(EmailQuery(mailbox="rep-ben")) == ["Re: Quote", "Quote"]
    assert org.subjects(EmailQuery(mailbox="rep-ben", contact_id="c-bob")) == []
    assert org.subjects(EmailQuery(sender="bob@customer.example")) == ["Invoice"]
    assert org.subjects(EmailQuery(recipient="ada@customer.example")) == ["Re: Quote"]
    assert org.subjects(EmailQuery(subject="quote")) == ["Re: Quote", "Quote"]
    assert org.subjects(EmailQuery(after=11 * DAY, before=12 * DAY)) == ["Re: Quote"]
    thread = org.reader.thread(ANN, timeline[0].thread_id)
    assert [(r.subject, d["subject"]) for r, d in thread] == [("Quote", "Quote"), ("Re: Quote", "Re: Quote")]
    stranger = Caller("org-b", "rep-x", frozenset({Role.REP}))
    assert org.reader.search(stranger, EmailQuery(), 50, None).emails == []


def test_cursor_pages_filtered_or_not_and_a_cursor_is_bound_to_its_query(org: Org) -> None:
    two_reps_one_thread(org)
    for query in (EmailQuery(), EmailQuery(subject="quote"), EmailQuery(contact_id="c-ada")):
        seen, cursor = [], None
        while True:
            page = org.reader.search(ANN, query, 1, cursor)
            seen += [e.subject for e in page.emails]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == org.subjects(query)
    cursor = org.reader.search(ANN, EmailQuery(), 1, None).next_cursor
    with pytest.raises(InvalidInput):  # a cursor of the org list used for a contact's timeline
        org.reader.search(ANN, EmailQuery(contact_id="c-ada"), 1, cursor)
    with pytest.raises(InvalidInput):  # outside the date range asked for
        org.reader.search(ANN, EmailQuery(before=11 * DAY), 1, cursor)
    other = Caller("org-b", "rep-x", frozenset({Role.REP}))
    with pytest.raises(InvalidInput):  # another org's partition
        org.reader.search(other, EmailQuery(), 1, cursor)


def test_purging_one_mailbox_keeps_the_shared_message_and_erasure_removes_the_one_body(org: Org) -> None:
    two_reps_one_thread(org)
    ada = Subject(ORG, emails=frozenset({"ada@customer.example"}), contact_ids=frozenset({"c-ada"}))
    rows = list(org.dsar.rows(ada))
    assert sorted(str(r["subject"]) for r in rows) == ["Quote", "Re: Quote"]  # the shared one once
    assert len(dict(org.dsar.files(ada))) == 2
    assert purge_copies(org.index, org.blobs, ORG, "rep-ben", lambda _: True) == (
        2,
        1,
    )  # the reply was Ben's only
    assert [e.mailboxes for e in org.reader.search(ANN, EmailQuery(contact_id="c-ada"), 50, None).emails] == [
        ("rep-ann",)
    ]
    assert org.versions() == 2  # Ann's two bodies; every version of the reply's is gone
    org.sync("rep-ben")  # Ben's mailbox syncs again from its cursor: nothing comes back
    result = org.dsar.erase(ada)
    assert result.deleted > 0
    assert org.dsar.residue(ada) == 0
    assert org.subjects(EmailQuery()) == ["Invoice"]
    assert org.items("MBOX#rep-ann#") == [f"MBOX#rep-ann#{org.boxes['rep-ann'].messages[1].gmail_id}"]
    assert len([sk for sk in org.items() if "ODATE#" in sk or "THREAD#" in sk or "MSG#" in sk]) == 3


def test_erasing_the_contact_of_a_shared_message_removes_every_mailbox_copy(org: Org) -> None:
    two_reps_one_thread(org)
    ada = Subject(ORG, contact_ids=frozenset({"c-ada"}))
    org.dsar.erase(ada)
    kinds = sorted(sk.split("#")[0] for sk in org.items())
    assert kinds == ["CMAIL", "MBOX", "MDATE", "MSG", "ODATE", "THREAD"]  # Bob's invoice, nothing else
    assert org.items("CMAIL#") == [f"CMAIL#c-bob#{12 * DAY:013d}#{org.subjects_ids()[0]}"]
    assert org.versions() == 1


def test_mail_stored_in_the_old_layout_keeps_working(org: Org) -> None:
    """Before issue 17 a message was stored per mailbox: ``EMAIL#<user>.<gmail id>`` with its own body
    and ``CMAIL#`` links carrying the summary. Read by id and on the timeline, never synced again,
    purged with its mailbox, exported and erased."""
    box = org.boxes["rep-ann"]
    box.add(eml("ada@customer.example", "ann@callproof.test", "Old quote", "<old@x>"))
    gid = box.messages[0].gmail_id
    key = object_key(ORG, "rep-ann", gid)
    org.blobs.put(
        key, json.dumps({"headers": [["Subject", "Old quote"]], "subject": "Old quote", "text": "t"}).encode()
    )
    summary = {
        "email_id": {"S": f"rep-ann.{gid}"},
        "user_id": {"S": "rep-ann"},
        "gmail_id": {"S": gid},
        "thread_id": {"S": gid},
        "internal_date": {"N": str(5 * DAY)},
        "subject": {"S": "Old quote"},
        "sender": {"S": "ada@customer.example"},
        "contact_ids": {"L": [{"S": "c-ada"}]},
        "object_key": {"S": key},
        "attachments": {"L": []},
    }
    client = boto3.client("dynamodb")
    pk = {"S": f"ORG#{ORG}"}
    client.put_item(TableName=org.table, Item={"pk": pk, "sk": {"S": f"EMAIL#rep-ann.{gid}"}, **summary})
    link = f"CMAIL#c-ada#{5 * DAY:013d}#rep-ann.{gid}"
    client.put_item(TableName=org.table, Item={"pk": pk, "sk": {"S": link}, **summary})
    assert org.sync("rep-ann").stored == 0  # already stored (old layout): not again
    record, document = org.reader.email(ANN, f"rep-ann.{gid}")
    assert (record.mailboxes, document["subject"]) == (("rep-ann",), "Old quote")
    timeline = org.reader.search(ANN, EmailQuery(contact_id="c-ada"), 50, None).emails
    assert [e.subject for e in timeline] == ["Old quote"]
    ada = Subject(ORG, contact_ids=frozenset({"c-ada"}))
    assert [r["subject"] for r in org.dsar.rows(ada)] == ["Old quote"]
    assert purge_copies(org.index, org.blobs, ORG, "rep-ann", lambda _: True) == (1, 1)
    assert org.items() == []
    assert org.versions() == 0
