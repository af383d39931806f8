"""OAuth ``state`` values on DynamoDB (MailTable, ``pk=ORG#<org>``, ``sk=OAUTHSTATE#<nonce>``, TTL on
``expires_at``): single use, bound to org + user.

The ``state`` string itself names the org (``<org>.<nonce>``), so the public callback can find it
without a scan, and ``consume`` deletes it conditionally: a state works once, only before it expires,
and returns the user and PKCE verifier it was issued for. Nothing here logs a verifier.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from callproof.oauth.model import OAuthFailed, OAuthState
from callproof.store.dynamo import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_TTL_SECONDS = 600
STATE_PREFIX = "OAUTHSTATE#"
_STATE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([A-Za-z0-9_-]{32,64})$")


def state_key(org_id: str, nonce: str) -> dict[str, str]:
    return {"pk": f"ORG#{org_id}", "sk": f"{STATE_PREFIX}{nonce}"}


class OAuthStateStore:
    """OAuth ``state`` values in a DynamoDB table with ``pk`` / ``sk`` keys (and TTL on ``expires_at``)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        ttl_seconds: int = STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, state: OAuthState) -> str:
        nonce = secrets.token_urlsafe(32)
        item = {
            **state_key(state.org_id, nonce),
            "entity": "oauth_state",
            "user_id": state.user_id,
            "code_verifier": state.code_verifier,
            "purpose": state.purpose,
            "redirect_after": state.redirect_after,
            "expires_at": int(self._clock()) + self._ttl,
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))
        return f"{state.org_id}.{nonce}"

    def consume(self, value: str, *purposes: str) -> OAuthState:
        """Delete and return the state (once); ``OAuthFailed`` if unknown, used, expired or for none of
        ``purposes``."""
        match = _STATE.match(value or "")
        if not match:
            raise OAuthFailed("invalid state", field="state")
        org_id, nonce = match.groups()
        try:
            response = self._client.delete_item(
                TableName=self._table,
                Key=to_item(state_key(org_id, nonce)),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            raise OAuthFailed("unknown or already used state", field="state") from None
        item = from_item(response.get("Attributes") or {})
        purpose = item.get("purpose")
        if int(item.get("expires_at", 0)) < self._clock() or purpose not in purposes:
            raise OAuthFailed("expired state", field="state")
        return OAuthState(
            org_id=org_id,
            user_id=str(item["user_id"]),
            code_verifier=str(item["code_verifier"]),
            purpose=str(purpose),
            redirect_after=item.get("redirect_after"),
        )
