"""The synced-mail store of personal data (callproof.store.mail_personal_data) on moto: rows, .eml files,
erasure of whole messages (every link, every S3 version), residue, and what it leaves alone."""

from __future__ import annotations

import base64
import json
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callproof import aws
from callproof.dsar.model import Subject
from callproof.dsar.ports import CollectsInRounds, ErasesInRounds, PersonalDataStore
from callproof.mail.model import Attachment, EmailRecord, email_id, object_key
from callproof.settings.dsar import DsarTaskSettings
from callproof.store import mail_personal_data
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.mail_personal_data import KEPT_MAILBOX
from callproof.wiring_personal_data import mail_data
from callproof_local.template import Physical

ORG, OTHER_ORG = "org-a", "org-b"
ADA = Subject(ORG, emails=frozenset({"ada@example.com"}), contact_ids=frozenset({"c-ada", "c-ada2"}))
BOB = Subject(ORG, emails=frozenset({"bob@example.com"}), contact_ids=frozenset({"c-bob"}))


def dsar_settings(aws_stack: dict[str, Physical], **extra: str) -> DsarTaskSettings:
    """The tasks' settings with only the stores under test deployed (the rest are placeholders)."""
    return DsarTaskSettings.model_validate(
        {
            "DSAR_TABLE": "unused-dsar-table",
            "EXPORTS_BUCKET": "unused-exports",
            "DATA_KEY_ID": aws_stack["DataKey"].ref,
            "DEFAULT_PHONE_REGION": "US",
            "SUPPRESSION_SECRET_ARN": "unused-secret",
            "DSAR_LINK_SECRET_ARN": "unused-secret",
            "DSAR_MAIL_SENDER": "privacy@callproof.test",
            "DSAR_PUBLIC_BASE_URL": "https://callproof.test",
            "CONTACTS_TABLE": aws_stack["ContactsTable"].ref,
            **extra,
        }
    )


class Mail:
    """Seeds messages through Gmail sync's own adapters (index transaction + S3 body)."""

    def __init__(self, aws_stack: dict[str, Physical]) -> None:
        self.table = aws_stack["MailTable"].ref
        self.bucket = aws_stack["DataBucket"].ref
        self.index = DynamoMailIndex(aws.dynamodb(), self.table)
        self.blobs = S3MailBlobs(aws.s3(), self.bucket)

    def add(
        self, gmail_id: str, contacts: tuple[str, ...], user: str = "rep-1", org: str = ORG
    ) -> EmailRecord:
        key = object_key(org, user, gmail_id)
        document = {
            "gmail_id": gmail_id,
            "thread_id": f"t{gmail_id}",
            "internal_date": 1_764_000_000_000,
            "headers": [
                ["From", "Ada Lovelace <ada@example.com>"],
                ["To", "rep@callproof.test"],
                ["Subject", f"Message {gmail_id}"],
                ["Date", "Tue, 25 Nov 2025 10:00:00 +0000"],
                ["Message-ID", f"<{gmail_id}@mail.example.com>"],
            ],
            "subject": f"Message {gmail_id}",
            "text": f"Body of {gmail_id}",
            "html": f"<p>Body of {gmail_id}</p>",
            "attachments": [],
        }
        self.blobs.put(key, json.dumps({**document, "text": "first draft"}).encode())
        self.blobs.put(key, json.dumps(document).encode())  # a second version: the bucket is versioned
        record = EmailRecord(
            org_id=org,
            email_id=email_id(user, gmail_id),
            user_id=user,
            gmail_id=gmail_id,
            thread_id=f"t{gmail_id}",
            internal_date=1_764_000_000_000,
            subject=f"Message {gmail_id}",
            sender="Ada Lovelace <ada@example.com>",
            contact_ids=contacts,
            object_key=key,
            attachments=[Attachment("quote.pdf", 12, "application/pdf")],
        )
        assert self.index.put(record)
        return record

    def versions(self, key: str) -> int:
        page = boto3.client("s3").list_object_versions(Bucket=self.bucket, Prefix=key)
        return sum(1 for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])] if v["Key"] == key)

    def items(self, org: str, prefix: str) -> list[dict[str, Any]]:
        response = boto3.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{org}"}, ":p": {"S": prefix}},
        )
        return response["Items"]


