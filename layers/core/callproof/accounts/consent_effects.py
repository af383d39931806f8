"""Consent changes that act (issue 16, point 3): withdrawing ``geolocation`` erases the stored
locations of all the user's devices. The withdrawal is appended first, so a device report racing it
reads the withdrawal and is stored without a location; the erasure follows, and repeating the call
(after a failure) appends again and erases again. Giving consent again starts anew: nothing erased
comes back, and the next device report stores a location again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof.accounts.model import ConsentIn, ConsentRecord, Purpose

if TYPE_CHECKING:
    from callproof.accounts.consent import ConsentService
    from callproof.accounts.ports import LocationEraser
    from callproof.tenancy import Caller


class ConsentActions:
    def __init__(self, consent: ConsentService, locations: LocationEraser) -> None:
        self._consent = consent
        self._locations = locations

    def record(self, caller: Caller, request: ConsentIn) -> ConsentRecord:
        """``POST /v1/me/consents``: a record with ``granted: false`` is a withdrawal like DELETE."""
        return self._after(caller, self._consent.record(caller, request))

    def withdraw(self, caller: Caller, purpose: Purpose) -> ConsentRecord:
        return self._after(caller, self._consent.withdraw(caller, purpose))

    def _after(self, caller: Caller, record: ConsentRecord) -> ConsentRecord:
        if record.purpose is Purpose.GEOLOCATION and not record.granted:
            self._locations.erase_locations(caller.org_id, caller.user_id)
        return record
