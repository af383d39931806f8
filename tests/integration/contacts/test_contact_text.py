"""Issue 13, point 7: control characters never reach a contact, from JSON or from CSV (before,
``"name": "nul\\u0000byte"`` was stored and answered 201). A CSV row holding one is rejected on its
own, naming the field, and the file's other rows are imported."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.conftest import Invoke
from tests.support import api_event

ADA = {"name": "Ada Lovelace", "type": "customer", "emails": ["ada@example.com"]}


def contact_items(aws_stack: dict[str, Any]) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=aws_stack["ContactsTable"].ref)["Items"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ADA, "name": "nul\u0000byte"}, "name"),
        ({**ADA, "name": "Ada\nLovelace"}, "name"),
        ({**ADA, "name": "Ada\t"}, "name"),
        ({**ADA, "name": "\u001b[31mAda"}, "name"),
        ({**ADA, "name": "Ada\u0085"}, "name"),
        ({**ADA, "name": "Ada\ud800"}, "name"),
        ({**ADA, "company": "Acme\u2028Ltd"}, "company"),
        ({**ADA, "emails": ["ada@example.com", "a\u0000@x.io"]}, "emails.1"),
        ({**ADA, "phones": ["+1 415 555 0100\u0000"]}, "phones.0"),
    ],
)
def test_a_contact_with_a_control_character_is_422_naming_the_field_and_not_stored(
    call: Invoke, aws_stack: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    status, error = call("ContactsFunction", api_event("POST", "/v1/contacts", body=body))
    assert (status, error["error"]["field"]) == (422, field), error
    assert contact_items(aws_stack) == []


def test_a_rename_with_a_control_character_is_422_and_changes_nothing(call: Invoke) -> None:
    status, ada = call("ContactsFunction", api_event("POST", "/v1/contacts", body=ADA))
    assert status == 201
    path, resource = f"/v1/contacts/{ada['id']}", "/v1/contacts/{contact_id}"
    event = api_event("PATCH", path, resource=resource, body={"name": "Ada\u0007"})
    status, error = call("ContactsFunction", event)
    assert (status, error["error"]["field"]) == (422, "name")
    status, now = call("ContactsFunction", api_event("GET", path, resource=resource))
    assert now["name"] == "Ada Lovelace"


def test_names_people_write_are_kept(call: Invoke) -> None:
    for name in ("Zoë Ñúñez", "李小龍", "\u05e9\u05dc\u05d5\u05dd\u200f", "👩‍💻 Ada", "  Ada  "):
        status, created = call(
            "ContactsFunction", api_event("POST", "/v1/contacts", body={**ADA, "name": name})
        )
        assert (status, created["name"]) == (201, name.strip()), created


def test_csv_rows_with_control_characters_are_rejected_one_by_one(call: Invoke) -> None:
    text = (
        "name,email,company\n"
        "Ada,ada@x.io,Acme\n"  # line 2
        "nul\x00byte,nul@x.io,\n"  # line 3
        '"Two\nLines",two@x.io,\n'  # lines 4-5: a quoted newline inside the name
        "Bob,bob@x.io,Ac\x1bme\n"  # line 6
        "Eve,eve\x7f@x.io,\n"  # line 7
        "Carl,carl@x.io,\n"  # line 8
    )
    event = api_event("POST", "/v1/contacts/imports", body=text, content_type="text/csv")
    status, report = call("ContactsFunction", event)
    assert status == 200, report
    rows = {row["line"]: (row["status"], row["field"]) for row in report["rows"]}
    assert rows == {
        2: ("created", None),
        3: ("rejected", "name"),
        5: ("rejected", "name"),
        6: ("rejected", "company"),
        7: ("rejected", "emails.0"),
        8: ("created", None),
    }
    status, listed = call("ContactsFunction", api_event("GET", "/v1/contacts"))
    assert sorted(c["name"] for c in listed["items"]) == ["Ada", "Carl"]
