"""The erasure suppression list on moto: keyed hashes only, idempotent, batched; contact imports skip
suppressed rows and an erased number that had opted out is never texted again."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import boto3

from callproof import aws, wiring_shared
from callproof.dsar.model import Subject
from callproof.store.contacts_personal_data_dynamo import ContactsData
from callproof.store.sms_personal_data_dynamo import SmsData
from callproof.store.suppression_dynamo import DynamoSuppression, SuppressionKeys, suppression_pk
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


# ---------------------------------------------------------------- key versions (issue 13, point 12)

NEW_KEY = "n" * 48


def secret_value(stack: dict[str, Physical]) -> dict[str, object]:
    client = boto3.client("secretsmanager")
    value: dict[str, object] = json.loads(
        client.get_secret_value(SecretId=stack["SuppressionKeySecret"].ref)["SecretString"]
    )
    return value


def put_secret(stack: dict[str, Physical], value: dict[str, object]) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId=stack["SuppressionKeySecret"].ref, SecretString=json.dumps(value)
    )


def rotate(stack: dict[str, Physical], current: str) -> str:
    """ADR 0009's rotation: version 2 joins the secret (step 1, current "1"), then becomes current
    (step 2, current "2"). Answers the first key, which the template generated as {"key": ...}."""
    first = str(secret_value(stack).get("key") or secret_value(stack)["keys"]["1"])  # type: ignore[index]
    put_secret(stack, {"keys": {"1": first, "2": NEW_KEY}, "current": current})
    return first


def uncached(stack: dict[str, Physical], clock: Callable[[], datetime] | None = None) -> DynamoSuppression:
    """The list with the secret read at every call (the wiring caches it for 5 minutes)."""
    ring = lambda: SuppressionKeys.from_secret(secret_value(stack))  # noqa: E731
    if clock is None:
        return DynamoSuppression(aws.dynamodb(), stack["ContactsTable"].ref, ring)
    return DynamoSuppression(aws.dynamodb(), stack["ContactsTable"].ref, ring, clock)


def test_the_template_secret_is_the_first_shape_and_its_hashes_are_version_1(
    aws_stack: dict[str, Physical],
) -> None:
    value = secret_value(aws_stack)
    assert set(value) == {"key"}
    suppression(aws_stack).suppress("org-a", frozenset({"ada@x.io"}), frozenset(), frozenset())
    (item,) = suppression_items(aws_stack)
    assert item["pk"]["S"] == suppression_pk(str(value["key"]).encode(), "org-a", "email", "ada@x.io")
    assert "#SUPPRESS#k" not in item["pk"]["S"]


def test_a_rotation_still_finds_every_earlier_hash_and_writes_under_the_new_key(
    aws_stack: dict[str, Physical],
) -> None:
    store = uncached(aws_stack)
    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset({ADA}))

    rotate(aws_stack, current="1")  # step 1: every reader learns version 2; writes stay on 1
    store.suppress("org-a", frozenset(), frozenset({BOB}), frozenset())
    assert all("#SUPPRESS#k" not in item["pk"]["S"] for item in suppression_items(aws_stack))

    rotate(aws_stack, current="2")  # step 2: writes use version 2
    carl = "+14155550300"
    store.suppress("org-a", frozenset({"carl@x.io"}), frozenset({carl}), frozenset())

    everyone = store.suppressed(
        "org-a", frozenset({"ada@x.io", "carl@x.io", "dan@x.io"}), frozenset({ADA, BOB, carl, "+14155550400"})
    )
    assert everyone == {"ada@x.io", ADA, BOB, "carl@x.io", carl}
    tagged = sorted(
        item["kind"]["S"] for item in suppression_items(aws_stack) if "#SUPPRESS#k2#" in item["pk"]["S"]
    )
    assert tagged == ["email", "phone"]  # Carl's, under version 2; the earlier three stay on version 1
    assert len(suppression_items(aws_stack)) == 5
    assert NEW_KEY not in json.dumps(suppression_items(aws_stack))
    # Without version 1 listed, the earlier entries are not found: the version is what reads follow.
    put_secret(aws_stack, {"keys": {"2": NEW_KEY}})
    assert store.suppressed("org-a", frozenset({"ada@x.io", "carl@x.io"}), frozenset({ADA, carl})) == {
        "carl@x.io",
        carl,
    }


def test_suppressing_again_after_a_rotation_moves_the_entry_to_the_new_key(
    aws_stack: dict[str, Physical],
) -> None:
    first, later = datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC)
    clock = [first]
    store = uncached(aws_stack, lambda: clock[0])
    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset({ADA}))
    rotate(aws_stack, current="2")
    clock[0] = later

    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset())  # ledger gone

    items = suppression_items(aws_stack)
    assert sorted((i["kind"]["S"], i["at"]["S"], i["sms_opt_out"]["BOOL"]) for i in items) == [
        ("email", "2026-11-01T09:00:00+00:00", False),
        ("phone", "2026-11-01T09:00:00+00:00", True),  # the kept opt-out and its first time moved too
    ]
    assert all("#SUPPRESS#k2#" in item["pk"]["S"] for item in items)
    assert store.suppressed("org-a", frozenset({"ada@x.io"}), frozenset({ADA})) == {"ada@x.io", ADA}
    store.suppress("org-a", frozenset({"ada@x.io"}), frozenset({ADA}), frozenset())
    assert suppression_items(aws_stack) == items  # a replay changes nothing


def test_after_a_rotation_an_erased_number_is_still_refused_and_new_erasures_skip_imports(
    call: Invoke,
    sms: Sms,  # noqa: F811
) -> None:
    uncached(sms.stack).suppress("org-a", frozenset(), frozenset({ADA}), frozenset())  # before the rotation
    rotate(sms.stack, current="2")
    setup_org(sms)

    status, body = send(sms, contact(sms))  # the SMS function reads the rotated secret

    assert (status, body["error"]["code"]) == (409, "opted_out")
    assert sms.double.sent == []
    # An erasure now (the workflow's wiring) writes under version 2, and imports skip it.
    wiring_shared.suppression(sms.stack["ContactsTable"].ref, sms.stack["SuppressionKeySecret"].ref).suppress(
        "org-a", frozenset({"bob@x.io"}), frozenset(), frozenset()
    )
    assert any("#SUPPRESS#k2#" in item["pk"]["S"] for item in suppression_items(sms.stack))
    text = "name,email\nBob,bob@x.io\nCarl,carl@x.io\n"
    status, report = call(
        "ContactsFunction", api_event("POST", "/v1/contacts/imports", body=text, content_type="text/csv")
    )
    assert [row["status"] for row in report["rows"]] == ["suppressed", "created"]
