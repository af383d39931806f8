"""The cookie policy: every cookie a public page sets, declared once here and served at
``GET /legal/cookies``.

A browser test (tests/browser/test_cookie_policy.py) visits every public page and fails on a cookie
this table does not list, so the policy and the pages cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html import escape

from callproof import csrf, html_pages


@dataclass(frozen=True)
class DeclaredCookie:
    name: str
    set_by: str  # the pages that set it
    purpose: str
    lifetime: timedelta
    strictly_necessary: bool


_FORM_PURPOSE = (
    "Protects the form against cross-site request forgery: it pairs your browser with the form we "
    "served it, so another site cannot submit the form in your name. It holds a random value only."
)

COOKIES = (
    DeclaredCookie("sms_csrf", "SMS opt-out and opt-in pages (/sms/opt-out, /sms/opt-in)", _FORM_PURPOSE, csrf.TTL, True),
    DeclaredCookie("privacy_csrf", "Privacy request page (/privacy)", _FORM_PURPOSE, csrf.TTL, True),
)  # fmt: skip

# Browser storage that is not a cookie, listed because the ePrivacy rules cover it alike.
STORAGE = (
    DeclaredCookie(
        "callproof.dsar.token (sessionStorage)",
        "Compliance console (/console), staff only",
        "Keeps the staff member's sign-in token for the browser tab; gone when the tab closes.",
        timedelta(0),
        True,
    ),
)

TITLE = "Cookie policy"


def declared_names() -> frozenset[str]:
    return frozenset(cookie.name for cookie in COOKIES)


def _lifetime(value: timedelta) -> str:
    if not value:
        return "until the browser tab closes"
    hours = int(value.total_seconds() // 3600)
    if hours and not value.total_seconds() % 3600:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{int(value.total_seconds() // 60)} minutes"


def _rows(cookies: tuple[DeclaredCookie, ...]) -> str:
    return "".join(
        f'<tr><th scope="row"><code>{escape(c.name)}</code></th><td>{escape(c.set_by)}</td>'
        f"<td>{escape(c.purpose)}</td><td>{_lifetime(c.lifetime)}</td>"
        f"<td>{'Strictly necessary' if c.strictly_necessary else 'Optional (asked first)'}</td></tr>"
        for c in cookies
    )


def _table(caption: str, cookies: tuple[DeclaredCookie, ...]) -> str:
    return (
        f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">Name</th>'
        '<th scope="col">Set by</th><th scope="col">Purpose</th><th scope="col">Lifetime</th>'
        f'<th scope="col">Kind</th></tr></thead><tbody>{_rows(cookies)}</tbody></table>'
    )


def document() -> str:
    body = (
        "<p>Our public pages set only the cookies listed below. Each is strictly necessary for a form "
        "you asked to use, so it needs no consent; none is used for analytics or advertising, none is "
        "set by a third party, and none identifies you.</p>"
        + _table("Cookies", COOKIES)
        + "<p>The compliance console, used by our staff only, keeps one value in the browser's session "
        "storage:</p>"
        + _table("Other browser storage", STORAGE)
        + "<p>You can delete these cookies at any time in your browser's settings; the form then asks "
        "you to reload the page before you submit it.</p>"
    )
    return html_pages.document(TITLE, body)
