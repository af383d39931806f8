"""Effects that happen once per request however often the call or step behind them runs (a retried
API call, a replayed state-machine task): an audit entry, an email. ``digest`` is the SHA-256 under
which a value is kept or audited instead of the value itself."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from callproof.errors import TemporarilyUnavailable

if TYPE_CHECKING:
    from callproof.dsar.audit import AuditLog
    from callproof.dsar.model import DsarRequest
    from callproof.dsar.ports import Mailer, RequestStore


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def audit_once(
    audit: AuditLog,
    request: DsarRequest,
    actor: str,
    action: str,
    detail: Mapping[str, str | int],
    per: object,
) -> None:
    """Append an audit entry once per request, action and ``per`` (a store, an attempt...): a
    replayed step finds its entry and appends nothing."""
    key = f"{request.id}:{action}" if per is None else f"{request.id}:{action}:{per}"
    audit.append(request.org_id, key, actor, action, request.id, dict(detail))


def send_once(
    requests: RequestStore, mailer: Mailer, request: DsarRequest, key: str, to: str, subject: str, text: str
) -> None:
    """Send an email at most once per request and ``key``: a replayed step finds the claim and
    sends nothing; a failed send releases it so that the retry sends."""
    mail_once(requests, mailer, request.org_id, request.id, key, to, subject, text)


class Claims(Protocol):
    """Once-markers of one item (a request, an incident): ``claim`` is False when already claimed."""

    def claim(self, org_id: str, item_id: str, key: str, /) -> bool: ...

    def release(self, org_id: str, item_id: str, key: str, /) -> None: ...


def mail_once(
    claims: Claims, mailer: Mailer, org_id: str, item_id: str, key: str, to: str, subject: str, text: str
) -> bool:
    """``send_once`` for any item with once-markers (the breach register's too); True when it sent."""
    if not claims.claim(org_id, item_id, key):
        return False
    try:
        mailer.send(to, subject, text)
    except Exception:
        claims.release(org_id, item_id, key)
        raise TemporarilyUnavailable("the email could not be sent; retry") from None
    return True
