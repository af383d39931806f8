"""The UTC clock services default to, and time-ordered ids (SMS messages, data-subject requests)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def time_ordered_id(now: datetime) -> str:
    """Microseconds since the epoch (15 hex digits) + 32 random bits: sorts by time, never collides."""
    return f"{int(now.timestamp() * 1_000_000):015x}{secrets.token_hex(4)}"
