"""CSV import through the contacts function on moto."""

from __future__ import annotations

import base64
from typing import Any

from tests.integration.conftest import Invoke
from tests.support import api_event


def import_csv(call: Invoke, text: str, **kwargs: Any) -> tuple[int, Any]:
    event = api_event("POST", "/v1/contacts/imports", body=text, content_type="text/csv", **kwargs)
    return call("ContactsFunction", event)


def people_csv(count: int) -> str:
    rows = "".join(f"Person {i},p{i}@example.com,+1 202 555 {i:04d}\n" for i in range(count))
    return "name,email,phone\n" + rows


def test_a_thousand_row_file_imports_at_once(call: Invoke) -> None:
    """The synchronous limit; larger files go through an upload and a job (test_contact_import_jobs_api)."""
    status, report = import_csv(call, people_csv(1_000))
    assert status == 200, report
    assert report["counts"] == {
        "created": 1_000,
        "updated": 0,
        "duplicate": 0,
        "rejected": 0,
        "suppressed": 0,
    }
    assert [row["line"] for row in report["rows"]] == list(range(2, 1_002))
    lookup = {"phones": ["+1 202 555 0042"], "emails": ["p999@example.com"]}
    status, found = call("ContactsFunction", api_event("POST", "/v1/contacts/lookup", body=lookup))
    assert [c["name"] for c in found["phones"]["+12025550042"]] == ["Person 42"]
    assert [c["name"] for c in found["emails"]["p999@example.com"]] == ["Person 999"]


def test_importing_a_file_again_only_finds_duplicates(call: Invoke) -> None:
    text = people_csv(300)
    assert import_csv(call, text)[1]["counts"]["created"] == 300
    _, again = import_csv(call, text)
    assert again["counts"] == {"created": 0, "updated": 0, "duplicate": 300, "rejected": 0, "suppressed": 0}
    _, listed = call("ContactsFunction", api_event("GET", "/v1/contacts", query={"limit": "100"}))
    assert listed["next_cursor"]  # 300 contacts, not 600: checked precisely by the counts above


def test_import_answers_per_row_and_is_scoped_to_the_org(call: Invoke) -> None:
    status, report = import_csv(call, "name,email,phone\nAda,ada@x.io,\nBad,,12\n")
    assert status == 200
    assert [r["status"] for r in report["rows"]] == ["created", "rejected"]
    assert report["rows"][1]["field"] == "phones[0]"
    status, other = import_csv(call, "name,email\nAda,ada@x.io\n", org="org-b")
    assert [r["status"] for r in other["rows"]] == ["created"]  # org-a's Ada is invisible to org-b


def test_base64_bodies_are_decoded(call: Invoke) -> None:
    event = api_event("POST", "/v1/contacts/imports", body=None, content_type="text/csv")
    event["body"] = base64.b64encode("name,email\nZoë,zoe@x.io\n".encode()).decode()
    event["isBase64Encoded"] = True
    status, report = call("ContactsFunction", event)
    assert (status, report["counts"]["created"]) == (200, 1)


def test_bad_files_get_4xx_and_write_nothing(call: Invoke) -> None:
    cases = [
        ("email\na@x.io\n", "text/csv", 422),
        ("", "text/csv", 422),
        ("name,email\nA,a@x.io\n", "application/json", 415),
        ("name\n" + "x" * (10 * 1024 * 1024), "text/csv", 413),
    ]
    for text, content_type, expected in cases:
        event = api_event("POST", "/v1/contacts/imports", body=text, content_type=content_type)
        status, error = call("ContactsFunction", event)
        assert status == expected, (content_type, error)
        assert error["error"]["code"]
    status, listed = call("ContactsFunction", api_event("GET", "/v1/contacts"))
    assert listed["items"] == []


def test_invalid_utf8_is_refused(call: Invoke) -> None:
    event = api_event("POST", "/v1/contacts/imports", body=None, content_type="text/csv")
    event["body"] = base64.b64encode(b"name\n\xff\xfe\n").decode()
    event["isBase64Encoded"] = True
    status, error = call("ContactsFunction", event)
    assert (status, error["error"]["field"]) == (422, "body")
