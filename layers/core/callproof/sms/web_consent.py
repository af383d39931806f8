"""SMS consent given or withdrawn on the public pages (``functions/sms_pages``), without a login:
from a signed link the account team sent, or, for an opt-out, by a typed number proven with a texted
code. Forms carry a CSRF token. Every change is an entry of the consent ledger with source ``web``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from callproof.errors import SendRefused
from callproof.ids import time_ordered_id, utc_now
from callproof.sms import links
from callproof.sms.model import ConsentEntry, ConsentStatus, SmsConsentSource
from callproof.sms.numbers import typed_number

if TYPE_CHECKING:
    from callproof.contacts.ports import OrgSettingsReader
    from callproof.sms.ports import SmsStore
    from callproof.sms.verification import PhoneVerification


class WebConsent:
    def __init__(
        self,
        store: SmsStore,
        orgs: OrgSettingsReader,
        link_key: Callable[[], bytes],
        verification: PhoneVerification | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[datetime], str] = time_ordered_id,
    ) -> None:
        self._store = store
        self._orgs = orgs
        self._link_key = link_key
        self._verification = verification
        self._clock = clock
        self._new_id = new_id

    def number(self, org_id: str, raw: str, field: str) -> str:
        return typed_number(raw, self._orgs.default_phone_region(org_id), field)

    def link_claims(self, token: str, action: str) -> links.LinkClaims:
        return links.read_link_token(self._link_key(), token, action, self._clock())

    def new_csrf(self) -> tuple[str, str]:
        return links.new_csrf(self._link_key(), self._clock())

    def check_csrf(self, cookie: str | None, field: str | None) -> None:
        links.check_csrf(self._link_key(), cookie, field, self._clock())

    def send_opt_out_code(self, org_id: str, e164: str, client: str) -> None:
        """The typed-number opt-out form's first step: text the number a code (limited per client
        and per number; silently nothing for an org without a sender: the page looks the same)."""
        if self._verification is None:
            raise SendRefused("sms_not_configured", "phone codes are not configured")
        self._verification.send_code(org_id, _opt_out_scope(e164), e164, client, "stop our text messages")

    def opt_out_with_code(self, org_id: str, e164: str, code: str) -> ConsentStatus:
        """The second step: the code proves the person holds the number; then the opt-out is recorded."""
        if self._verification is None:
            raise SendRefused("sms_not_configured", "phone codes are not configured")
        self._verification.check_code(org_id, _opt_out_scope(e164), code)
        return self.web_consent(org_id, e164, "opt-out")

    def web_consent(self, org_id: str, e164: str, action: str) -> ConsentStatus:
        """Record a change made on a consent page (source ``web``)."""
        status = ConsentStatus.OPTED_OUT if action == "opt-out" else ConsentStatus.OPTED_IN
        now = self._clock()
        self._store.append_consent(
            ConsentEntry(
                org_id=org_id,
                e164=e164,
                status=status,
                source=SmsConsentSource.WEB,
                at=now,
                entry_id=self._new_id(now),
            )
        )
        return status


def _opt_out_scope(e164: str) -> str:
    return f"sms-opt-out:{e164}"
