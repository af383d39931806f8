"""The SMS store of personal data on moto: consent ledgers of the subject's numbers and threads of their
contacts; the opt-out is read before erasing so that the suppression list can keep it."""

from __future__ import annotations

import pytest

from callproof import aws
from callproof.dsar.ports import CollectsInRounds, ErasesInRounds
from callproof.store import sms_personal_data_dynamo
from callproof.store.sms_personal_data_dynamo import OPT_OUT_KEPT, SmsData
from callproof_local.template import Physical
from tests.integration.dsar.personal_data_seed import (
    ADA,
    ADA_IN_ORG_B,
    ADA_PHONE,
    BOB,
    BOB_PHONE,
    SHARED_PHONE,
    seed,
    table_items,
)


def test_rows_hold_ledger_entries_and_thread_messages(aws_stack: dict[str, Physical]) -> None:
    store = SmsData(aws.dynamodb(), seed(aws_stack).sms)
    rows = list(store.rows(ADA))
    assert all(set(row) == set(store.columns) for row in rows)
    assert sorted((row["kind"], row["e164"], row["status"] or row["body"]) for row in rows) == [
        ("consent", ADA_PHONE, "opted_in"),
        ("consent", ADA_PHONE, "opted_out"),
        ("consent", SHARED_PHONE, "opted_in"),
        ("message", ADA_PHONE, "hello 10"),
        ("message", SHARED_PHONE, "hello 11"),
    ]


def test_opted_out_reads_the_newest_ledger_entry(aws_stack: dict[str, Physical]) -> None:
    store = SmsData(aws.dynamodb(), seed(aws_stack).sms)
    assert store.opted_out(ADA) == frozenset({ADA_PHONE})  # the shared number opted in
    assert store.opted_out(BOB) == frozenset({BOB_PHONE})


def test_erasure_deletes_ledgers_and_threads_only_of_the_subject(aws_stack: dict[str, Physical]) -> None:
    table = seed(aws_stack).sms
    store = SmsData(aws.dynamodb(), table)
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (5, 3, 2)
    before = table_items(table)

    erased = store.erase(ADA)

    assert (erased.deleted, erased.kept, erased.kept_reasons) == (5, 1, (OPT_OUT_KEPT,))
    assert store.erase(ADA).deleted == 0
    assert store.opted_out(ADA) == frozenset()  # gone with the ledger: read it before erasing
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 2, 2)
    gone = {i["pk"]["S"] for i in before if i not in table_items(table)}
    assert gone == {
        f"ORG#org-a#CONSENT#{ADA_PHONE}",
        f"ORG#org-a#CONSENT#{SHARED_PHONE}",
        "ORG#org-a#THREAD#" + "a" * 32,
    }


def test_erasure_in_rounds_deletes_threads_first_and_counts_the_opt_out_once(
    aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads grow with every text: one thread item a round here; the ledgers go in the last round,
    which reports the opt-out the workflow kept."""
    store = SmsData(aws.dynamodb(), seed(aws_stack).sms)
    assert isinstance(store, ErasesInRounds)
    monkeypatch.setattr(sms_personal_data_dynamo, "ERASE_BATCH", 1)

    rounds = [store.erase_round(ADA, lambda: False)]
    while rounds[-1].more:
        rounds.append(store.erase_round(ADA, lambda: False))

    assert [(r.deleted, r.kept, r.more) for r in rounds] == [(1, 0, True), (1, 0, True), (3, 1, False)]
    assert rounds[-1].kept_reasons == (OPT_OUT_KEPT,)
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 2, 2)


def test_rows_resume_after_a_cursor(aws_stack: dict[str, Physical]) -> None:
    store = SmsData(aws.dynamodb(), seed(aws_stack).sms)
    assert isinstance(store, CollectsInRounds)
    whole = list(store.rows(ADA))
    resumed, cursor = [], None
    while (first := next(store.rows_after(ADA, cursor), None)) is not None:
        row, cursor = first
        resumed.append(row)
    assert resumed == whole
    assert len(whole) == 5
