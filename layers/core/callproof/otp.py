"""One-time codes that prove a person holds a phone number (texted by ``callproof.sms.verification``).

A code is 6 digits, valid 10 minutes, allows 5 tries and is used once. Only its keyed hash is stored
(HMAC-SHA256 with a secret key, so a copy of the table does not give the codes away, as a plain hash
of 6 digits would), under a slot that is itself a keyed hash of the code's scope: no phone number or
request id appears in a key. Issuing a new code for a scope replaces the old one and its tries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from callproof.errors import Gone, InvalidInput, TooManyRequests
from callproof.ids import utc_now

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
_CODE = re.compile(rf"^[0-9]{{{CODE_DIGITS}}}$")


class CodeOutcome(StrEnum):
    ACCEPTED = "accepted"  # right code: it is used now and never accepted again
    WRONG = "wrong"  # counted as a try
    LOCKED = "locked"  # no tries left
    MISSING = "missing"  # none issued, expired or already used


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: CodeOutcome
    tries_left: int = 0


class CodeStore(Protocol):
    """Issued codes by org and slot (an opaque keyed hash of the scope)."""

    def put(self, org_id: str, slot: str, code_hash: str, expires_at: int) -> None:
        """Store a new code for the slot, replacing any earlier one (its tries start at 0)."""
        ...

    def use(self, org_id: str, slot: str, code_hash: str, now: int, max_tries: int) -> CodeCheck:
        """Atomically: accept and consume the code if it matches, is unexpired, unused and has
        tries left; else count a wrong try (while any are left) and say what happened."""
        ...


class WrongCode(InvalidInput):
    code = "wrong_code"


class CodeLocked(TooManyRequests):
    code = "code_locked"


class CodeUnavailable(Gone):
    code = "code_expired"


class OneTimeCodes:
    def __init__(
        self,
        store: CodeStore,
        key: Callable[[], bytes],
        clock: Callable[[], datetime] = utc_now,
        new_code: Callable[[], str] = lambda: f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}",
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock
        self._new_code = new_code

    def issue(self, org_id: str, scope: str) -> str:
        """A fresh code for ``scope`` (e.g. one request's phone); the caller sends it."""
        code = self._new_code()
        expires = int((self._clock() + CODE_TTL).timestamp())
        self._store.put(org_id, self._slot(scope), self._hash(scope, code), expires)
        return code

    def verify(self, org_id: str, scope: str, code: str) -> None:
        """Accept the code once, or raise: ``InvalidInput`` for a malformed or wrong code (a wrong
        one costs a try), ``CodeLocked`` (429) after 5 wrong tries, ``CodeUnavailable`` (410) for
        an expired or used code or none at all."""
        text = code.strip().replace(" ", "")
        if not _CODE.match(text):
            raise InvalidInput(f"enter the {CODE_DIGITS}-digit code we texted you", field="code")
        now = int(self._clock().timestamp())
        check = self._store.use(org_id, self._slot(scope), self._hash(scope, text), now, MAX_TRIES)
        if check.outcome is CodeOutcome.ACCEPTED:
            return
        if check.outcome is CodeOutcome.WRONG and check.tries_left:
            raise WrongCode(f"that code is not right ({check.tries_left} tries left)", field="code")
        if check.outcome in (CodeOutcome.WRONG, CodeOutcome.LOCKED):
            raise CodeLocked("too many wrong codes: ask for a new code", field="code")
        raise CodeUnavailable("the code has expired or was already used: ask for a new code", field="code")

    def _slot(self, scope: str) -> str:
        return hmac.new(self._key(), b"otp-slot\x00" + scope.encode(), hashlib.sha256).hexdigest()

    def _hash(self, scope: str, code: str) -> str:
        return hmac.new(self._key(), f"otp-code\x00{scope}\x00{code}".encode(), hashlib.sha256).hexdigest()
