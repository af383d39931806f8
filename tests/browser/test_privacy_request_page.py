"""The public privacy request page in headless Chromium, against the local stack (issue 15, point 2):
a person who knows only the company's published name or slug files each request type by keyboard and
labels, with no script on the page, and confirms one through the emailed link."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from callproof.dsar.request_form import TYPE_LABELS, types
from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack, new_client

pytestmark = pytest.mark.e2e


def _through_own_client(route: Any) -> None:
    """Posts leave from a loopback address of their own (``new_client``), as people's browsers come
    from their own IPs: the per-client hourly limit of the public routes meets each filing once.
    The browser still builds the post (fields, CSRF cookie, Origin) and renders the answer."""
    request = route.request
    if request.method != "POST":
        route.continue_()
        return
    answer = new_client().post(
        request.url, data=request.post_data_buffer, headers=request.all_headers(), timeout=30,
        allow_redirects=False,
    )  # fmt: skip
    route.fulfill(status=answer.status_code, headers=dict(answer.headers), body=answer.content)


def test_each_request_type_is_filed_by_published_name_and_one_is_confirmed(
    local_stack: RunningStack, browser: Any
) -> None:
    org = f"privacy-{uuid.uuid4().hex[:8]}"
    slug = f"acme-{uuid.uuid4().hex[:6]}"
    name = f"Acme {uuid.uuid4().hex[:6]} Ltd"
    call(local_stack, org, "PUT", "/v1/org/settings", {"slug": slug, "published_name": name}, roles=["admin"])
    context = browser.new_context(java_script_enabled=False)  # the form needs no script
    page = context.new_page()
    page.route(f"{local_stack.url}/privacy", _through_own_client)
    emails = {}
    try:
        for kind in types():
            emails[kind.value] = f"{kind.value}-{uuid.uuid4().hex[:6]}@example.com"
            page.goto(f"{local_stack.url}/privacy")
            assert page.get_by_role("heading", level=1).inner_text() == "Make a privacy request"
            page.get_by_label("Company", exact=True).fill(slug if kind.value == "access" else name.upper())
            page.get_by_role("radio", name=TYPE_LABELS[kind.value]).check()
            page.get_by_label("Your email address", exact=True).fill(emails[kind.value])
            page.get_by_label("Where do you live?", exact=True).select_option("gdpr")
            if kind.value == "portability":
                page.get_by_label("The other company's email address").fill("dpo@other.example")
            if kind.value in ("correction", "complaint"):
                page.get_by_label("Details (optional)", exact=True).fill("My surname is spelt Lovelace.")
            page.get_by_role("button", name="Send my request").click()
            assert "we have emailed you a link" in page.get_by_role("status").inner_text(), kind

        listed = call(local_stack, org, "GET", "/v1/dsar/requests")["items"]
        assert sorted(item["type"] for item in listed) == sorted(kind.value for kind in types())
        assert "complaint" in emails  # every type the page offers, complaints included

        outbox = requests.get(f"{local_stack.url}/_local/outbox", timeout=30).json()["messages"]
        [mail] = [m for m in outbox if emails["access"] in m["to"]]
        page.goto(re.findall(r"https?://\S+/privacy/confirm\?token=\S+", mail["body"])[0])
        page.get_by_role("button", name="Confirm my request").click()
        assert "your request is confirmed" in page.get_by_role("status").inner_text()
    finally:
        context.close()
