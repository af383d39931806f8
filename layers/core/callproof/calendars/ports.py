"""Ports of the calendars domain: a provider's calendar API, and connections with their sealed tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callproof.calendars.model import (
        Calendar,
        Connection,
        ConnectionStatus,
        Event,
        EventDraft,
        Provider,
        Selection,
    )
    from callproof.oauth.model import SealedToken


class CalendarApi(Protocol):
    """One provider's calendar API for one access token."""

    def calendars(self) -> list[Calendar]: ...

    def create_calendar(self, name: str, time_zone: str | None) -> Calendar: ...

    def create_event(self, calendar_id: str, draft: EventDraft) -> Event: ...

    def update_event(self, calendar_id: str, event_id: str, draft: EventDraft) -> Event: ...


class ConnectionStore(Protocol):
    def get(self, org_id: str, user_id: str, provider: Provider) -> Connection | None: ...

    def connected(self, org_id: str, user_id: str) -> list[Connection]: ...

    def save(self, connection: Connection, token: SealedToken) -> None: ...

    def token(self, org_id: str, user_id: str, provider: Provider) -> SealedToken | None: ...

    def save_token(self, org_id: str, user_id: str, provider: Provider, token: SealedToken) -> None: ...

    def set_status(self, org_id: str, user_id: str, provider: Provider, status: ConnectionStatus) -> None: ...

    def delete(self, org_id: str, user_id: str, provider: Provider) -> None:
        """Delete the connection and its tokens (and the selection if it is in this provider)."""

    def selection(self, org_id: str, user_id: str) -> Selection | None: ...

    def select(self, org_id: str, user_id: str, selection: Selection) -> None: ...
