"""The audit trail of data-subject requests: append-only and hash-chained, per org.

Each entry carries the SHA-256 of the previous entry (``prev_hash``; the first one carries
``GENESIS``) and its own ``hash`` over the canonical JSON (sorted keys, no whitespace) of every other
field. Changing, removing, inserting or reordering an entry breaks the chain at that entry, and
``verify`` reports the first broken link; the stored head (last seq and hash) also reveals a
truncated tail.

Pseudonymous only: ``actor`` is a user id (``user:<id>``), ``system`` or a workflow step; the subject
is never named. ``detail`` holds ids, counts and reasons (store names, row counts, legal bases), never
an email, phone number, name or message: the trail outlives an erasure and must hold nothing to erase.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

GENESIS = "0" * 64
Detail = Mapping[str, str | int]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    org_id: str
    seq: int  # 1, 2, 3 ... per org
    at: datetime  # UTC
    actor: str
    action: str
    request_id: str
    detail: Detail = field(default_factory=dict)
    prev_hash: str = GENESIS
    hash: str = ""


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry's seq and hash, kept apart from the entries."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first entry where the chain breaks: its position (0-based), its seq as stored, and why."""

    index: int
    seq: int
    reason: str


def entry_hash(
    org_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    request_id: str,
    detail: Detail,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of every field of an entry but its hash."""
    canonical = json.dumps(
        {
            "org_id": org_id,
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "request_id": request_id,
            "detail": dict(detail),
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(entry: AuditEntry) -> AuditEntry:
    """The entry with its hash computed."""
    return replace(entry, hash=_hash_of(entry))


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        entry.org_id,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.request_id,
        entry.detail,
        entry.prev_hash,
    )


def verify(entries: Iterable[AuditEntry], head: ChainHead | None = None) -> BrokenLink | None:
    """The first broken link of a chain read in seq order, or None when it is intact.

    An entry is broken when its seq is not the previous seq + 1 (the first is 1), when its prev_hash
    is not the previous entry's hash (the first's is ``GENESIS``), or when its hash is not the hash of
    its fields. With the stored ``head``, entries missing after the last one are reported too.
    """
    seq, prev, index = 0, GENESIS, -1
    for index, entry in enumerate(entries):
        if entry.seq != seq + 1:
            return BrokenLink(index, entry.seq, f"seq {entry.seq} where {seq + 1} was expected")
        if entry.prev_hash != prev:
            return BrokenLink(index, entry.seq, "prev_hash is not the previous entry's hash")
        if _hash_of(entry) != entry.hash:
            return BrokenLink(index, entry.seq, "hash does not match the entry's content")
        seq, prev = entry.seq, entry.hash
    if head is not None and (head.seq, head.hash) != (seq, prev):
        return BrokenLink(index + 1, seq + 1, f"the head records seq {head.seq}; the chain ends at seq {seq}")
    return None


class AuditLog(Protocol):
    """The per-org hash chain. Appends are serialised per org (a conditional head); an ``event_key``
    names the event (e.g. ``<request id>:<step>:<attempt-free name>``) so that a retried step never
    appends twice."""

    def append(
        self, org_id: str, event_key: str, actor: str, action: str, request_id: str, detail: Detail
    ) -> bool:
        """Append one entry; False (and nothing written) when ``event_key`` was already appended."""
        ...

    def entries(self, org_id: str) -> Iterator[AuditEntry]:
        """Every entry of the org in seq order, paged."""
        ...

    def head(self, org_id: str) -> ChainHead | None:
        """The last entry's seq and hash, None before the first append."""
        ...
