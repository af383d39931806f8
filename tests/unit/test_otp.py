"""One-time codes and rate limits, with the in-memory store that mirrors the DynamoDB adapter."""

from __future__ import annotations

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


def test_rate_counters_never_hold_the_party() -> None:
    counter = InMemoryRateCounter()
    RateLimits(counter, lambda: KEY, lambda: NOW).charge("phone-code", 3, "phone:+14155550100")
    [(key, _)] = counter.counts
    assert "+14155550100" not in key
    assert "4155550100" not in key
