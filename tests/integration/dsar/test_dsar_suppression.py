"""The erasure suppression list on moto: keyed hashes only, idempotent, batched; contact imports skip
suppressed rows and an erased number that had opted out is never texted again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from callproof import aws, wiring_shared
from callproof.dsar.model import Subject
from callproof.store.contacts_personal_data_dynamo import ContactsData
from callproof.store.sms_personal_data_dynamo import SmsData
from callproof.store.suppression_dynamo import DynamoSuppression
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.sms.test_sms_api import ADA, Sms, contact, message, send, setup_org, sms  # noqa: F401
from tests.support import api_event

BOB = "+14155550200"


def suppression(stack: dict[str, Physical]) -> DynamoSuppression:
    return wiring_shared.suppression(stack["ContactsTable"].ref, stack["SuppressionKeySecret"].ref)


def suppression_items(stack: dict[str, Physical]) -> list[dict[str, object]]:
    items = boto3.client("dynamodb").scan(TableName=stack["ContactsTable"].ref)["Items"]  # test-only
    return [item for item in items if "#SUPPRESS#" in item["pk"]["S"]]


def test_round_trip_keeps_only_keyed_hashes(aws_stack: dict[str, Physical]) -> None:
    store = suppression(aws_stack)
    assert store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA, BOB}), frozenset({ADA})) == 3

    assert store.suppressed(
        "org-a", frozenset({"ada@x.io", "bob@x.io"}), frozenset({ADA, "+14155550300"})
    ) == {
        "ada@x.io",
        ADA,
    }
    assert store.suppressed("org-b", frozenset({"ada@x.io"}), frozenset({ADA})) == frozenset()
    items = suppression_items(aws_stack)
    assert len(items) == 3
    text = json.dumps(items)
    assert not any(value in text for value in ("ada@x.io", ADA, BOB, ADA.lstrip("+"), BOB.lstrip("+")))
    assert sorted((i["kind"]["S"], i["sms_opt_out"]["BOOL"]) for i in items) == [
        ("email", False),
        ("phone", False),
        ("phone", True),
    ]


def test_suppress_is_idempotent_and_never_clears_a_kept_opt_out(aws_stack: dict[str, Physical]) -> None:
    store = suppression(aws_stack)
    store.suppress("org-a", frozenset(), frozenset({ADA}), frozenset({ADA}))
    first = suppression_items(aws_stack)
    store.suppress("org-a", frozenset(), frozenset({ADA}), frozenset())  # a later erasure: ledger gone
    assert suppression_items(aws_stack) == first
    assert first[0]["sms_opt_out"] == {"BOOL": True}


def test_an_entry_keeps_the_time_of_the_first_suppression(aws_stack: dict[str, Physical]) -> None:
    first, later = datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)
    clock = [first]
    store = DynamoSuppression(
        aws.dynamodb(), aws_stack["ContactsTable"].ref, lambda: b"s" * 32, lambda: clock[0]
    )
    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset())
    clock[0] = later
    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset({ADA}))
    assert sorted(
        (i["kind"]["S"], i["at"]["S"], i["sms_opt_out"]["BOOL"]) for i in suppression_items(aws_stack)
    ) == [
        ("email", "2026-11-01T09:00:00+00:00", False),
        ("phone", "2026-11-01T09:00:00+00:00", True),
    ]


def test_suppressed_reads_more_than_one_batch(aws_stack: dict[str, Physical]) -> None:
    store = suppression(aws_stack)
    phones = frozenset(f"+1415555{n:04d}" for n in range(150))
    store.suppress("org-a", frozenset(), phones, frozenset())
    assert store.suppressed("org-a", frozenset(), phones | {"+12025550100"}) == phones


def test_import_skips_rows_with_a_suppressed_email_or_phone(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    suppression(aws_stack).suppress("org-a", frozenset({"ada@x.io"}), frozenset({BOB}), frozenset())
    text = "name,email,phone\nAda,ada@x.io,\nBob,bob@x.io,+1 415 555 0200\nCarl,carl@x.io,+1 415 555 0300\n"
    event = api_event("POST", "/v1/contacts/imports", body=text, content_type="text/csv")

    status, report = call("ContactsFunction", event)

    assert status == 200, report
    assert [(row["line"], row["status"]) for row in report["rows"]] == [
        (2, "suppressed"),
        (3, "suppressed"),
        (4, "created"),
    ]
    assert all(row["field"] is None and row["reason"] is None for row in report["rows"][:2])
    assert report["counts"]["suppressed"] == 2
    status, page = call("ContactsFunction", api_event("GET", "/v1/contacts"))
    assert [item["name"] for item in page["items"]] == ["Carl"]
    # the same file in another org imports every row
    status, other = call(
        "ContactsFunction",
        api_event("POST", "/v1/contacts/imports", body=text, content_type="text/csv", org="org-b"),
    )
    assert other["counts"]["created"] == 3


def erase(sms: Sms, contact_id: str) -> None:  # noqa: F811
    """What the erasure workflow does with these stores: read the opt-outs, suppress, then erase."""
    subject = Subject("org-a", phones=frozenset({ADA}), contact_ids=frozenset({contact_id}))
    client = aws.dynamodb()
    sms_data = SmsData(client, sms.stack["SmsTable"].ref)
    opted_out = sms_data.opted_out(subject)
    assert opted_out == {ADA}
    suppression(sms.stack).suppress("org-a", subject.emails, subject.phones, opted_out)
    ContactsData(client, sms.stack["ContactsTable"].ref).erase(subject)
    sms_data.erase(subject)
    assert sms_data.residue(subject) == 0


def test_an_erased_number_that_opted_out_is_refused_after_its_contact_is_recreated(sms: Sms) -> None:  # noqa: F811
    setup_org(sms)
    erased = contact(sms)
    sms.inbound(message("STOP"))
    erase(sms, erased)

    again = contact(sms)  # created again, e.g. by hand
    status, body = send(sms, again)

    assert (status, body["error"]["code"]) == (409, "opted_out")
    assert sms.double.sent == []


def test_an_erased_number_can_be_texted_once_it_opts_in_again(sms: Sms) -> None:  # noqa: F811
    setup_org(sms)
    erased = contact(sms)
    sms.inbound(message("STOP"))
    erase(sms, erased)
    again = contact(sms)
    assert send(sms, again)[0] == 409
    sms.inbound(message("START", sid="SM" + "2" * 32))

    status, body = send(sms, again)

    assert status == 201, body
    assert len(sms.double.sent) == 1
