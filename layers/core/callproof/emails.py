"""Email addresses: validated syntax (no DNS look-up), stored lower-cased.

Two rules: ``normalize_email`` for addresses we only store and match (contacts), and the narrower
``sign_in_email`` for addresses that become a Cognito sign-in identity (org members).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from email_validator import ValidatedEmail

MAX_LENGTH = 254
SIGN_IN_MAX_LENGTH = 128  # a Cognito username: "a UTF-8 string between 1 and 128 characters"


class InvalidEmail(ValueError):
    """The input is not a syntactically valid email address; the message says why."""


def _validated(raw: str) -> ValidatedEmail:
    # imported on first use: it compiles its grammar's regular expressions at import (ADR 0013)
    from email_validator import EmailNotValidError, validate_email

    text = raw.strip()
    if not text or len(text) > MAX_LENGTH:
        raise InvalidEmail("empty" if not text else f"longer than {MAX_LENGTH} characters")
    try:
        return validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None


def normalize_email(raw: str) -> str:
    return _validated(raw).normalized.lower()


def sign_in_email(raw: str) -> str:
    """An address Cognito takes as a user's sign-in (the user pool signs in by email), lower-cased.

    Beyond ``normalize_email``'s syntax (a dot-atom local part, a domain with a dot, no quoted
    local part, no IP literal): ASCII only, because Cognito refuses internationalized addresses (a
    non-ASCII local part never works; an internationalized domain only in its ASCII ``xn--`` form,
    which is what its users must then type to sign in), and at most 128 characters, the length of a
    Cognito username. Narrower rules a Cognito implementation applies on top (moto's user pools
    refuse ``'`` and most other specials of the local part) come back from the directory as a 422
    naming ``email`` (``store/identity_cognito.py``).
    """
    validated = _validated(raw)
    ascii_form = validated.ascii_email  # None when the local part is not ASCII
    if not raw.strip().isascii() or ascii_form is None:
        hint = f" (this domain's ASCII form: {ascii_form.lower()})" if ascii_form else ""
        raise InvalidEmail(f"a sign-in email address must be ASCII{hint}")
    email = ascii_form.lower()
    if len(email) > SIGN_IN_MAX_LENGTH:
        raise InvalidEmail(f"a sign-in email address has at most {SIGN_IN_MAX_LENGTH} characters")
    return email