@pytest.fixture
def seeded(aws_stack: dict[str, Physical]) -> tuple[PersonalDataStore, Mail, dict[str, EmailRecord]]:
    seed = Mail(aws_stack)
    records = {
        "ada-only": seed.add("a1", ("c-ada",)),
        "ada-twice": seed.add("a2", ("c-ada", "c-ada2")),  # two links to the same subject
        "shared": seed.add("a3", ("c-ada2", "c-bob")),  # the subject and another person
        "bob-only": seed.add("b1", ("c-bob",)),
        "other-org": seed.add("a1", ("c-ada",), org=OTHER_ORG),  # same ids, another tenant
        "mailbox-only": seed.add("m1", ("c-carol",), user="rep-9"),
    }
    settings = dsar_settings(aws_stack, MAIL_TABLE=seed.table, DATA_BUCKET=seed.bucket)
    store = mail_data(settings)
    assert store is not None
    return store, seed, records


def test_rows_list_each_message_of_the_subject_once(seeded: Any) -> None:
    store, _, records = seeded
    rows = list(store.rows(ADA))
    assert sorted(row["email_id"] for row in rows) == ["rep-1.a1", "rep-1.a2", "rep-1.a3"]
    assert all(set(row) <= set(store.columns) for row in rows)
    shared = next(row for row in rows if row["email_id"] == records["shared"].email_id)
    assert shared["contact_ids"] == "c-ada2;c-bob"
    assert shared["date"] == "2025-11-24T16:00:00+00:00"
    assert json.loads(str(shared["attachments"]))[0]["filename"] == "quote.pdf"
    assert list(store.rows(Subject(ORG, contact_ids=frozenset({"c-nobody"})))) == []


def test_files_are_parseable_eml_messages_with_the_stored_headers(seeded: Any) -> None:
    store, seed, records = seeded
    files = dict(store.files(ADA))
    assert sorted(files) == ["mail/rep-1.a1.eml", "mail/rep-1.a2.eml", "mail/rep-1.a3.eml"]
    message = BytesParser(policy=policy.default).parsebytes(files["mail/rep-1.a1.eml"])
    assert isinstance(message, EmailMessage)
    assert message["From"] == "Ada Lovelace <ada@example.com>"
    assert message["To"] == "rep@callproof.test"
    assert message["Subject"] == "Message a1"
    assert message["Message-ID"] == "<a1@mail.example.com>"
    assert message["Date"] == "Tue, 25 Nov 2025 10:00:00 +0000"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert plain.get_content().strip() == "Body of a1"
    assert html is not None
    assert "<p>Body of a1</p>" in html.get_content()
    # A body missing from S3 still gives a message, from the index's summary.
    boto3.client("s3").delete_object(Bucket=seed.bucket, Key=records["ada-twice"].object_key)
    fallback = BytesParser(policy=policy.default).parsebytes(dict(store.files(ADA))["mail/rep-1.a2.eml"])
    assert fallback["Subject"] == "Message a2"


def test_erasure_deletes_whole_messages_every_link_and_version(seeded: Any) -> None:
    store, seed, records = seeded
    ada_messages = [records[name] for name in ("ada-only", "ada-twice", "shared")]
    result = store.erase(ADA)
    # 3 messages + their 5 links (also Bob's link to the shared one) + 2 S3 versions each.
    assert (result.deleted, result.kept) == (3 + 5 + 6, 0)
    assert store.residue(ADA) == 0
    for record in ada_messages:
        assert seed.versions(record.object_key) == 0
        assert seed.index.get(ORG, record.email_id) is None
    assert [i["sk"]["S"] for i in seed.items(ORG, "CMAIL#c-bob#")] == [
        f"CMAIL#c-bob#{1_764_000_000_000:013d}#rep-1.b1"
    ]
    assert store.erase(ADA).deleted == 0  # idempotent: a second run finds nothing
    # Everyone else's mail is intact: Bob's own message, the other org's, a mailbox-only message.
    assert [row["email_id"] for row in store.rows(BOB)] == ["rep-1.b1"]
    for name in ("bob-only", "other-org", "mailbox-only"):
        record = records[name]
        assert seed.index.get(record.org_id, record.email_id) is not None
        assert seed.versions(record.object_key) == 2
    assert store.residue(Subject(OTHER_ORG, contact_ids=frozenset({"c-ada"}))) == 1


