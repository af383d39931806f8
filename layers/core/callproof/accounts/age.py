"""Age: a birth date or an attestation at sign-up; under 16 the account stays inactive (the
per-request check answers 403) until a guardian confirms through an emailed, signed link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from callproof import signing
from callproof.accounts.model import ADULT_AGE, AgeIn, AgeRecord, AgeStatus
from callproof.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from callproof.accounts.ports import AgeStore, Mailer
    from callproof.tenancy import Caller

GUARDIAN_LINK_TTL = timedelta(days=7)
_PURPOSE_GUARDIAN = b"guardian-consent\x00"


class InvalidGuardianLink(InvalidInput):
    code = "invalid_token"


def _now() -> datetime:
    return datetime.now(UTC)


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class AgeService:
    def __init__(
        self,
        store: AgeStore,
        mailer: Mailer,
        link_key: Callable[[], bytes],
        public_base_url: str | None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._mailer = mailer
        self._link_key = link_key
        self._base_url = public_base_url
        self._clock = clock

    def get(self, caller: Caller) -> AgeRecord:
        record = self._store.get_age(caller.org_id, caller.user_id)
        if record is None:
            raise NotFound("no age recorded", field="age")
        return record

    def record(self, caller: Caller, request: AgeIn) -> AgeRecord:
        now = self._clock()
        if (request.birth_date is None) == (request.attests_16_or_over is None):
            raise InvalidInput("send either birth_date or attests_16_or_over", field="birth_date")
        if request.attests_16_or_over is False:
            raise InvalidInput("under 16: send birth_date and the guardian", field="attests_16_or_over")
        birth = request.birth_date
        if birth is not None and not date(1900, 1, 1) <= birth <= now.date():
            raise InvalidInput("birth_date must be a past date after 1900", field="birth_date")
        self._check_change(self._store.get_age(caller.org_id, caller.user_id), birth)
        if birth is None or age_on(birth, now.date()) >= ADULT_AGE:
            record = AgeRecord(AgeStatus.ACTIVE, now, birth)
            self._store.put_age(caller.org_id, caller.user_id, record)
            return record
        if request.guardian_name is None:
            raise InvalidInput("under 16: a parent's or guardian's name is needed", field="guardian_name")
        if request.guardian_email is None:
            raise InvalidInput("under 16: a parent's or guardian's email is needed", field="guardian_email")
        if self._base_url is None:
            raise Conflict(
                "the deployment has no public base URL for the guardian's link", field="guardian_email"
            )
        guardian_email = str(request.guardian_email).lower()
        record = AgeRecord(AgeStatus.PENDING_GUARDIAN, now, birth, request.guardian_name, guardian_email)
        self._store.put_age(caller.org_id, caller.user_id, record)
        expires = int((now + GUARDIAN_LINK_TTL).timestamp())
        token = signing.sign(
            self._link_key(),
            _PURPOSE_GUARDIAN,
            {"o": caller.org_id, "u": caller.user_id, "g": guardian_email, "exp": expires},
        )
        self._mailer.send(
            guardian_email,
            "Your consent is needed for a CallProof account",
            f"Hello {request.guardian_name},\n\nA person under 16 named you as their parent or guardian when "
            "signing up for CallProof. Their account stays inactive until you agree. To read what we "
            f"hold and give your consent, open this link (valid 7 days):\n\n{self._base_url}/guardian/consent?token={token}\n\n"
            "If you do not know about this, ignore this email: the account stays inactive.",
        )
        return record

    @staticmethod
    def _check_change(recorded: AgeRecord | None, birth: date | None) -> None:
        """Who may change what: the user records their own age, and this route stays open while the
        account waits for the guardian, so a recorded birth date is final here (else a child could
        attest "16 or over", or give another date, instead of waiting). An attestation may be followed
        by a birth date (new facts only make the record stricter); while a birth date under 16 is
        recorded, the user may name another guardian (a new link voids the old one)."""
        if recorded is None or recorded.birth_date is None or birth == recorded.birth_date:
            return
        if birth is None:
            raise Conflict(
                "a birth date is recorded: an attestation cannot replace it", field="attests_16_or_over"
            )
        raise Conflict("the recorded birth date cannot be changed here", field="birth_date")

    def pending(self, token: str) -> AgeRecord:
        """The record a valid, unexpired link points to (for the confirmation page)."""
        org_id, user_id, guardian_email = self._claims(token)
        record = self._store.get_age(org_id, user_id)
        if record is None or record.guardian_email != guardian_email:
            raise InvalidGuardianLink("the link is no longer valid", field="token")
        return record

    def confirm(self, token: str) -> AgeRecord:
        """Record the guardian's consent (name, email, time, method); repeating it changes nothing."""
        org_id, user_id, _ = self._claims(token)
        record = self.pending(token)
        if record.status is AgeStatus.GUARDIAN_CONFIRMED:
            return record
        confirmed = replace(
            record,
            status=AgeStatus.GUARDIAN_CONFIRMED,
            guardian_consented_at=self._clock(),
            guardian_method="email_link",
        )
        self._store.put_age(org_id, user_id, confirmed)
        return confirmed

    def _claims(self, token: str) -> tuple[str, str, str]:
        try:
            claims = signing.verify(self._link_key(), _PURPOSE_GUARDIAN, token)
        except signing.BadSignature:
            raise InvalidGuardianLink("the link is not valid", field="token") from None
        org_id, user_id, email, expires = claims.get("o"), claims.get("u"), claims.get("g"), claims.get("exp")
        if not (isinstance(org_id, str) and isinstance(user_id, str) and isinstance(email, str)):
            raise InvalidGuardianLink("the link is not valid", field="token")
        if not isinstance(expires, int) or self._clock().timestamp() >= expires:
            raise InvalidGuardianLink("the link has expired; ask for a new one", field="token")
        return org_id, user_id, email
