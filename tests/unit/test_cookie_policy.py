"""The cookie policy lists every cookie the code sets; the page says what each is for and how long it lives."""

from __future__ import annotations

import re
from pathlib import Path

from callproof import cookie_policy, csrf

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def test_every_form_cookie_a_function_names_is_declared() -> None:
    named = {
        match
        for app in FUNCTIONS.glob("*/app.py")
        for match in re.findall(r'^\w*COOKIE\w* = "([^"]+)"', app.read_text(encoding="utf-8"), re.MULTILINE)
    }
    assert named == {"sms_csrf", "privacy_csrf"}  # a new cookie fails here until it is declared
    assert named <= cookie_policy.declared_names()


def test_the_page_lists_name_purpose_lifetime_and_kind_of_each() -> None:
    page = cookie_policy.document()
    for cookie in cookie_policy.COOKIES + cookie_policy.STORAGE:
        assert f"<code>{cookie.name}</code>" in page
    assert page.count("<td>2 hours</td>") == len(cookie_policy.COOKIES)
    assert csrf.TTL.total_seconds() == 7200
    assert "until the browser tab closes" in page
    assert "Optional" not in page  # every cookie is strictly necessary: nothing is asked first
    assert page.count("Strictly necessary") == len(cookie_policy.COOKIES) + len(cookie_policy.STORAGE)
