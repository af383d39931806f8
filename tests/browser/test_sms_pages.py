"""The public SMS consent pages in headless Chromium, against the local stack."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.api import fresh_number
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
    _api(local_stack, org, "PUT", "/v1/org/sms/senders", {"phone_numbers": [fresh_number()[1]]})
    return org


def _status(stack: RunningStack, org: str, phone: str) -> list[tuple[str, str]]:
    history = _api(stack, org, "POST", "/v1/sms/consent/lookup", {"phone": phone})["history"]
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


def _double_url(stack: RunningStack) -> str:
    return str(json.loads((stack.home / "local-stack.json").read_text())["twilio_double_url"])


def _texts_to(stack: RunningStack, phone: str) -> list[dict[str, Any]]:
    messages = requests.get(f"{_double_url(stack)}/_double/messages", timeout=10).json()["messages"]
    return [m for m in messages if m["to"] == phone]


def _code_texted_to(stack: RunningStack, org: str, phone: str) -> str:
    (text,) = _texts_to(stack, phone)
    assert text["from"] == _api(stack, org, "GET", "/v1/org/sms")["phone_numbers"][0]  # the org's sender
    found = re.search(r"\b(\d{6})\b", str(text["body"]))
    assert found is not None, text["body"]
    return found.group(1)


# Chromium always comes from 127.0.0.1, one client for the per-client code limit (5 an hour):
# the tests below ask for two codes in all.
def test_typed_number_opt_out_needs_the_texted_code(
    local_stack: RunningStack, org: str, browser: Any
) -> None:
    typed, phone = fresh_number()
    page = browser.new_page()
    try:
        page.goto(f"{local_stack.url}/sms/opt-out?org={org}")
        page.get_by_label("Mobile number").fill("12")
        page.get_by_role("button", name="Text me a code").click()
        assert "valid mobile number" in page.get_by_role("alert").inner_text()
        page.get_by_label("Mobile number").fill(typed)
        page.get_by_role("button", name="Text me a code").click()
        assert _status(local_stack, org, phone) == []  # nothing is recorded for a typed number alone
        code = _code_texted_to(local_stack, org, phone)

        wrong = f"{(int(code) + 1) % 10**6:06d}"
        page.get_by_label("Code from the text message").fill(wrong)
        page.get_by_role("button", name="Stop texts").click()
        assert "4 tries left" in page.get_by_role("alert").inner_text()
        assert _status(local_stack, org, phone) == []

        page.get_by_label("Code from the text message").fill(code)
        page.get_by_role("button", name="Stop texts").click()
        assert "no more text messages" in page.get_by_role("status").inner_text()
        assert phone[-4:] in page.content()
        assert _status(local_stack, org, phone) == [("opted_out", "web")]
    finally:
        page.close()


def test_a_stale_form_is_refused(local_stack: RunningStack, org: str, browser: Any) -> None:
    typed, phone = fresh_number()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{local_stack.url}/sms/opt-out?org={org}")
        context.clear_cookies()  # as if the CSRF cookie expired or the post came from elsewhere
        page.get_by_label("Mobile number").fill(typed)
        page.get_by_role("button", name="Text me a code").click()
        assert "reload the page" in page.get_by_role("alert").inner_text()
        assert _texts_to(local_stack, phone) == []  # no code was texted

        page.goto(f"{local_stack.url}/sms/opt-out?org={org}")
        page.get_by_label("Mobile number").fill(typed)
        page.get_by_role("button", name="Text me a code").click()
        code = _code_texted_to(local_stack, org, phone)
        context.clear_cookies()  # the right code on a stale form still opts nothing out
        page.get_by_label("Code from the text message").fill(code)
        page.get_by_role("button", name="Stop texts").click()
        assert "reload the page" in page.get_by_role("alert").inner_text()
        assert _status(local_stack, org, phone) == []
    finally:
        context.close()
