"""The public SMS consent pages: small, accessible HTML forms (no script, no external resources)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from callproof.html_pages import document
from callproof.otp import CODE_DIGITS
from callproof.phones import masked

TITLES = {"opt-out": "Stop text messages", "opt-in": "Receive text messages again"}


@dataclass(frozen=True, slots=True)
class FormPage:
    action: str  # "opt-out" | "opt-in"
    csrf: str
    token: str | None = None  # a signed link: the number is known (shown masked)
    masked_number: str | None = None
    org_id: str | None = None  # typed-number form
    e164: str | None = None  # typed-number form, second step: the number the code was texted to
    error: str | None = None


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
    elif page.e164:
        described = ' aria-describedby="form-error" aria-invalid="true"' if page.error else ""
        hidden += (
            f'<input type="hidden" name="org" value="{escape(page.org_id or "")}">'
            f'<input type="hidden" name="phone" value="{escape(page.e164)}">'
        )
        parts.append(
            f"<p>If {escape(masked(page.e164))} can receive our texts, we just sent it a {CODE_DIGITS}-digit "
            f"code. Enter it to confirm that this number should {verb} our text messages.</p>"
        )
        fields = (
            '<label for="code">Code from the text message</label>'
            f'<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required '
            f'maxlength="{CODE_DIGITS + 2}"{described}>'
        )
    else:
        hidden += f'<input type="hidden" name="org" value="{escape(page.org_id or "")}">'
        parts.append(
            f"<p>Enter your mobile number to {verb} our text messages. We will text it a code to make "
            "sure the number is yours.</p>"
        )
        described = ' aria-describedby="form-error" aria-invalid="true"' if page.error else ""
        fields = (
            '<label for="phone">Mobile number</label>'
            f'<input id="phone" name="phone" type="tel" autocomplete="tel" required maxlength="64"{described}>'
        )
    button = "Stop texts" if page.action == "opt-out" else "Start texts"
    if not (page.token or page.e164):
        button = "Text me a code"
    parts.append(
        f'<form method="post" action="{page.action}">{hidden}{fields}<button type="submit">{button}</button></form>'
    )
    if page.e164:  # the same number without a code: a new code (after a lock, an expiry or a lost text)
        parts.append(
            f'<form method="post" action="{page.action}">{hidden}<button type="submit">Text me a new code</button></form>'
        )
    if page.action == "opt-out":
        parts.append("<p>You can also reply STOP to any of our messages.</p>")
    return document(title, "".join(parts))


def done(action: str, masked_number: str) -> str:
    if action == "opt-out":
        text = f"Done: {masked_number} will get no more text messages from us. Reply START to a message, or use an opt-in link, to change your mind."
    else:
        text = (
            f"Done: {masked_number} can receive our text messages again. Reply STOP at any time to stop them."
        )
    return document(TITLES[action], f'<p class="done" role="status">{escape(text)}</p>')


def problem(action: str, message: str) -> str:
    return document(
        TITLES.get(action, "Text messages"), f'<p class="error" role="alert">{escape(message)}</p>'
    )


def opt_in_by_reply(action: str) -> str:
    """Opt-in without a link: a typed number proves nothing, so the person texts START themselves."""
    return document(
        TITLES[action],
        "<p>To receive our text messages again, reply <strong>START</strong> from your phone to the number "
        "that texted you, or use the opt-in link your account team sent you.</p>",
    )
