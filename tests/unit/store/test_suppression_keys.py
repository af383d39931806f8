"""The suppression key secret's shapes (ADR 0009, "Rotating the suppression key"): the first shape
{"key": ...} is version 1, the versioned shape lists keys and names the current one, and anything
else is refused rather than hashed with a guessed key."""

from __future__ import annotations

from typing import Any

import pytest

from callproof.store.suppression_dynamo import (
    SuppressionKeyError,
    SuppressionKeys,
    suppression_pk,
)

K1, K2, K3 = "a" * 32, "b" * 40, "c" * 48

NO_KEY = 'the secret has neither "key" nor "keys"'


def short(version: int) -> str:
    return f"the key of version {version} is not a string of 32+ characters"


def test_the_first_shape_is_version_1_alone() -> None:
    ring = SuppressionKeys.from_secret({"key": K1})
    assert ring == SuppressionKeys({"1": K1.encode()}, "1")
    assert ring == SuppressionKeys.single(K1.encode())
    assert ring.versions == ["1"]


def test_the_versioned_shape_names_the_key_writes_use() -> None:
    ring = SuppressionKeys.from_secret({"keys": {"1": K1, "2": K2}, "current": "2"})
    assert ring.current == "2"
    assert ring.keys == {"1": K1.encode(), "2": K2.encode()}
    assert ring.versions == ["2", "1"]


def test_step_one_of_a_rotation_lists_the_new_key_but_keeps_writing_with_the_old() -> None:
    ring = SuppressionKeys.from_secret({"keys": {"1": K1, "2": K2}, "current": "1"})
    assert ring.versions == ["1", "2"]


def test_without_current_the_highest_version_writes_and_versions_compare_as_numbers() -> None:
    ring = SuppressionKeys.from_secret({"keys": {"9": K1, "10": K2, "2": K3}})
    assert ring.current == "10"
    assert ring.versions == ["10", "9", "2"]


def test_the_first_shape_and_new_versions_side_by_side() -> None:
    ring = SuppressionKeys.from_secret({"key": K1, "keys": {"2": K2}, "current": "2"})
    assert ring.keys == {"1": K1.encode(), "2": K2.encode()}
    assert SuppressionKeys.from_secret({"key": K1, "keys": {"1": K1}}).keys == {"1": K1.encode()}


# The refusal is what an operator reads after a bad rotation: each names what is wrong, word for word.
@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ({}, NO_KEY),
        ({"value": K1}, NO_KEY),
        ({"key": ""}, short(1)),
        ({"key": "short"}, short(1)),
        ({"key": 12345}, short(1)),
        ({"key": "a" * 31}, short(1)),
        ({"keys": {"1": K1, "2": "x" * 31}}, short(2)),
        ({"keys": [K1]}, '"keys" is not an object of version -> key'),
        ({"keys": {"01": K1}}, "version '01' is not a whole number from 1"),
        ({"keys": {"0": K1}}, "version '0' is not a whole number from 1"),
        ({"keys": {"v2": K1}}, "version 'v2' is not a whole number from 1"),
        ({"keys": {1: K1}}, "version 1 is not a whole number from 1"),
        ({"keys": {"1": K1}, "current": "2"}, "the current version '2' is not among the keys"),
        ({"keys": {"1": K1}, "current": 1}, '"current" is not a version string such as "2"'),
        ({"key": K1, "keys": {"1": K2}}, '"key" and "keys"."1" differ: which one is version 1?'),
    ],
)
def test_other_shapes_are_refused(secret: dict[Any, Any], says: str) -> None:
    with pytest.raises(SuppressionKeyError) as raised:
        SuppressionKeys.from_secret(secret)
    assert str(raised.value) == says


def test_a_ring_needs_its_current_key() -> None:
    with pytest.raises(SuppressionKeyError):
        SuppressionKeys({}, "1")


def test_hashes_carry_their_version_except_the_first() -> None:
    first = suppression_pk(K1.encode(), "org-a", "phone", "+14155550100")
    assert first == suppression_pk(K1.encode(), "org-a", "phone", "+14155550100", "1")
    assert first.startswith("ORG#org-a#SUPPRESS#")
    assert "#k" not in first
    assert len(first.rsplit("#", 1)[1]) == 64
    second = suppression_pk(K2.encode(), "org-a", "phone", "+14155550100", "2")
    assert second.startswith("ORG#org-a#SUPPRESS#k2#")
    assert second.rsplit("#", 1)[1] != first.rsplit("#", 1)[1]
    # The version is only a tag: the same key under another version hashes the same value alike.
    assert suppression_pk(K1.encode(), "org-a", "phone", "+14155550100", "3").endswith(
        first.rsplit("#", 1)[1]
    )
