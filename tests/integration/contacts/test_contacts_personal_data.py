"""The contacts store of personal data on moto: rows, erasure (shared numbers keep the other contact),
idempotence and residue, with the other subject and the other org untouched."""

from __future__ import annotations

from callproof import aws
from callproof.store.contacts_dynamo import DynamoContactStore, email_key, phone_key
from callproof.store.contacts_personal_data_dynamo import ContactsData
from callproof_local.template import Physical
from tests.integration.dsar.personal_data_seed import (
    ADA,
    ADA_B_ID,
    ADA_ID,
    ADA_IN_ORG_B,
    ADA_PHONE,
    BOB,
    BOB_ID,
    SHARED_PHONE,
    seed,
    table_items,
)


def test_rows_are_the_subjects_contacts(aws_stack: dict[str, Physical]) -> None:
    store = ContactsData(aws.dynamodb(), seed(aws_stack).contacts)
    (row,) = store.rows(ADA)
    assert set(row) == set(store.columns)
    assert (row["id"], row["name"], row["emails"], row["restricted"]) == (ADA_ID, "Ada", "ada@x.io", False)
    assert row["phones"] == f"{ADA_PHONE};{SHARED_PHONE}"
    assert [r["id"] for r in store.rows(ADA_IN_ORG_B)] == [ADA_B_ID]


def test_erasure_deletes_the_contact_and_its_lookups_and_keeps_the_shared_numbers_other_contact(
    aws_stack: dict[str, Physical],
) -> None:
    table = seed(aws_stack).contacts
    store = ContactsData(aws.dynamodb(), table)
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (4, 4, 3)
    before = table_items(table)

    erased = store.erase(ADA)

    assert (erased.deleted, erased.kept) == (3, 0)  # the contact, its email and its own number
    assert store.erase(ADA).deleted == 0  # idempotent
    assert (store.residue(ADA), store.residue(BOB), store.residue(ADA_IN_ORG_B)) == (0, 4, 3)
    assert list(store.rows(ADA)) == []
    after = table_items(table)
    gone = {(i["pk"]["S"], i["sk"]["S"]) for i in before} - {(i["pk"]["S"], i["sk"]["S"]) for i in after}
    assert gone == {
        ("ORG#org-a", f"CONTACT#{ADA_ID}"),
        tuple(email_key("org-a", "ada@x.io").values()),
        tuple(phone_key("org-a", ADA_PHONE).values()),
    }
    shared = phone_key("org-a", SHARED_PHONE)["pk"]
    changed = [i for i in after if i not in before]
    assert [(i["pk"]["S"], i["contact_ids"]["SS"]) for i in changed] == [(shared, [BOB_ID])]
    contacts = DynamoContactStore(aws.dynamodb(), table)
    assert contacts.lookup_by_phones("org-a", [SHARED_PHONE, ADA_PHONE]) == {
        SHARED_PHONE: frozenset({BOB_ID})
    }
    assert contacts.lookup_by_emails("org-b", ["ada@x.io"]) == {"ada@x.io": frozenset({ADA_B_ID})}


def test_a_lookup_left_naming_the_subject_is_residue_and_is_cleaned(aws_stack: dict[str, Physical]) -> None:
    """A crash between deleting the contact and its lookups leaves lookups behind: a rerun cleans them."""
    table = seed(aws_stack).contacts
    client = aws.dynamodb()
    client.delete_item(TableName=table, Key={"pk": {"S": "ORG#org-a"}, "sk": {"S": f"CONTACT#{ADA_ID}"}})
    store = ContactsData(client, table)
    assert store.residue(ADA) == 3
    assert store.erase(ADA).deleted == 2
    assert store.residue(ADA) == 0
