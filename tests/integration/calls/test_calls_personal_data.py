"""The call-log and device stores of personal data on moto: calls about the subject (by contact and by
number) are erased, calls the subject logged as a rep are kept, their devices are erased."""

from __future__ import annotations

import base64
import json

import pytest

from callproof import aws
from callproof.dsar.ports import CollectsInRounds, ErasesInRounds
from callproof.store import calls_personal_data_dynamo
from callproof.store.calls_personal_data_dynamo import KEPT_REASON, CallLogsData, DevicesData
from callproof_local.template import Physical
from tests.integration.dsar.personal_data_seed import ADA, ADA_IN_ORG_B, BOB, seed, table_items


def call_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def test_call_rows_say_how_each_call_relates_to_the_subject(aws_stack: dict[str, Physical]) -> None:
    store = CallLogsData(aws.dynamodb(), seed(aws_stack).call_logs)
    rows = list(store.rows(ADA))
    assert all(set(row) == set(store.columns) for row in rows)
    assert sorted((row["id"], row["relation"]) for row in rows) == [
        (call_id(1), "about_subject"),
        (call_id(2), "about_subject"),
        (call_id(4), "logged_by_subject"),
        (call_id(5), "about_subject"),
    ]
    assert [row["id"] for row in store.rows(ADA_IN_ORG_B)] == [call_id(6)]


def test_erasure_deletes_calls_about_the_subject_and_keeps_the_ones_they_logged(
    aws_stack: dict[str, Physical],
) -> None:
    table = seed(aws_stack).call_logs
    store = CallLogsData(aws.dynamodb(), table)
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (3, 3, 1)
    before = table_items(table)

    erased = store.erase(ADA)

    assert (erased.deleted, erased.kept, erased.kept_reasons) == (3, 1, (KEPT_REASON,))
    again = store.erase(ADA)
    assert (again.deleted, again.kept) == (0, 1)
    # Bob loses only the call to the number he shared with Ada; org-b keeps everything
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 2, 1)
    gone = {i["pk"]["S"] for i in before if i not in table_items(table)}
    assert gone == {f"ORG#org-a#CALL#{call_id(n)}" for n in (1, 2, 5)}
    assert [row["id"] for row in store.rows(ADA)] == [call_id(4)]  # kept: the org's record about Bob


def test_erasure_in_rounds_stops_between_batches_and_ends_with_what_is_kept(
    aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = seed(aws_stack).call_logs
    store = CallLogsData(aws.dynamodb(), table)
    assert isinstance(store, ErasesInRounds)
    monkeypatch.setattr(calls_personal_data_dynamo, "ERASE_BATCH", 2)

    first = store.erase_round(ADA, lambda: False)
    last = store.erase_round(ADA, lambda: False)

    assert (first.deleted, first.kept, first.more) == (2, 0, True)
    assert (last.deleted, last.kept, last.kept_reasons, last.more) == (1, 1, (KEPT_REASON,), False)
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 2, 1)
    assert [row["id"] for row in store.rows(ADA)] == [call_id(4)]


def test_devices_of_the_subject_as_an_org_user_are_exported_and_erased(
    aws_stack: dict[str, Physical],
) -> None:
    table = seed(aws_stack).call_logs
    store = DevicesData(aws.dynamodb(), table)
    (row,) = store.rows(ADA)
    assert set(row) == set(store.columns)
    assert (row["id"], row["user_id"], json.loads(str(row["location"]))) == (
        "dev-u-ada", "u-ada", {"lat": 1.5, "lon": 2.5},
    )  # fmt: skip
    before = table_items(table)

    assert store.erase(ADA).deleted == 1
    assert store.erase(ADA).deleted == 0
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 1, 1)
    assert {i["pk"]["S"] for i in before if i not in table_items(table)} == {"ORG#org-a#DEVICE#dev-u-ada"}


def test_call_rows_resume_after_a_cursor_each_call_once(aws_stack: dict[str, Physical]) -> None:
    """Round after round, each resuming after the last row listed (a call listed by contact and by
    number comes once), the rows are those of one listing; the cursor holds keys, not the number."""
    store = CallLogsData(aws.dynamodb(), seed(aws_stack).call_logs)
    assert isinstance(store, CollectsInRounds)
    whole = [(row["id"], row["relation"]) for row in store.rows(ADA)]
    assert len(whole) == len(set(whole)) == 4

    resumed, cursor = [], None
    while (first := next(store.rows_after(ADA, cursor), None)) is not None:
        row, cursor = first
        resumed.append((row["id"], row["relation"]))
        assert not any(phone in base64.urlsafe_b64decode(cursor + "==").decode() for phone in ADA.phones)

    assert resumed == whole
