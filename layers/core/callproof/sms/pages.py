"""The public SMS consent pages: small, accessible HTML forms (no script, no external resources)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The link token is in the URL: never sent to another site. (no-referrer would make browsers send
    # "Origin: null" on our own form posts, which the same-origin check refuses.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
CONTENT_TYPE = "text/html; charset=utf-8"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5;"
    "color:#111;background:#fff}label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #555}"
    "button{margin-top:1rem;font-size:1rem;padding:.6rem 1.2rem;background:#0b57d0;color:#fff;border:0}"
    "button:focus,input:focus{outline:3px solid #f9a825;outline-offset:2px}"
    ".error{color:#a50e0e;font-weight:600}.done{color:#136c2e;font-weight:600}"
)

TITLES = {"opt-out": "Stop text messages", "opt-in": "Receive text messages again"}


@dataclass(frozen=True, slots=True)
class FormPage:
    action: str  # "opt-out" | "opt-in"
    csrf: str
    token: str | None = None  # a signed link: the number is known (shown masked)
    masked_number: str | None = None
    org_id: str | None = None  # typed-number form
    error: str | None = None


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


document = _document  # the accounts function's unsubscribe page uses the same shell


def form(page: FormPage) -> str:
    title = TITLES[page.action]
    parts = []
    if page.error:
        parts.append(f'<p class="error" role="alert" id="form-error">{escape(page.error)}</p>')
    verb = "stop receiving" if page.action == "opt-out" else "receive"
    hidden = f'<input type="hidden" name="csrf" value="{escape(page.csrf)}">'
    if page.token:
        hidden += f'<input type="hidden" name="token" value="{escape(page.token)}">'
        parts.append(
            f"<p>Confirm that the number {escape(page.masked_number or '')} should {verb} our text messages.</p>"
        )
        fields = ""
    else:
        hidden += f'<input type="hidden" name="org" value="{escape(page.org_id or "")}">'
        parts.append(f"<p>Enter your mobile number to {verb} our text messages.</p>")
        described = ' aria-describedby="form-error" aria-invalid="true"' if page.error else ""
        fields = (
            '<label for="phone">Mobile number</label>'
            f'<input id="phone" name="phone" type="tel" autocomplete="tel" required maxlength="64"{described}>'
        )
    button = "Stop texts" if page.action == "opt-out" else "Start texts"
    parts.append(
        f'<form method="post" action="{page.action}">{hidden}{fields}<button type="submit">{button}</button></form>'
    )
    if page.action == "opt-out":
        parts.append("<p>You can also reply STOP to any of our messages.</p>")
    return _document(title, "".join(parts))


def done(action: str, masked_number: str) -> str:
    if action == "opt-out":
        text = f"Done: {masked_number} will get no more text messages from us. Reply START to a message, or use an opt-in link, to change your mind."
    else:
        text = (
            f"Done: {masked_number} can receive our text messages again. Reply STOP at any time to stop them."
        )
    return _document(TITLES[action], f'<p class="done" role="status">{escape(text)}</p>')


def problem(action: str, message: str) -> str:
    return _document(
        TITLES.get(action, "Text messages"), f'<p class="error" role="alert">{escape(message)}</p>'
    )


def opt_in_by_reply(action: str) -> str:
    """Opt-in without a link: a typed number proves nothing, so the person texts START themselves."""
    return _document(
        TITLES[action],
        "<p>To receive our text messages again, reply <strong>START</strong> from your phone to the number "
        "that texted you, or use the opt-in link your account team sent you.</p>",
    )
