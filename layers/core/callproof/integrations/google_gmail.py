"""The Gmail API adapter (``callproof.mail.ports.GmailApi``) over google-api-python-client.

- the static gmail v1 discovery document shipped with the client (no discovery request), pointed at
  ``api_endpoint`` when the local stack sets one (the local Google double), else Google;
- metadata and full (``format=raw``) fetches in batch requests of at most 50 (Gmail's advice), sent to
  the batch endpoint of the same base URL (the client's own batch URI ignores ``api_endpoint``);
- rate limits (429, 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``) and 5xx: capped exponential
  backoff with full jitter that honours ``Retry-After``; per batch, only the failed parts are re-sent;
- counts requests, response bytes and quota units (for ``make bench``); logs nothing of the mail.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from callproof.errors import TemporarilyUnavailable
from callproof.mail.model import FullMessage, GmailLabel, MessageMeta
from callproof.mail.parse import ADDRESS_HEADERS, addresses_from_headers
from callproof.mail.ports import HistoryExpired

GOOGLE_API = "https://gmail.googleapis.com/"
BATCH_SIZE = 50
HISTORY_PAGE = 500
LIST_PAGE = 500
MAX_ATTEMPTS = 6
MAX_SLEEP = 16.0
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
SKIPPED_LABELS = frozenset({"DRAFT", "SPAM", "TRASH"})
# Gmail quota units per method (developers.google.com/gmail/api/reference/quota).
QUOTA = {
    "messages.get": 5,
    "history.list": 2,
    "messages.list": 5,
    "labels.list": 1,
    "watch": 100,
    "stop": 50,
    "profile": 1,
}
METADATA_HEADERS = ["From", "To", "Cc", "Bcc", "Reply-To"]
# Partial responses: only what the sync reads (no labels, snippet, size, MIME type...).
# A batch answer is matched to its request by Content-ID: no need for the id in the answer. The
# receipt time comes with the full fetch, which only the messages that involve a contact get.
METADATA_FIELDS = "payload/headers"
RAW_FIELDS = "internalDate,raw"
# history.list: the added messages' ids and labels (not the records' ids, their "messages" twin lists,
# the thread ids), the new history id and the next page's token.
HISTORY_FIELDS = "history(messagesAdded(message(id,labelIds))),historyId,nextPageToken"


class CountingHttp(httplib2.Http):
    """httplib2 that counts requests and response bytes (one batch is one request)."""

    def __init__(self, timeout: float = 20) -> None:
        super().__init__(timeout=timeout)
        self.requests = 0
        self.bytes = 0

    def request(self, *args: Any, **kwargs: Any) -> Any:
        response, content = super().request(*args, **kwargs)
        self.requests += 1
        self.bytes += len(content or b"")
        return response, content


def retryable(error: HttpError) -> bool:
    status = int(error.resp.status)
    if status == 429 or status >= 500:
        return True
    if status == 403:
        try:
            details = json.loads(error.content or b"{}").get("error", {})
        except ValueError:
            return False
        reasons = {item.get("reason") for item in details.get("errors", []) if isinstance(item, dict)}
        return bool(reasons & RATE_REASONS)
    return False


def backoff_seconds(attempt: int, retry_after: str | None) -> float:
    """Full jitter over a doubling window, never under Retry-After, capped."""
    window = min(MAX_SLEEP, 0.5 * 2**attempt)
    delay = random.uniform(0, window)  # noqa: S311 - jitter, not security
    if retry_after and retry_after.strip().isdigit():
        delay = max(delay, float(retry_after))
    return min(delay, MAX_SLEEP)


class GoogleGmailApi:
    def __init__(
        self,
        http: Any,
        api_endpoint: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = (api_endpoint or GOOGLE_API).rstrip("/") + "/"
        self._http = http
        self._service = discovery.build(
            "gmail",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": base} if api_endpoint else None,
        )
        self._batch_uri = base + "batch/gmail/v1"
        self._sleep = sleep
        self.quota_units = 0
        self.requests = 0

    # --- plumbing -------------------------------------------------------------------------------

    def _execute(self, request: Any, method: str) -> Any:
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.requests += 1
                self.quota_units += QUOTA[method]
                return request.execute(num_retries=0)
            except HttpError as error:
                if not retryable(error) or attempt == MAX_ATTEMPTS - 1:
                    raise
                self._sleep(backoff_seconds(attempt, error.resp.get("retry-after")))
        raise AssertionError("unreachable")

    def _batch(self, ids: Sequence[str], build: Callable[[str], Any]) -> dict[str, Any]:
        """Run ``build(id)`` for every id in batches of 50; 404s are left out, retryable failures are
        re-sent (only they) with backoff, anything else raises."""
        results: dict[str, Any] = {}
        pending = list(dict.fromkeys(ids))
        for attempt in range(MAX_ATTEMPTS):
            failed: list[str] = []
            retry_after: list[str] = []
            for start in range(0, len(pending), BATCH_SIZE):
                chunk = pending[start : start + BATCH_SIZE]
                errors: dict[str, HttpError] = {}

                def on_result(
                    request_id: str,
                    response: Any,
                    exception: Exception | None,
                    errors: dict[str, HttpError] = errors,
                ) -> None:
                    if exception is None:
                        results[request_id] = response
                    elif isinstance(exception, HttpError):
                        errors[request_id] = exception
                    else:
                        raise exception

                batch = BatchHttpRequest(callback=on_result, batch_uri=self._batch_uri)
                for gmail_id in chunk:
                    batch.add(build(gmail_id), request_id=gmail_id)
                self.quota_units += QUOTA["messages.get"] * len(chunk)
                self.requests += 1
                try:
                    batch.execute(http=self._http)
                except HttpError as error:  # the batch request itself failed
                    if not retryable(error):
                        raise
                    failed.extend(chunk)
                    retry_after.append(error.resp.get("retry-after") or "")
                    continue
                for gmail_id, part_error in errors.items():
                    if int(part_error.resp.status) == 404:
                        continue  # deleted since the history named it
                    if not retryable(part_error):
                        raise part_error
                    failed.append(gmail_id)
                    retry_after.append(part_error.resp.get("retry-after") or "")
            if not failed:
                return results
            pending = failed
            self._sleep(backoff_seconds(attempt, max(retry_after, default=None) or None))
        raise TemporarilyUnavailable("Gmail kept rate-limiting the batch requests")

    def _pages(self, build: Callable[[str | None], Any], method: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._execute(build(token), method)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    # --- the port -------------------------------------------------------------------------------

    def profile(self) -> tuple[str, int]:
        answer = self._execute(self._service.users().getProfile(userId="me"), "profile")
        return str(answer["emailAddress"]), int(answer["historyId"])

    def history(self, start_history_id: int) -> tuple[dict[str, tuple[str, ...]], int]:
        added: dict[str, tuple[str, ...]] = {}
        latest = start_history_id
        history = self._service.users().history()
        try:
            for page in self._pages(
                lambda token: history.list(
                    userId="me",
                    startHistoryId=str(start_history_id),
                    historyTypes="messageAdded",
                    maxResults=HISTORY_PAGE,
                    pageToken=token,
                    fields=HISTORY_FIELDS,
                ),
                "history.list",
            ):
                for record in page.get("history", []):
                    for added_record in record.get("messagesAdded", []):
                        message = added_record.get("message", {})
                        labels = tuple(str(label) for label in message.get("labelIds", []))
                        if not SKIPPED_LABELS.intersection(labels):
                            added.setdefault(str(message["id"]), labels)
                latest = max(latest, int(page.get("historyId") or latest))
        except HttpError as error:
            if int(error.resp.status) == 404:
                raise HistoryExpired from None
            raise
        return added, latest

    def list_message_ids(self, newer_than_days: int, label_id: str) -> list[str]:
        messages = self._service.users().messages()
        ids: list[str] = []
        for page in self._pages(
            lambda token: messages.list(
                userId="me",
                q=f"newer_than:{int(newer_than_days)}d",
                labelIds=[label_id],
                maxResults=LIST_PAGE,
                pageToken=token,
            ),
            "messages.list",
        ):
            ids.extend(str(item["id"]) for item in page.get("messages", []))
        return list(dict.fromkeys(ids))

    def metadata(self, gmail_ids: Sequence[str]) -> list[MessageMeta]:
        messages = self._service.users().messages()
        answers = self._batch(
            gmail_ids,
            lambda gmail_id: messages.get(
                userId="me",
                id=gmail_id,
                format="metadata",
                metadataHeaders=METADATA_HEADERS,
                fields=METADATA_FIELDS,
            ),
        )
        metas = []
        for gmail_id in gmail_ids:
            answer = answers.get(gmail_id)
            if answer is None:
                continue
            headers = [
                (str(h.get("name", "")), str(h.get("value", "")))
                for h in (answer.get("payload") or {}).get("headers", [])
                if str(h.get("name", "")).lower() in ADDRESS_HEADERS
            ]
            metas.append(MessageMeta(gmail_id=gmail_id, addresses=addresses_from_headers(headers)))
        return metas

    def raw(self, gmail_ids: Sequence[str]) -> dict[str, FullMessage]:
        messages = self._service.users().messages()
        answers = self._batch(
            gmail_ids,
            lambda gmail_id: messages.get(userId="me", id=gmail_id, format="raw", fields=RAW_FIELDS),
        )
        out = {}
        for gmail_id, answer in answers.items():
            data = str(answer.get("raw", ""))
            raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
            out[gmail_id] = FullMessage(raw, int(answer.get("internalDate") or 0))
        return out

    def labels(self) -> list[GmailLabel]:
        answer = self._execute(self._service.users().labels().list(userId="me"), "labels.list")
        return [
            GmailLabel(
                str(item["id"]), str(item.get("name", item["id"])), str(item.get("type", "user")).lower()
            )
            for item in answer.get("labels", [])
        ]

    def watch(self, topic: str, label_ids: Sequence[str]) -> tuple[int, int]:
        body = {"topicName": topic, "labelIds": list(label_ids), "labelFilterBehavior": "INCLUDE"}
        answer = self._execute(self._service.users().watch(userId="me", body=body), "watch")
        return int(answer["historyId"]), int(answer["expiration"])

    def stop(self) -> None:
        self._execute(self._service.users().stop(userId="me"), "stop")


def gmail_api(access_token: str, api_endpoint: str | None = None) -> GoogleGmailApi:
    """The adapter for one mailbox, authorized with ``access_token`` (refreshing is the service's job)."""
    http = AuthorizedHttp(Credentials(token=access_token), http=CountingHttp())  # type: ignore[no-untyped-call]
    return GoogleGmailApi(http, api_endpoint)
