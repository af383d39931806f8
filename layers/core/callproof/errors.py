"""Domain errors. Services raise these; each resolver maps them to HTTP in one place (``callproof.http``)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can cause. ``code`` is a stable machine-readable identifier."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    """Also what another org's object answers: its existence is never revealed."""

    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class Gone(DomainError):
    """What was there once is no more: an expired link (its request or export may still exist)."""

    code = "gone"


class TooManyRequests(DomainError):
    """The caller went over a rate limit (public forms): retry later."""

    code = "rate_limited"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class TemporarilyUnavailable(DomainError):
    """A dependency kept throttling after every retry: nothing was lost, the caller should retry."""

    code = "temporarily_unavailable"


class SendRefused(Conflict):
    """An SMS send the consent rules refuse; ``code`` is the machine-readable reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = reason


class NotTextable(InvalidInput):
    """The contact can never be texted as it stands (not a customer, no phone); ``code`` says why."""

    def __init__(self, reason: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = reason
