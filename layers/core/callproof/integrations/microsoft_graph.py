"""Office 365 calendars through Microsoft Graph: OAuth 2.0 (authorization code + PKCE through
requests-oauthlib, scopes ``Calendars.ReadWrite offline_access``) and the calendar calls CallProof makes
(``/me/calendars`` list and create, events create and update in one calendar).

Microsoft rotates refresh tokens: every refresh answer carries a new refresh token, which the calendar
service stores (sealed) each time. The Microsoft identity platform has no endpoint that revokes a
single refresh token, so ``revoke`` answers False and disconnecting deletes the tokens; the user
removes the app's consent at https://myapps.microsoft.com.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session

from callproof.calendars.model import Calendar, Event, EventDraft, Provider
from callproof.errors import TemporarilyUnavailable
from callproof.integrations.google_calendar import check
from callproof.oauth.model import GrantRevoked, OAuthFailed, OAuthToken

MICROSOFT_LOGIN = "https://login.microsoftonline.com/common/oauth2/v2.0"
GRAPH_BASE = "https://graph.microsoft.com/v1.0"
HTTP_TIMEOUT = (3.05, 15)
_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:\d+(/|$)")


@dataclass(frozen=True, slots=True)
class MicrosoftEndpoints:
    auth_uri: str = f"{MICROSOFT_LOGIN}/authorize"
    token_uri: str = f"{MICROSOFT_LOGIN}/token"
    graph: str = GRAPH_BASE

    @classmethod
    def at(cls, base_url: str | None) -> MicrosoftEndpoints:
        """Microsoft's endpoints, or the local Microsoft double's under ``base_url`` (local stack only)."""
        if not base_url:
            return cls()
        base = base_url.rstrip("/")
        return cls(f"{base}/common/oauth2/v2.0/authorize", f"{base}/common/oauth2/v2.0/token", f"{base}/v1.0")


class MicrosoftOAuthClient:
    def __init__(
        self,
        client_id: Callable[[], str],
        client_secret: Callable[[], str],
        endpoints: MicrosoftEndpoints | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self.endpoints = endpoints or MicrosoftEndpoints()
        if _LOOPBACK.match(self.endpoints.token_uri):
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the local double on loopback only

    def _session(self, redirect_uri: str | None = None, scopes: Sequence[str] = ()) -> OAuth2Session:
        return OAuth2Session(self._client_id(), redirect_uri=redirect_uri, scope=list(scopes) or None)

    def authorization_url(
        self,
        scopes: Sequence[str],
        state: str,
        code_challenge: str,
        redirect_uri: str,
        *,
        login_hint: str | None = None,
        include_granted_scopes: bool = False,  # Google's; Microsoft's consent adds up by itself
    ) -> str:
        extra = {"login_hint": login_hint} if login_hint else {}
        url, _ = self._session(redirect_uri, scopes).authorization_url(
            self.endpoints.auth_uri,
            state=state,
            response_mode="query",
            code_challenge=code_challenge,
            code_challenge_method="S256",
            **extra,
        )
        return str(url)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> OAuthToken:
        try:
            token = self._session(redirect_uri).fetch_token(
                self.endpoints.token_uri,
                code=code,
                client_secret=self._client_secret(),
                code_verifier=code_verifier,
                include_client_id=True,
                timeout=HTTP_TIMEOUT,
            )
        except OAuth2Error:
            raise OAuthFailed(
                "Microsoft refused the authorization code; connect again", field="code"
            ) from None
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Microsoft is unreachable; retry shortly") from None
        return OAuthToken.from_response(dict(token))

    def refresh(self, token: OAuthToken) -> OAuthToken:
        """A new access token and (Microsoft rotates them) a new refresh token."""
        if not token.refresh_token:
            raise GrantRevoked("no refresh token")
        try:
            answer = self._session().refresh_token(
                self.endpoints.token_uri,
                refresh_token=token.refresh_token,
                client_id=self._client_id(),
                client_secret=self._client_secret(),
                timeout=HTTP_TIMEOUT,
            )
        except InvalidGrantError:
            raise GrantRevoked("invalid_grant") from None
        except OAuth2Error as error:
            raise TemporarilyUnavailable(f"token refresh failed ({error.error})") from None
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Microsoft is unreachable; retry shortly") from None
        return OAuthToken.from_response(dict(answer), previous_refresh=token.refresh_token)

    def revoke(self, token: OAuthToken) -> bool:
        """No per-token revocation exists in the Microsoft identity platform: the caller deletes."""
        return False


def _graph_event_body(draft: EventDraft) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if draft.summary is not None:
        body["subject"] = draft.summary
    for name, value in (("start", draft.start), ("end", draft.end)):
        if value is not None:  # Graph wants a wall time plus a zone: send UTC
            utc = dt.datetime.fromisoformat(value).astimezone(dt.UTC).replace(tzinfo=None)
            body[name] = {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}
    if draft.description is not None:
        body["body"] = {"contentType": "text", "content": draft.description}
    if draft.location is not None:
        body["location"] = {"displayName": draft.location}
    if draft.attendees is not None:
        body["attendees"] = [
            {"emailAddress": {"address": a.email, "name": a.name}, "type": "required"}
            for a in draft.attendees
        ]
    return body


class GraphCalendarApi:
    def __init__(
        self, access_token: str, graph_base: str = GRAPH_BASE, session: requests.Session | None = None
    ):
        self._base = graph_base.rstrip("/")
        self._http = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {access_token}"}

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, headers=self._headers, timeout=HTTP_TIMEOUT, **kwargs)
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Microsoft Graph is unreachable; retry shortly") from None
        return check(response, what)

    def calendars(self) -> list[Calendar]:
        found: list[Calendar] = []
        url: str | None = f"{self._base}/me/calendars?$top=100"
        for _ in range(20):
            if not url:
                break
            body = self._call("GET", url, "the calendar list")
            found += [
                Calendar(
                    id=str(item["id"]),
                    name=str(item.get("name", "")),
                    can_edit=bool(item.get("canEdit")),
                    primary=bool(item.get("isDefaultCalendar")),
                )
                for item in body.get("value", [])
            ]
            url = body.get("@odata.nextLink")
        return found

    def create_calendar(self, name: str, time_zone: str | None) -> Calendar:
        body = self._call("POST", f"{self._base}/me/calendars", "creating the calendar", json={"name": name})
        return Calendar(id=str(body["id"]), name=str(body.get("name", name)), can_edit=True)

    def _event(self, calendar_id: str, body: dict[str, Any]) -> Event:
        return Event(
            id=str(body["id"]),
            calendar_id=calendar_id,
            provider=Provider.MICROSOFT,
            summary=str(body.get("subject", "")),
            start=str((body.get("start") or {}).get("dateTime", "")),
            end=str((body.get("end") or {}).get("dateTime", "")),
            attendees=tuple(
                str((a.get("emailAddress") or {}).get("address")) for a in body.get("attendees") or []
            ),
            link=body.get("webLink"),
        )

    def _events(self, calendar_id: str) -> str:
        return f"{self._base}/me/calendars/{quote(calendar_id, safe='')}/events"

    def create_event(self, calendar_id: str, draft: EventDraft) -> Event:
        body = self._call(
            "POST", self._events(calendar_id), "creating the event", json=_graph_event_body(draft)
        )
        return self._event(calendar_id, body)

    def update_event(self, calendar_id: str, event_id: str, draft: EventDraft) -> Event:
        url = f"{self._events(calendar_id)}/{quote(event_id, safe='')}"
        body = self._call("PATCH", url, "updating the event", json=_graph_event_body(draft))
        return self._event(calendar_id, body)
