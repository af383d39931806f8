"""One-time codes and rate limits, with the in-memory store that mirrors the DynamoDB adapter."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof.errors import Gone, InvalidInput, TooManyRequests
from callproof.otp import MAX_TRIES, CodeLocked, CodeUnavailable, OneTimeCodes, WrongCode
from callproof.ratelimit import RateLimits
from tests.fakes import InMemoryCodeStore, InMemoryRateCounter

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def codes(clock: list[datetime], store: InMemoryCodeStore | None = None) -> OneTimeCodes:
    return OneTimeCodes(store or InMemoryCodeStore(), lambda: KEY, lambda: clock[0])


def other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_is_six_digits_and_accepted_once() -> None:
    clock = [NOW]
    otp = codes(clock)
    code = otp.issue("org-a", "scope")
    assert len(code) == 6
    assert code.isdigit()
    otp.verify("org-a", "scope", code)
    with pytest.raises(CodeUnavailable):  # a replayed code is refused
        otp.verify("org-a", "scope", code)


def test_five_wrong_codes_lock_it_even_for_the_right_one() -> None:
    otp = codes([NOW])
    code = otp.issue("org-a", "scope")
    for left in range(MAX_TRIES - 1, 0, -1):
        with pytest.raises(WrongCode, match=f"{left} tries left"):
            otp.verify("org-a", "scope", other(code))
    with pytest.raises(CodeLocked):  # the fifth wrong try
        otp.verify("org-a", "scope", other(code))
    with pytest.raises(CodeLocked):
        otp.verify("org-a", "scope", code)


def test_a_code_expires_after_ten_minutes() -> None:
    clock = [NOW]
    otp = codes(clock)
    code = otp.issue("org-a", "scope")
    clock[0] = NOW + timedelta(minutes=10)
    with pytest.raises(Gone):
        otp.verify("org-a", "scope", code)


def test_a_new_code_replaces_the_old_one_and_its_tries() -> None:
    otp = codes([NOW])
    first = otp.issue("org-a", "scope")
    for _ in range(MAX_TRIES):
        with pytest.raises((WrongCode, CodeLocked)):
            otp.verify("org-a", "scope", other(first))
    second = otp.issue("org-a", "scope")
    if second != first:
        with pytest.raises(WrongCode):
            otp.verify("org-a", "scope", first)
    otp.verify("org-a", "scope", second)


def test_a_code_is_bound_to_its_org_and_scope() -> None:
    otp = codes([NOW])
    code = otp.issue("org-a", "scope")
    for org, scope in (("org-b", "scope"), ("org-a", "other-scope")):
        with pytest.raises(CodeUnavailable):
            otp.verify(org, scope, code)
    otp.verify("org-a", "scope", code)


def test_only_keyed_hashes_are_stored() -> None:
    store = InMemoryCodeStore()
    code = codes([NOW], store).issue("org-a", "dsar:+14155550100")
    [(org, slot)] = store.codes
    stored = str(store.codes[(org, slot)])
    assert code not in stored
    assert code not in slot
    assert "+14155550100" not in slot
    assert "+14155550100" not in stored


def test_the_stored_slot_and_hash_are_keyed_hashes_with_their_own_labels() -> None:
    """Slot = HMAC-SHA256(key, "otp-slot\\0" scope), hash = HMAC-SHA256(key, "otp-code\\0" scope "\\0" code):
    whoever holds the key finds a scope's item (and a code issued before a deploy is found after it);
    the labels keep both apart from every other keyed hash made with the same key."""
    store = InMemoryCodeStore()
    code = codes([NOW], store).issue("org-a", "dsar:+14155550100")
    slot = hmac.new(KEY, b"otp-slot\x00dsar:+14155550100", hashlib.sha256).hexdigest()
    code_hash = hmac.new(KEY, f"otp-code\x00dsar:+14155550100\x00{code}".encode(), hashlib.sha256).hexdigest()
    assert store.codes == {
        ("org-a", slot): {
            "hash": code_hash,
            "tries": 0,
            "used": False,
            "expires_at": int(NOW.timestamp()) + 600,
        }
    }


@pytest.mark.parametrize("text", ["", "12345", "1234567", "abcdef", "12 34 5"])
def test_a_malformed_code_is_refused_on_the_code_field(text: str) -> None:
    otp = codes([NOW])
    otp.issue("org-a", "scope")
    with pytest.raises(InvalidInput) as refused:
        otp.verify("org-a", "scope", text)
    assert (refused.value.message, refused.value.field) == ("enter the 6-digit code we texted you", "code")


def test_a_locked_code_is_refused_on_the_code_field() -> None:
    otp = codes([NOW])
    code = otp.issue("org-a", "scope")
    for _ in range(MAX_TRIES - 1):
        with pytest.raises(WrongCode):
            otp.verify("org-a", "scope", other(code))
    for attempt in (other(code), code):  # the fifth wrong try, then even the right code
        with pytest.raises(CodeLocked) as refused:
            otp.verify("org-a", "scope", attempt)
        assert (refused.value.message, refused.value.field) == (
            "too many wrong codes: ask for a new code",
            "code",
        )
        assert refused.value.code == "code_locked"


def test_a_used_expired_or_unknown_code_is_refused_on_the_code_field() -> None:
    clock = [NOW]
    otp = codes(clock)
    used = otp.issue("org-a", "used")
    otp.verify("org-a", "used", used)
    expired = otp.issue("org-a", "expired")
    clock[0] = NOW + timedelta(minutes=10)
    for scope, code in (("used", used), ("expired", expired), ("never-issued", "123456")):
        with pytest.raises(CodeUnavailable) as refused:
            otp.verify("org-a", scope, code)
        assert (refused.value.message, refused.value.field, refused.value.code) == (
            "the code has expired or was already used: ask for a new code", "code", "code_expired",
        )  # fmt: skip


def _malformed(text: str) -> bool:
    return not re.fullmatch(r"[0-9]{6}", text.strip().replace(" ", ""))


@given(st.text(max_size=12).filter(_malformed))
def test_malformed_codes_are_refused_without_costing_a_try(text: str) -> None:
    otp = codes([NOW])
    code = otp.issue("org-a", "scope")
    for _ in range(MAX_TRIES + 1):
        with pytest.raises(InvalidInput) as refused:
            otp.verify("org-a", "scope", text)
        assert not isinstance(refused.value, WrongCode)
    otp.verify("org-a", "scope", code)  # none of them was counted as a try


def test_a_code_with_spaces_is_read() -> None:
    otp = codes([NOW])
    code = otp.issue("org-a", "scope")
    otp.verify("org-a", "scope", f" {code[:3]} {code[3:]} ")


def test_rate_limits_count_per_party_per_hour_across_everything() -> None:
    clock = [NOW]
    limits = RateLimits(InMemoryRateCounter(), lambda: KEY, lambda: clock[0])
    for _ in range(3):
        limits.charge("phone-code", 3, "ip:203.0.113.9")
    with pytest.raises(TooManyRequests):
        limits.charge("phone-code", 3, "ip:203.0.113.9")
    limits.charge("phone-code", 3, "ip:203.0.113.10")  # another party
    limits.charge("privacy-request", 3, "ip:203.0.113.9")  # another action
    clock[0] = NOW + timedelta(hours=1)
    limits.charge("phone-code", 3, "ip:203.0.113.9")  # the next hour


def test_a_rate_window_is_the_whole_clock_hour() -> None:
    clock = [NOW]
    limits = RateLimits(InMemoryRateCounter(), lambda: KEY, lambda: clock[0])
    for minute in (0, 30, 59):
        clock[0] = NOW + timedelta(minutes=minute)
        limits.charge("phone-code", 3, "ip:203.0.113.9")
    clock[0] = NOW + timedelta(minutes=59, seconds=59)
    with pytest.raises(TooManyRequests) as refused:
        limits.charge("phone-code", 3, "ip:203.0.113.9")
    assert refused.value.message == "too many attempts from here or for this address; try again in an hour"
    assert refused.value.code == "rate_limited"
    clock[0] = NOW + timedelta(hours=1)
    limits.charge("phone-code", 3, "ip:203.0.113.9")


def test_a_counter_is_keyed_by_the_keyed_hash_of_action_and_party_and_the_utc_hour() -> None:
    """Whoever holds the key can find (or clear) one party's counter; the window names its hour."""
    counter = InMemoryRateCounter()
    RateLimits(counter, lambda: KEY, lambda: NOW + timedelta(minutes=42)).charge(
        "phone-code", 3, "ip:203.0.113.9"
    )
    key = hmac.new(KEY, b"rate\x00phone-code\x00ip:203.0.113.9", hashlib.sha256).hexdigest()
    assert dict(counter.counts) == {(key, "2026120112"): 1}


def test_rate_counters_never_hold_the_party() -> None:
    counter = InMemoryRateCounter()
    RateLimits(counter, lambda: KEY, lambda: NOW).charge("phone-code", 3, "phone:+14155550100")
    [(key, _)] = counter.counts
    assert "+14155550100" not in key
    assert "4155550100" not in key