def test_erasure_in_rounds_stops_between_batches_and_the_next_round_goes_on(
    seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of time after each batch (one message here), a round stops and says so; the next round
    finds exactly what is left (consistent reads), and the totals match one erasure."""
    store, seed, records = seeded
    assert isinstance(store, ErasesInRounds)
    monkeypatch.setattr(mail_personal_data, "ERASE_BATCH", 1)
    rounds = []
    while True:
        erased = store.erase_round(ADA, lambda: False)
        rounds.append(erased)
        if not erased.more:
            break
    assert [r.more for r in rounds] == [True, True, True, False]  # 3 messages, then the empty check
    assert sum(r.deleted for r in rounds) == 3 + 5 + 6
    assert store.residue(ADA) == 0
    assert seed.index.get(ORG, records["bob-only"].email_id) is not None


def test_a_user_subjects_mailbox_is_kept_as_the_orgs_crm_record(seeded: Any) -> None:
    store, seed, records = seeded
    rep = Subject(ORG, emails=frozenset({"rep9@callproof.test"}), user_ids=frozenset({"rep-9"}))
    result = store.erase(rep)
    assert (result.deleted, result.kept) == (0, 1)
    assert result.kept_reasons == (KEPT_MAILBOX,)
    assert seed.index.get(ORG, records["mailbox-only"].email_id) is not None
    assert store.residue(rep) == 0


def test_a_user_subjects_export_holds_their_mailbox_once(seeded: Any) -> None:
    """A member's own export (issue 15): the mail their mailbox synced, with its .eml, once each, and
    nothing of another mailbox or org."""
    store, _, records = seeded
    rep = Subject(ORG, user_ids=frozenset({"rep-9"}), contact_ids=frozenset({"c-carol"}))
    assert [row["email_id"] for row in store.rows(rep)] == [records["mailbox-only"].email_id]
    assert list(dict(store.files(rep))) == [f"mail/{records['mailbox-only'].email_id}.eml"]
    rep_1 = [str(row["email_id"]) for row in store.rows(Subject(ORG, user_ids=frozenset({"rep-1"})))]
    assert sorted(rep_1) == sorted(
        r.email_id for k, r in records.items() if k not in ("other-org", "mailbox-only")
    )


def test_the_store_is_absent_without_its_table_or_bucket(aws_stack: dict[str, Physical]) -> None:
    assert mail_data(dsar_settings(aws_stack)) is None
    assert mail_data(dsar_settings(aws_stack, MAIL_TABLE=aws_stack["MailTable"].ref)) is None


CONTACTS = ("c-1", "c-2", "c-3", "c-4")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    links=st.lists(st.sets(st.sampled_from(CONTACTS), min_size=1), min_size=1, max_size=8),
    erased=st.sets(st.sampled_from(CONTACTS), min_size=1, max_size=2),
)
def test_erasing_one_subject_leaves_no_residue_and_only_others_mail(
    aws_stack: dict[str, Physical], links: list[set[str]], erased: set[str]
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"  # a fresh tenant per example: the stack is shared
    seed = Mail(aws_stack)
    records = [seed.add(f"{n:x}", tuple(sorted(contacts)), org=org) for n, contacts in enumerate(links)]
    store = mail_data(dsar_settings(aws_stack, MAIL_TABLE=seed.table, DATA_BUCKET=seed.bucket))
    assert store is not None
    subject = Subject(org, contact_ids=frozenset(erased))
    store.erase(subject)
    assert store.residue(subject) == 0
    for record in records:
        involved = bool(erased & set(record.contact_ids))
        assert (seed.index.get(org, record.email_id) is None) is involved
        assert seed.versions(record.object_key) == (0 if involved else 2)
    others = Subject(org, contact_ids=frozenset(set(CONTACTS) - erased))
    expected = sorted(r.email_id for r in records if not erased & set(r.contact_ids))
    assert sorted(str(row["email_id"]) for row in store.rows(others)) == expected


def _resumed(store: CollectsInRounds, subject: Subject) -> list[list[str]]:
    """Every row listed one round at a time: each round resumes after the last row of the one before,
    and lists only that one row."""
    rounds: list[list[str]] = []
    cursor = None
    while True:
        listed = store.rows_after(subject, cursor)
        first = next(listed, None)
        if first is None:
            return rounds
        row, cursor = first
        rounds.append([str(row["email_id"])])


def test_rows_resume_after_a_cursor_and_list_each_message_once(seeded: Any) -> None:
    """A cursor is the position of the row's link (no data), and a round that starts after it lists
    exactly the rows not listed yet: a message linked to two of the subject's contacts comes once."""
    store, _, records = seeded
    assert isinstance(store, CollectsInRounds)
    whole = [str(row["email_id"]) for row in store.rows(ADA)]
    assert sorted(whole) == ["rep-1.a1", "rep-1.a2", "rep-1.a3"]

    assert _resumed(store, ADA) == [[email_id] for email_id in whole]
    _, cursor = next(store.rows_after(ADA, None))
    assert "ada@example.com" not in base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    rep = Subject(ORG, user_ids=frozenset({"rep-1", "rep-9"}), contact_ids=frozenset({"c-bob"}))
    own = [str(row["email_id"]) for row in store.rows(rep)]
    assert sorted(own) == sorted(r.email_id for k, r in records.items() if k != "other-org")
    assert _resumed(store, rep) == [[email_id] for email_id in own]
    with pytest.raises(ValueError, match="cursor"):
        next(store.rows_after(BOB, cursor))  # a cursor of another subject's listings
