"""Issue 16, point 3: the org's product-update mail (POST /v1/org/announcements), on moto through the
template's routes. It reaches only members with current ``marketing_email`` consent, as raw SES mail
carrying the signed unsubscribe link and the RFC 8058 headers; the one-click POST appends a withdrawal
and the next announcement skips that member. Admin only; bad input is a 422 that sends nothing; a
retried post with its Idempotency-Key sends nothing more; a stranger's forged link changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from callproof_local.gateway import sent_mail
from tests.integration.conftest import Invoke
from tests.support import api_event, keyed

ADMIN = {"org": "org-a", "user": "admin-1", "roles": "admin"}
NEWS = {"subject": "New: call summaries", "text": "Call summaries are here."}


@pytest.fixture(autouse=True)
def public_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTS_PUBLIC_BASE_URL", "https://api.example.com/dev")


def outbox() -> list[dict[str, Any]]:
    return [sent_mail(m) for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]


def add_member(call: Invoke, email: str, org: str = "org-a") -> str:
    body = {"email": email, "full_name": email.split("@")[0], "roles": ["rep"]}
    status, member = call(
        "AccountsFunction", api_event("POST", "/v1/org/members", body=body, **{**ADMIN, "org": org})
    )
    assert status == 201, member
    return str(member["user_id"])


def marketing(call: Invoke, user: str, org: str = "org-a") -> None:
    event = api_event("POST", "/v1/me/consents", body={"purpose": "marketing_email"}, user=user, org=org)
    assert call("AccountsFunction", event)[0] == 201


def announce(call: Invoke, body: Any = NEWS, **caller: Any) -> tuple[int, Any]:
    return call(
        "AccountsFunction", api_event("POST", "/v1/org/announcements", body=body, **(caller or ADMIN))
    )


def one_click(call: Invoke, url: str) -> tuple[int, str]:
    token = parse_qs(urlsplit(url).query)["token"][0]
    event = api_event(
        "POST",
        "/email/unsubscribe",
        body="List-Unsubscribe=One-Click",
        query={"token": token},
        content_type="application/x-www-form-urlencoded",
    )
    event["requestContext"].pop("authorizer")
    answer = call.raw("AccountPagesFunction", event)  # type: ignore[attr-defined]
    return int(answer["statusCode"]), str(answer["body"])


def test_an_announcement_reaches_only_consenting_members_and_one_click_unsubscribes(call: Invoke) -> None:
    ann, bob, _cy = (add_member(call, f"{n}@example.com") for n in ("ann", "bob", "cy"))
    marketing(call, ann)
    marketing(call, bob)
    call(
        "AccountsFunction",
        api_event(
            "DELETE", "/v1/me/consents/marketing_email", resource="/v1/me/consents/{purpose}", user=bob
        ),
    )
    marketing(call, add_member(call, "dee@example.com", org="org-b"), org="org-b")  # never org-a's

    status, body = announce(call)
    assert status == 201, body
    assert (body["sent"], body["skipped"]) == (1, 2)  # ann only: bob withdrew, cy never agreed
    assert set(body) == {"id", "sent", "skipped"}  # counts, never who
    [mail] = outbox()
    assert (mail["to"], mail["subject"]) == (["ann@example.com"], NEWS["subject"])
    link = re.search(
        r"<(https://api\.example\.com/dev/email/unsubscribe\?token=[^>]+)>",
        mail["headers"]["List-Unsubscribe"],
    )
    assert link is not None
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.group(1) in mail["body"]
    assert NEWS["text"] in mail["body"]

    status, page = one_click(call, link.group(1))
    assert status == 200, page
    assert "no more marketing email" in page
    status, state = call("AccountsFunction", api_event("GET", "/v1/me/consents", user=ann))
    assert state["current"]["marketing_email"]["granted"] is False
    assert state["current"]["marketing_email"]["source"] == "unsubscribe_link"
    assert announce(call)[1]["sent"] == 0
    assert len(outbox()) == 1


def test_refusals_send_nothing(call: Invoke) -> None:
    marketing(call, add_member(call, "ann@example.com"))
    for bad in (
        {},
        {"subject": "", "text": "x"},
        {"subject": "a\nBcc: x@evil.example", "text": "x"},
        {**NEWS, "to": "x@evil.example"},
        {"subject": "s" * 201, "text": "x"},
    ):
        status, body = announce(call, bad)
        assert status == 422, (bad, body)
    status, body = announce(call, NEWS, org="org-a", user="rep-1", roles="rep")
    assert status == 403, body
    forged = "https://api.example.com/dev/email/unsubscribe?token=" + "A" * 40
    assert one_click(call, forged)[0] == 400
    assert outbox() == []


def test_a_retried_announcement_with_its_key_sends_once(call: Invoke) -> None:
    marketing(call, add_member(call, "ann@example.com"))
    first = call.raw(
        "AccountsFunction", keyed(api_event("POST", "/v1/org/announcements", body=NEWS, **ADMIN), "k1")
    )  # type: ignore[attr-defined]
    again = call.raw(
        "AccountsFunction", keyed(api_event("POST", "/v1/org/announcements", body=NEWS, **ADMIN), "k1")
    )  # type: ignore[attr-defined]
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert len(outbox()) == 1
