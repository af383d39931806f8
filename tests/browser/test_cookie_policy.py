"""Every public page of the template, visited in headless Chromium: each cookie a page sets must be
listed in the cookie policy (``GET /legal/cookies``), which the browser then reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from callproof import cookie_policy
from callproof_local.provision import declared_functions
from tests.fixtures.local_stack.api import call, fresh_number
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e

Visit = Callable[[RunningStack, str], str]  # (stack, org) -> the path and query to open


def _sms_link(action: str) -> Visit:
    def visit(stack: RunningStack, org: str) -> str:
        answer = call(stack, org, "POST", "/v1/sms/links", {"phone": fresh_number()[1], "action": action})
        return str(answer["url"]).removeprefix(stack.url)

    return visit


def _bare(path: str) -> Visit:
    return lambda stack, org: path


# Every public GET route, in the state that shows its form where it has one (a form is what sets a
# cookie); a signed-link page without a valid link shows its error page, which must set none either.
VISITS: dict[str, Visit] = {
    "/sms/opt-out": _sms_link("opt-out"),
    "/sms/opt-in": _sms_link("opt-in"),
    "/privacy": _bare("/privacy"),
    "/privacy/confirm": _bare("/privacy/confirm?token=not-a-link"),
    "/privacy/download": _bare("/privacy/download?token=not-a-link"),
    "/email/unsubscribe": _bare("/email/unsubscribe?token=not-a-link"),
    "/guardian/consent": _bare("/guardian/consent?token=not-a-link"),
    "/legal/cookies": _bare("/legal/cookies"),
    "/console": _bare("/console"),
    "/console/app.js": _bare("/console/app.js"),
    "/oauth/google/callback": _bare("/oauth/google/callback?state=x&code=y"),
    "/oauth/{provider}/calendar/callback": _bare("/oauth/google/calendar/callback?state=x&code=y"),
}


def _public_pages() -> set[str]:
    return {
        route.path
        for function in declared_functions().values()
        for route in function.api_events
        if route.method == "GET" and not route.auth_required
    }


def test_every_public_page_is_visited() -> None:
    assert _public_pages() == set(VISITS), "a new public page: add how to visit it to VISITS"


def test_every_cookie_a_public_page_sets_is_in_the_cookie_policy(
    local_stack: RunningStack, browser: Any
) -> None:
    org = f"cookies-{uuid.uuid4().hex[:8]}"
    call(local_stack, org, "PUT", "/v1/org/sms/senders", {"phone_numbers": [fresh_number()[1]]})
    context = browser.new_context()
    seen: dict[str, set[str]] = {}
    try:
        page = context.new_page()
        for path, visit in sorted(VISITS.items()):
            context.clear_cookies()
            page.goto(local_stack.url + visit(local_stack, org))
            seen[path] = {cookie["name"] for cookie in context.cookies()}
        undeclared = {path: names - cookie_policy.declared_names() for path, names in seen.items()}
        assert not any(undeclared.values()), f"cookies missing from the cookie policy: {undeclared}"
        # Not vacuous: the form pages really set their cookies, and the policy page lists them.
        assert seen["/sms/opt-out"] == {"sms_csrf"}
        assert seen["/privacy"] == {"privacy_csrf"}
        page.goto(local_stack.url + "/legal/cookies")
        listed = page.locator("table").first.locator("tbody th").all_inner_texts()
        assert set(listed) == cookie_policy.declared_names()
    finally:
        context.close()
