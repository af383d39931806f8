"""The public SMS consent pages in headless Chromium, against the local stack."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def _api(stack: RunningStack, org: str, method: str, path: str, body: Any = None) -> Any:
    token = stack.token(org, "browser-admin", ["admin", "rep"])
    response = requests.request(
        method, stack.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture
def org(local_stack: RunningStack) -> str:
    org = f"browser-{uuid.uuid4().hex[:8]}"
    number = "+1500555" + str(uuid.uuid4().int)[:4]
    _api(local_stack, org, "PUT", "/v1/org/sms/senders", {"phone_numbers": [number]})
    return org


def _status(stack: RunningStack, org: str, phone: str) -> list[tuple[str, str]]:
    history = _api(stack, org, "GET", f"/v1/sms/consent/{quote(phone)}")["history"]
    return [(h["status"], h["source"]) for h in history]


def test_opt_out_then_opt_in_through_signed_links(local_stack: RunningStack, org: str, browser: Any) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    page = browser.new_page()
    try:
        out = _api(local_stack, org, "POST", "/v1/sms/links", {"phone": phone, "action": "opt-out"})["url"]
        page.goto(out)
        assert page.get_by_role("heading", level=1).inner_text() == "Stop text messages"
        assert phone[-4:] in page.content()
        assert phone not in page.content()  # the number is masked
        page.get_by_role("button", name="Stop texts").click()
        assert "will get no more text messages" in page.get_by_role("status").inner_text()
        assert _status(local_stack, org, phone) == [("opted_out", "web")]

        back_in = _api(local_stack, org, "POST", "/v1/sms/links", {"phone": phone, "action": "opt-in"})["url"]
        page.goto(back_in)
        page.get_by_role("button", name="Start texts").click()
        assert "can receive our text messages again" in page.get_by_role("status").inner_text()
        assert _status(local_stack, org, phone) == [("opted_in", "web"), ("opted_out", "web")]
    finally:
        page.close()


def test_typed_number_opt_out_with_a_validation_message(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    phone = "415 555 " + str(uuid.uuid4().int)[:4]
    page = browser.new_page()
    try:
        page.goto(f"{local_stack.url}/sms/opt-out?org={org}")
        field = page.get_by_label("Mobile number")
        field.fill("12")
        page.get_by_role("button", name="Stop texts").click()
        assert "valid mobile number" in page.get_by_role("alert").inner_text()
        page.get_by_label("Mobile number").fill(phone)
        page.get_by_role("button", name="Stop texts").click()
        assert "no more text messages" in page.get_by_role("status").inner_text()
        assert _status(local_stack, org, "+1" + phone.replace(" ", "")) == [("opted_out", "web")]
    finally:
        page.close()


def test_a_stale_form_is_refused(local_stack: RunningStack, org: str, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{local_stack.url}/sms/opt-out?org={org}")
        context.clear_cookies()  # as if the CSRF cookie expired or the post came from elsewhere
        page.get_by_label("Mobile number").fill("+14155550123")
        page.get_by_role("button", name="Stop texts").click()
        assert "reload the page" in page.get_by_role("alert").inner_text()
        assert _status(local_stack, org, "+14155550123") == []
    finally:
        context.close()
