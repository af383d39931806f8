"""The public pages of a privacy request: confirm it (with the texted phone code) and the outcome."""

from __future__ import annotations

from html import escape

from callproof.dsar.model import DsarRequest, Proof, RequestType, Status
from callproof.html_pages import document
from callproof.otp import CODE_DIGITS
from callproof.phones import masked

TITLE = "Confirm your privacy request"
WHAT = {
    RequestType.ACCESS: "send you a copy of the data we hold about you",
    RequestType.PORTABILITY: "send a copy of your data to the recipient you named",
    RequestType.ERASURE: "delete all data we hold about you (this cannot be undone)",
    RequestType.CORRECTION: "correct the data we hold about you",
    RequestType.RESTRICTION: "restrict (or lift the restriction of) the processing of your data",
    RequestType.COMPLAINT: "look into your complaint and answer you in writing",
}


def confirm(request: DsarRequest, token: str, *, error: str | None = None, notice: str | None = None) -> str:
    """A GET never confirms (mail scanners open links): the button POSTs. With a phone still to
    prove, the form asks for the texted code and offers a new one."""
    query = escape(token)
    parts = []
    if error:
        parts.append(f'<p class="error" role="alert" id="form-error">{escape(error)}</p>')
    if notice:
        parts.append(f'<p class="done" role="status">{escape(notice)}</p>')
    parts.append(f'<form method="post" action="confirm?token={query}">')
    parts.append(f"<p>You asked us to {escape(WHAT[request.type])}.</p>")
    phone = request.identifiers.phone
    if phone and Proof.PHONE in request.identifiers.unverified:
        described = ' aria-describedby="form-error" aria-invalid="true"' if error else ""
        parts.append(
            f"<p>You also gave the number {escape(masked(phone))}. If it can receive our texts, we sent it "
            f"a {CODE_DIGITS}-digit code: enter it to include the data tied to that number. Without the "
            "code, your request covers the data tied to your email address only.</p>"
            '<label for="code">Code from the text message (optional)</label>'
            f'<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" '
            f'maxlength="{CODE_DIGITS + 2}"{described}>'
        )
    parts.append('<button type="submit">Confirm my request</button></form>')
    if phone and Proof.PHONE in request.identifiers.unverified:
        parts.append(
            f'<form method="post" action="confirm?token={query}"><input type="hidden" name="resend" value="1">'
            '<button type="submit">Text me a new code</button></form>'
        )
    return document(TITLE, "".join(parts))


def confirmed(request: DsarRequest) -> str:
    if request.status is Status.NEEDS_REVIEW:
        text = (
            "Thank you: your request is confirmed. Our staff will check whose data it concerns before "
            f"we {WHAT[request.type]}; we will answer by {request.deadline.due.isoformat()} at the latest."
        )
    else:
        text = (
            f"Thank you: your request is confirmed. We will {WHAT[request.type]} "
            f"by {request.deadline.due.isoformat()} at the latest."
        )
    return document(TITLE, f'<p class="done" role="status">{escape(text)}</p>')


def problem(message: str) -> str:
    return document(TITLE, f'<p class="error" role="alert">{escape(message)}</p>')
