"""The compliance console in headless Chromium, against the local stack (workflows really run)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
WORKFLOW_TIMEOUT_MS = 90_000


@pytest.fixture
def org(local_stack: RunningStack) -> str:
    return f"console-{uuid.uuid4().hex[:8]}"


def _sign_in(page: Any, stack: RunningStack, org: str) -> list[str]:
    """Sign in as a compliance officer of ``org``; returns the console errors seen from then on
    (a Content-Security-Policy violation would land there)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{stack.url}/console")
    page.get_by_label("Bearer token").fill(stack.token(org, "officer", ["compliance"]))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text("Signed in.")
    return errors


def test_create_follow_and_download_an_access_request(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    call(
        local_stack,
        org,
        "POST",
        "/v1/contacts",
        {"name": "Ada Lovelace", "type": "customer", "emails": [email]},
    )
    page = browser.new_page()
    try:
        errors = _sign_in(page, local_stack, org)
        page.get_by_label("Type").select_option("access")
        page.get_by_label("Subject email").fill(email)
        page.get_by_label("Jurisdiction").select_option("gdpr")
        page.get_by_label("Verification").fill("passport checked by video call")
        page.get_by_role("button", name="Create request").click()
        expect(page.get_by_role("status")).to_contain_text("created")
        request_id = page.get_by_role("status").inner_text().split()[1]

        row = page.locator(f'#requests tr[data-id="{request_id}"]')
        expect(row).to_be_visible()
        assert row.locator("td").nth(1).inner_text() == "access"

        page.get_by_role("button", name=f"Open request {request_id}").click()
        expect(page.locator("#detail-status")).to_have_text("completed", timeout=WORKFLOW_TIMEOUT_MS)
        contacts = page.locator("#stores tbody tr", has=page.get_by_role("cell", name="contacts", exact=True))
        assert [cell.inner_text() for cell in contacts.locator("td").all()][:3] == ["contacts", "done", "1"]
        expect(page.locator("#timeline")).to_contain_text("completed")
        expect(row.locator("td").nth(2)).to_have_text("completed")  # the list followed the status
        expect(page.locator("#facts")).to_contain_text("removed at completion")  # ADR 0022
        expect(page.locator("#facts")).not_to_contain_text(email)
        expect(page.locator("#facts")).not_to_contain_text("passport checked")

        with page.expect_download() as download:
            page.get_by_role("button", name="Download").click()
        archive = Path(download.value.path()).read_bytes()
        assert archive.startswith(b"PK")
        expect(page.get_by_role("alert")).to_have_text("")
        assert errors == []
    finally:
        page.close()


def test_list_sorting_extend_start_cancel_and_filter(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    def create(received: date) -> dict[str, Any]:
        body = {
            "type": "access",
            "subject": {"email": f"s-{uuid.uuid4().hex[:6]}@example.com"},
            "jurisdiction": "ccpa",
            "received": received.isoformat(),
            "verification": "account login",
            "start": False,
        }
        created: dict[str, Any] = call(local_stack, org, "POST", "/v1/dsar/requests", body)
        return created

    later = create(datetime.now(UTC).date())
    sooner = create(datetime.now(UTC).date() - timedelta(days=40))  # CCPA: due in 5 days
    page = browser.new_page()
    try:
        _sign_in(page, local_stack, org)
        rows = page.locator("#requests tbody tr")
        expect(rows).to_have_count(2)
        assert [rows.nth(i).get_attribute("data-id") for i in range(2)] == [sooner["id"], later["id"]]
        assert rows.nth(0).get_attribute("class") == "due-soon"
        assert rows.nth(0).locator("td").nth(4).inner_text() == "5 (due soon)"

        page.get_by_role("button", name=f"Open request {sooner['id']}").click()
        expect(page.locator("#detail-status")).to_have_text("verified")
        expect(page.get_by_role("button", name="Start")).to_be_visible()
        expect(page.get_by_role("button", name="Retry")).to_be_hidden()
        page.get_by_label("Extension reason").fill("the subject's records span three systems")
        page.get_by_role("button", name="Extend").click()
        # read the request only once the page says the extension landed (the click returns at once)
        expect(page.get_by_role("status")).to_contain_text("Extended: now due")
        extended = call(local_stack, org, "GET", f"/v1/dsar/requests/{sooner['id']}")
        expect(page.get_by_role("status")).to_have_text(f"Extended: now due {extended['due']}.")
        assert extended["extended"] is True
        assert extended["due"] > sooner["due"]
        expect(page.locator("#facts")).to_contain_text(f"{extended['due']} (extended)")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("#detail-status")).to_have_text("completed", timeout=WORKFLOW_TIMEOUT_MS)
        expect(page.get_by_role("button", name="Start")).to_be_hidden()

        page.get_by_role("button", name=f"Open request {later['id']}").click()
        page.get_by_label("Cancellation reason").fill("the subject withdrew the request")
        page.get_by_role("button", name="Cancel request").click()
        expect(page.locator("#detail-status")).to_have_text("cancelled")
        expect(page.get_by_role("button", name="Extend")).to_be_hidden()
        assert call(local_stack, org, "GET", f"/v1/dsar/requests/{later['id']}")["status"] == "cancelled"

        page.reload()  # the tab stays signed in
        expect(page.locator("#requests tbody tr")).to_have_count(2)
        page.get_by_label("Filter by status").select_option("cancelled")
        expect(page.locator("#requests tbody tr")).to_have_count(1)
        assert page.locator("#requests tbody tr").get_attribute("data-id") == later["id"]

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Bearer token")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0
        page.reload()
        expect(page.get_by_label("Bearer token")).to_be_visible()
        expect(page.locator("#requests tbody tr")).to_have_count(0)
    finally:
        page.close()


def test_a_bad_token_shows_an_error(local_stack: RunningStack, browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{local_stack.url}/console")
        page.get_by_label("Bearer token").fill("not-a-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("token was refused")
        expect(page.get_by_label("Bearer token")).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        assert page.evaluate("sessionStorage.length") == 0
    finally:
        page.close()


def test_a_non_compliance_role_sees_the_api_refusal(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{local_stack.url}/console")
        page.get_by_label("Bearer token").fill(local_stack.token(org, "a-rep", ["rep"]))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("requires one of the roles: compliance")
        expect(page.get_by_label("Bearer token")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0
    finally:
        page.close()


def test_a_request_that_needs_review_is_listed_first_and_staff_choose_its_subject(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    switchboard = "+1415555" + str(uuid.uuid4().int)[:4]

    def contact(name: str) -> dict[str, Any]:  # the switchboard number, and an email of their own
        body = {"name": name, "type": "customer", "phones": [switchboard], "emails": [f"{name}@acme.example"]}
        created: dict[str, Any] = call(local_stack, org, "POST", "/v1/contacts", body)
        return created

    ada, bob = contact("ada"), contact("bob")
    today = datetime.now(UTC).date()
    earlier = call(  # due sooner: without the review rule it would be listed first
        local_stack,
        org,
        "POST",
        "/v1/dsar/requests",
        {
            "type": "access",
            "subject": {"email": f"s-{uuid.uuid4().hex[:6]}@example.com"},
            "jurisdiction": "gdpr",
            "received": (today - timedelta(days=10)).isoformat(),
            "verification": "account login",
            "start": False,
        },
    )
    review = call(
        local_stack,
        org,
        "POST",
        "/v1/dsar/requests",
        {
            "type": "access",
            "subject": {"phone": switchboard},
            "jurisdiction": "gdpr",
            "received": today.isoformat(),
            "verification": "called back on the number",
        },
    )
    assert review["status"] == "needs_review"
    assert {(c["kind"], c["id"]) for c in review["subject"]["candidates"]} == {
        ("contact", ada["id"]),
        ("contact", bob["id"]),
    }
    page = browser.new_page()
    try:
        errors = _sign_in(page, local_stack, org)
        rows = page.locator("#requests tbody tr")
        expect(rows).to_have_count(2)
        assert [rows.nth(i).get_attribute("data-id") for i in range(2)] == [review["id"], earlier["id"]]
        assert rows.nth(0).get_attribute("class") == "needs-review"
        assert rows.nth(1).get_attribute("class") == ""
        expect(rows.nth(0).locator("td").nth(2).locator("strong")).to_have_text("needs review")

        page.get_by_role("button", name=f"Open request {review['id']}").click()
        expect(page.locator("#detail-status")).to_have_text("needs review")
        facts = page.locator("#facts")
        expect(facts).to_contain_text("Proven identifiersphone")
        expect(facts).to_contain_text("Unverified identifiersnone")
        candidates = page.locator("#candidates tbody tr")
        expect(candidates).to_have_count(2)
        assert sorted(
            tuple(cell.inner_text() for cell in candidates.nth(i).locator("td").all()[1:]) for i in range(2)
        ) == sorted([("contact", ada["id"], "phone"), ("contact", bob["id"], "phone")])

        page.get_by_label("Reason for the choice").fill("the caller gave Ada's email on the call")
        page.get_by_role("button", name="Choose subject").click()  # nobody ticked
        expect(page.get_by_role("alert")).to_have_text("Tick at least one candidate.")
        expect(page.locator("#detail-status")).to_have_text("needs review")

        page.get_by_role("checkbox", name=f"Choose contact {ada['id']}").check()
        page.get_by_role("button", name="Choose subject").click()
        expect(page.get_by_role("status")).to_contain_text("Subject chosen")
        expect(page.get_by_role("alert")).to_have_text("")
        expect(page.locator("#detail-status")).not_to_have_text("needs review")
        expect(page.locator("#subject-form")).to_be_hidden()
        expect(page.locator("#detail-status")).to_have_text("completed", timeout=WORKFLOW_TIMEOUT_MS)
        expect(facts).to_contain_text(f"Contacts found{ada['id']}")
        contacts = page.locator("#stores tbody tr", has=page.get_by_role("cell", name="contacts", exact=True))
        assert [cell.inner_text() for cell in contacts.locator("td").all()][:3] == ["contacts", "done", "1"]
        # no longer needs review: the list is back to due-date order
        expect(rows.nth(0)).to_have_attribute("data-id", earlier["id"])
        expect(rows.nth(1).locator("td").nth(2)).to_have_text("completed")

        chosen = call(local_stack, org, "GET", f"/v1/dsar/requests/{review['id']}")
        assert chosen["subject"]["contacts_found"] == [ada["id"]]
        assert chosen["subject"]["users_found"] == []
        assert errors == []
    finally:
        page.close()
