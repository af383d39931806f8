"""The People API adapter (``callproof.mail.ports.PeopleApi``): ``people.connections.list`` one page
at a time (the import job's checkpoint is the page token), pageSize 1000, personFields names,
emailAddresses, phoneNumbers, organizations; sync tokens for later runs (``SyncTokenExpired`` on Google's EXPIRED_SYNC_TOKEN); with a sync token, a person deleted
since carries ``metadata.deleted`` and its ``resourceName``. Same retry policy as the Gmail
adapter; the static people v1 discovery document, pointed at the local double when configured."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from callproof.integrations.google_gmail import MAX_ATTEMPTS, CountingHttp, backoff_seconds, retryable
from callproof.mail.model import GooglePerson
from callproof.mail.ports import SyncTokenExpired

PAGE_SIZE = 1000
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,organizations"


def _expired(error: HttpError) -> bool:
    if int(error.resp.status) not in (400, 410):
        return False
    text = (error.content or b"").decode("utf-8", "replace")
    return "EXPIRED_SYNC_TOKEN" in text or "Sync token is expired" in text


def _person(data: dict[str, Any]) -> GooglePerson:
    names = data.get("names") or [{}]
    organizations = data.get("organizations") or [{}]
    return GooglePerson(
        name=str(names[0].get("displayName") or names[0].get("unstructuredName") or "").strip(),
        emails=tuple(str(e["value"]).strip() for e in data.get("emailAddresses") or [] if e.get("value")),
        phones=tuple(str(p["value"]).strip() for p in data.get("phoneNumbers") or [] if p.get("value")),
        company=str(organizations[0].get("name") or "").strip() or None,
        deleted=bool((data.get("metadata") or {}).get("deleted")),
        resource_name=str(data.get("resourceName") or ""),
    )


class GooglePeopleApi:
    def __init__(
        self, http: Any, api_endpoint: str | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._service = discovery.build(
            "people",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": api_endpoint.rstrip("/") + "/"} if api_endpoint else None,
        )
        self._sleep = sleep
        self.requests = 0

    def _execute(self, request: Any) -> dict[str, Any]:
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.requests += 1
                return dict(request.execute(num_retries=0))
            except HttpError as error:
                if _expired(error):
                    raise SyncTokenExpired from None
                if not retryable(error) or attempt == MAX_ATTEMPTS - 1:
                    raise
                self._sleep(backoff_seconds(attempt, error.resp.get("retry-after")))
        raise AssertionError("unreachable")

    def connections_page(
        self, sync_token: str | None, page_token: str | None
    ) -> tuple[list[GooglePerson], str | None, str | None]:
        """One ``people.connections.list`` page: its people, the next page token, the next sync token
        (Google sends it with the last page)."""
        arguments: dict[str, Any] = {
            "resourceName": "people/me",
            "pageSize": PAGE_SIZE,
            "personFields": PERSON_FIELDS,
            "requestSyncToken": True,
        }
        if sync_token:
            arguments["syncToken"] = sync_token
        if page_token:
            arguments["pageToken"] = page_token
        page = self._execute(self._service.people().connections().list(**arguments))
        people = [_person(item) for item in page.get("connections", [])]
        return people, page.get("nextPageToken") or None, page.get("nextSyncToken") or None


def people_api(access_token: str, api_endpoint: str | None = None) -> GooglePeopleApi:
    http = AuthorizedHttp(Credentials(token=access_token), http=CountingHttp())  # type: ignore[no-untyped-call]
    return GooglePeopleApi(http, api_endpoint)
