"""The hash chain: a valid chain verifies; tampering with any one field, hash or the order of a valid
chain is reported at the first entry it breaks (hypothesis)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from hypothesis import assume, given
from hypothesis import strategies as st

from callproof.dsar.audit import GENESIS, AuditEntry, ChainHead, entry_hash, seal, verify

START = datetime(2026, 11, 28, 9, tzinfo=UTC)

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-:", min_size=1, max_size=12)
details = st.dictionaries(ids, st.one_of(ids, st.integers(-(10**6), 10**6)), max_size=3)
events = st.tuples(ids, ids, ids, details)


def chain(org_id: str, items: list[tuple[str, str, str, dict[str, str | int]]]) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for seq, (actor, action, request_id, detail) in enumerate(items, start=1):
        entry = seal(
            AuditEntry(org_id, seq, START + timedelta(seconds=seq), actor, action, request_id, detail, prev)
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def test_entry_hash_is_sha256_of_canonical_json() -> None:
    entry = seal(AuditEntry("org-a", 1, START, "user:u1", "request.created", "req-1", {"b": 2, "a": "x"}))
    canonical = (
        '{"action":"request.created","actor":"user:u1","at":"2026-11-28T09:00:00+00:00",'
        '"detail":{"a":"x","b":2},"org_id":"org-a","prev_hash":"'
        + GENESIS
        + '","request_id":"req-1","seq":1}'
    )
    assert json.loads(canonical)  # the literal above is the canonical form: sorted, no whitespace
    assert entry.hash == sha256(canonical.encode()).hexdigest()
    assert entry.hash == entry_hash(
        "org-a", 1, START, "user:u1", "request.created", "req-1", {"a": "x", "b": 2}, GENESIS
    )


def test_empty_chain_is_intact_unless_the_head_says_otherwise() -> None:
    assert verify([]) is None
    broken = verify([], ChainHead(1, "f" * 64))
    assert broken is not None
    assert broken.index == 0


@given(st.text(min_size=1, max_size=8), st.lists(events, min_size=1, max_size=8))
def test_a_valid_chain_verifies(org_id: str, items: list[tuple[str, str, str, dict[str, str | int]]]) -> None:
    entries = chain(org_id, items)
    assert verify(entries) is None
    assert verify(entries, ChainHead(entries[-1].seq, entries[-1].hash)) is None


FIELDS = ("org_id", "seq", "at", "actor", "action", "request_id", "detail", "prev_hash", "hash")


def tampered(entry: AuditEntry, name: str, data: st.DataObject) -> AuditEntry:
    value = getattr(entry, name)
    if name == "seq":
        new: object = data.draw(st.integers(0, 10**6).filter(lambda v: v != value))
    elif name == "at":
        new = value + timedelta(seconds=data.draw(st.integers(1, 10**6)))
    elif name == "detail":
        new = data.draw(details.filter(lambda d: d != value))
    elif name in {"prev_hash", "hash"}:
        new = data.draw(
            st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).filter(lambda h: h != value)
        )
    else:
        new = data.draw(st.text(max_size=12).filter(lambda t: t != value))
    return replace(entry, **{name: new})


@given(st.lists(events, min_size=1, max_size=8), st.data())
def test_tampering_with_one_field_is_reported_at_that_entry(
    items: list[tuple[str, str, str, dict[str, str | int]]], data: st.DataObject
) -> None:
    entries = chain("org-a", items)
    index = data.draw(st.integers(0, len(entries) - 1))
    name = data.draw(st.sampled_from(FIELDS))
    entries[index] = tampered(entries[index], name, data)
    broken = verify(entries)
    assert broken is not None
    assert broken.index == index
    assert broken.seq == entries[index].seq


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_reordering_is_reported_at_the_first_moved_entry(
    items: list[tuple[str, str, str, dict[str, str | int]]], data: st.DataObject
) -> None:
    entries = chain("org-a", items)
    order = data.draw(st.permutations(range(len(entries))))
    assume(list(order) != list(range(len(entries))))
    first_moved = next(i for i, j in enumerate(order) if i != j)
    broken = verify([entries[j] for j in order])
    assert broken is not None
    assert broken.index == first_moved
    assert "seq" in broken.reason


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_a_removed_entry_is_reported_where_it_was(
    items: list[tuple[str, str, str, dict[str, str | int]]], data: st.DataObject
) -> None:
    entries = chain("org-a", items)
    index = data.draw(st.integers(0, len(entries) - 2))
    del entries[index]
    broken = verify(entries)
    assert broken is not None
    assert broken.index == index


@given(st.lists(events, min_size=2, max_size=8), st.data())
def test_a_truncated_tail_is_caught_by_the_head(
    items: list[tuple[str, str, str, dict[str, str | int]]], data: st.DataObject
) -> None:
    entries = chain("org-a", items)
    head = ChainHead(entries[-1].seq, entries[-1].hash)
    keep = data.draw(st.integers(0, len(entries) - 1))
    assert verify(entries[:keep]) is None  # without the head a truncated tail is invisible
    broken = verify(entries[:keep], head)
    assert broken is not None
    assert broken.index == keep
    assert broken.seq == keep + 1


def test_a_rehashed_forgery_still_breaks_the_next_link() -> None:
    """Rewriting an entry and recomputing its own hash moves the break to the next entry."""
    entries = chain(
        "org-a", [("user:u1", "a", "r1", {}), ("user:u1", "b", "r1", {}), ("user:u1", "c", "r1", {})]
    )
    entries[1] = seal(replace(entries[1], detail={"rows": 0}))
    broken = verify(entries)
    assert broken is not None
    assert (broken.index, broken.seq) == (2, 3)
    assert "prev_hash" in broken.reason
