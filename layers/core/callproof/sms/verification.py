"""Proof that a person holds a phone number: a one-time code texted from the org's own sender.

Used by the public privacy requests (a phone reaches its records only once proven) and by the
typed-number SMS opt-out form (nobody can opt out someone else's number). Sending is limited per
client address and per number across every org (``callproof.ratelimit``), before anything else is
looked at, so the answer is the same whether the org exists, has a sender, or the number may be
texted. A number that opted out or was erased is never texted, not even a code: that person proves
their number to staff instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from callproof.errors import InvalidInput
from callproof.otp import CODE_TTL, OneTimeCodes
from callproof.sms.model import ConsentStatus
from callproof.sms.ports import RecipientOptedOut, SmsGateway, SmsStore, SuppressionList

if TYPE_CHECKING:
    from callproof.ratelimit import RateLimits

CODES_PER_HOUR_PER_CLIENT = 5
CODES_PER_HOUR_PER_NUMBER = 3


def opted_out(store: SmsStore, suppression: SuppressionList | None, org_id: str, e164: str) -> bool:
    """Whether the number must not be texted: its newest ledger entry is an opt-out, or it is on
    the erasure suppression list without a newer opt-in (START or an opt-in link after the erasure)."""
    newest = store.consent_history(org_id, e164, 1)
    status = newest[0].status if newest else ConsentStatus.NONE
    if status is ConsentStatus.OPTED_OUT:
        return True
    return (
        status is not ConsentStatus.OPTED_IN
        and suppression is not None
        and bool(suppression.suppressed(org_id, frozenset(), frozenset({e164})))
    )


class PhoneVerification:
    def __init__(
        self,
        codes: OneTimeCodes,
        limits: RateLimits,
        store: SmsStore,
        gateway: Callable[[], SmsGateway],
        suppression: SuppressionList | None,
    ) -> None:
        self._codes = codes
        self._limits = limits
        self._store = store
        self._gateway = gateway
        self._suppression = suppression

    def send_code(self, org_id: str, scope: str, e164: str, client: str, purpose: str) -> bool:
        """Text a new code for ``scope`` to ``e164`` (``purpose`` completes "Your code to ...").
        True if it was sent; False (silently) when the org has no sender or the number may not be
        texted. ``TooManyRequests`` over the limits; ``TemporarilyUnavailable`` if Twilio fails."""
        self._limits.charge("phone-code", CODES_PER_HOUR_PER_CLIENT, f"ip:{client}")
        self._limits.charge("phone-code", CODES_PER_HOUR_PER_NUMBER, f"phone:{e164}")
        config = self._store.get_config(org_id)
        sender = config.messaging_service_sid or (config.phone_numbers[0] if config.phone_numbers else None)
        if sender is None or opted_out(self._store, self._suppression, org_id, e164):
            return False
        code = self._codes.issue(org_id, scope)
        minutes = int(CODE_TTL.total_seconds() // 60)
        text = (
            f"{config.brand}: {code} is your code to {purpose}. It expires in {minutes} minutes. "
            "If you did not ask for it, ignore this message."
        )
        try:
            self._gateway().send(e164, text, sender, None)
        except (RecipientOptedOut, InvalidInput):  # opted out at Twilio, or a number it cannot text
            return False
        return True

    def check_code(self, org_id: str, scope: str, code: str) -> None:
        """Accept the code once (see ``OneTimeCodes.verify`` for the refusals)."""
        self._codes.verify(org_id, scope, code)
