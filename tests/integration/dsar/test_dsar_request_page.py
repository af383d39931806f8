"""The public privacy request page on moto (issue 15, point 2): ``GET /privacy`` serves the form with a
CSRF field and its cookie; ``POST /privacy`` files through the same path as ``POST /privacy/requests``
(confirmation mail, phone code, pending until confirmed) naming the org by its slug or published name,
never by its internal id. What a stranger can do with it: nothing without the form's own cookie, from
another site, for an org that publishes no such name, or with markup in the fields."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.dsar.test_dsar_identity_proof import (  # noqa: F401
    ADA,
    MALLORY,
    Sms,
    codes_to,
    dsar,
    link,
    sms,
    staff,
)
from tests.support import api_event, form_event

ORIGIN = "https://api.example"


@pytest.fixture
def page(dsar: Sms) -> Sms:  # noqa: F811
    body = {"slug": "acme", "published_name": "Acme Corporation"}
    event = api_event("PUT", "/v1/org/settings", body=body, roles="admin", user="admin-1")
    assert dsar.json(event, "AccountsFunction")[0] == 200
    return dsar


def open_form(stack: Sms) -> tuple[str, str]:
    """(cookie header, csrf field) of a freshly served form."""
    response = stack.raw(form_event("/privacy", {}, method="GET"), "DsarPagesFunction")
    assert response["statusCode"] == 200
    cookie = response["multiValueHeaders"]["Set-Cookie"][0]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie
    field = re.findall(r'name="csrf" value="([^"]+)"', response["body"])[0]
    return cookie.split(";")[0], field


def submit(stack: Sms, fields: dict[str, str], cookie: str | None, origin: str = ORIGIN) -> dict[str, Any]:
    headers = {"origin": origin, **({"cookie": cookie} if cookie else {})}
    return stack.raw(form_event("/privacy", fields, headers=headers), "DsarPagesFunction")


def requests(stack: Sms) -> list[dict[str, Any]]:
    status, listed = staff(stack, "GET", "/v1/dsar/requests")
    assert status == 200
    return list(listed["items"])


def test_the_form_is_accessible_html_with_no_script(page: Sms) -> None:
    response = page.raw(form_event("/privacy", {}, method="GET"), "DsarPagesFunction")
    body = response["body"]
    assert page.header(response, "Content-Type").startswith("text/html")
    assert "default-src 'none'" in page.header(response, "Content-Security-Policy")
    assert "<script" not in body
    assert '<html lang="en">' in body
    for name in ("org", "email", "phone", "jurisdiction", "recipient_email", "details", "lift"):
        assert f'<label for="{name}"' in body, name
    assert "<fieldset" in body
    assert "<legend>What would you like us to do?</legend>" in body
    for kind in ("access", "portability", "erasure", "correction", "restriction"):
        assert f'value="{kind}"' in body


def test_filing_by_slug_or_published_name_sends_the_confirmation_and_the_phone_code(page: Sms) -> None:
    cookie, field = open_form(page)
    fields = {"csrf": field, "org": " ACME ", "type": "access", "email": MALLORY, "phone": ADA,
              "jurisdiction": "gdpr"}  # fmt: skip
    response = submit(page, fields, cookie)
    assert response["statusCode"] == 200, response["body"]
    assert "confirm" in response["body"]
    assert "texted" in response["body"]
    [filed] = requests(page)
    assert (filed["type"], filed["status"]) == ("access", "pending_confirmation")
    assert link()  # the confirmation mail went to the address typed
    assert len(codes_to(page, ADA)) == 1  # and the code to the phone

    fields = {"csrf": field, "org": "acme  corporation", "type": "erasure", "email": "ada@example.com",
              "jurisdiction": "ccpa", "details": "all of it"}  # fmt: skip
    assert submit(page, fields, cookie)["statusCode"] == 200
    assert sorted(item["type"] for item in requests(page)) == ["access", "erasure"]
    assert all(item["status"] == "pending_confirmation" for item in requests(page))


def test_a_stranger_files_nothing_without_the_form_cookie_or_from_another_site(page: Sms) -> None:
    cookie, field = open_form(page)
    other_cookie, _ = open_form(page)
    fields = {"csrf": field, "org": "acme", "type": "erasure", "email": MALLORY, "jurisdiction": "gdpr"}
    for refused in (
        submit(page, fields, None),  # a cross-site post carries no SameSite=Strict cookie
        submit(page, fields, other_cookie),  # another form's cookie
        submit(page, {**fields, "csrf": "forged.field"}, cookie),
        submit(page, {k: v for k, v in fields.items() if k != "csrf"}, cookie),
        submit(page, fields, cookie, origin="https://evil.example"),
    ):
        assert refused["statusCode"] == 403, refused["body"]
        assert "<form" in refused["body"] or "cross-site" in refused["body"]
    assert requests(page) == []


def test_an_org_is_named_only_by_what_it_publishes_and_bad_input_changes_nothing(page: Sms) -> None:
    cookie, field = open_form(page)
    good = {"csrf": field, "org": "acme", "type": "access", "email": MALLORY, "jurisdiction": "gdpr"}
    for changes, status, field_name in (
        ({"org": "org-a"}, 404, "org"),  # the internal id is not a public name
        ({"org": "nobody-publishes-this"}, 404, "org"),
        ({"org": ""}, 404, "org"),
        ({"type": "everything"}, 422, "type"),
        ({"email": "not-an-email"}, 422, "email"),
        ({"phone": "12"}, 422, "phone"),
        ({"jurisdiction": "mars"}, 422, "jurisdiction"),
        ({"recipient_email": "x@example.com"}, 422, "recipient_email"),  # access has no recipient
        ({"lift": "1"}, 422, "lift"),
        ({"details": "x" * 2001}, 422, "details"),
    ):
        response = submit(page, {**good, **changes}, cookie)
        assert response["statusCode"] == status, (changes, response["body"])
        body = response["body"]
        assert 'role="alert"' in body
        assert 'name="csrf"' in body
        assert f'id="{field_name}"' in body, changes
        assert 'aria-invalid="true"' in body, changes
    assert requests(page) == []

    markup = {**good, "org": '<script>alert(1)</script>"'}
    body = submit(page, markup, cookie)["body"]
    assert "<script>" not in body
    assert "&lt;script&gt;" in body


def test_the_hourly_limit_answers_429_and_files_nothing_more(page: Sms) -> None:
    cookie, field = open_form(page)
    fields = {"csrf": field, "org": "acme", "type": "access", "email": MALLORY, "jurisdiction": "gdpr"}
    answers = [submit(page, fields, cookie)["statusCode"] for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert len(requests(page)) == 5
