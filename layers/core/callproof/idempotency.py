"""``Idempotency-Key`` on the API's creates: a retried POST answers its first response and does nothing
again (ADR 0011). ``callproof.http.handle`` runs every request through ``Idempotency.once``.

A create route (``CREATE_ROUTES``) called with the header runs once per key, through Powertools'
idempotency utility on DynamoDB: a conditional put writes an in-progress record before the route runs,
and the route's answer replaces it once the route succeeded. For 24 hours after that:

- the same key with the same request (body, path and query; JSON compared as values, so spacing and
  key order do not matter) answers the stored response (status, headers, body) with
  ``Idempotent-Replayed: true``, and the route does not run again;
- the same key with another request is refused: 422 ``idempotency_key_reused``;
- the same key while the first request still runs: 409 ``idempotency_key_in_use`` (retry shortly).

A key belongs to its org, user and route: the record's id is ``ORG#<org>#IDEM#<sha256 of org, user,
route and key>``, so one user's key never replays another's response. Only 2xx answers are kept: a
refusal or a failure changed nothing and is not replayed, so the same key may be sent again once the
cause is fixed. Without the header a create behaves as it always did.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from callproof import aws, config
from callproof.errors import Conflict, DomainError, InvalidInput, TemporarilyUnavailable
from callproof.observability import logger
from callproof.tenancy import caller_from_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb import DynamoDBClient

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
EXPIRES_AFTER_SECONDS = 24 * 60 * 60
MAX_KEY_CHARS = 255
_KEY = re.compile(r"^[\x20-\x7e]+$")  # printable ASCII: a UUID, a ULID, "order-42-try"...

Route = tuple[str, str]  # (method, resource) as API Gateway names them
ApiResponse = dict[str, Any]  # an API Gateway proxy response

# The routes that make a new resource (201) and take the header. The others that answer 201 or
# create, and why they do not, are listed in ADR 0011 and checked by tests/unit/test_idempotency.py.
CREATE_ROUTES: frozenset[Route] = frozenset(
    {
        ("POST", "/v1/contacts"),
        ("POST", "/v1/sms/messages"),
        ("POST", "/v1/dsar/requests"),
        ("POST", "/v1/incidents"),
        ("POST", "/v1/org/members"),
        ("POST", "/v1/org/announcements"),
        ("POST", "/v1/me/consents"),
        ("POST", "/v1/calendars"),
        ("POST", "/v1/calendar/events"),
    }
)


class IdempotencyKeyReused(InvalidInput):
    """The key was sent before with another request."""

    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    """The first request with this key is still running."""

    code = "idempotency_key_in_use"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class _NotKept(Exception):
    """The route answered other than 2xx: Powertools deletes the in-progress record."""


def key_of(event: Mapping[str, Any]) -> str | None:
    """The request's ``Idempotency-Key`` (header names in any case), None without one; a key that is
    empty, too long, not printable ASCII, or sent twice with two values is refused (422)."""
    values = [
        str(value)
        for name, sent in (event.get("multiValueHeaders") or {}).items()
        if str(name).lower() == HEADER.lower()
        for value in (sent or [])
    ]
    if not values:
        values = [str(v) for n, v in (event.get("headers") or {}).items() if str(n).lower() == HEADER.lower()]
    if not values:
        return None
    key = values[0].strip()
    if len(set(values)) > 1:
        raise InvalidIdempotencyKey(f"send one {HEADER}", field=HEADER)
    if not key or len(key) > MAX_KEY_CHARS or not _KEY.match(key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to {MAX_KEY_CHARS} printable ASCII characters", field=HEADER
        )
    return key


def dynamodb_store() -> BasePersistenceLayer:
    """The function's idempotency table (``IDEMPOTENCY_TABLE``), read on the first keyed create."""
    table = config.load(config.IdempotencySettings).idempotency_table
    # A copy per request: Powertools sets the key prefix (the org) on the layer it is given, and the
    # local stack runs several functions in one process. One layer per client: building one registers
    # a hook on the client.
    return copy.copy(_layer(table, aws.dynamodb()))


@lru_cache(maxsize=8)
def _layer(table: str, client: DynamoDBClient) -> BasePersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table, boto3_client=client)


class Idempotency:
    """Runs a create once per key; ``store`` builds the persistence layer (a fake one in unit tests)."""

    def __init__(
        self,
        routes: frozenset[Route] = CREATE_ROUTES,
        store: Callable[[], BasePersistenceLayer] = dynamodb_store,
    ) -> None:
        self.routes = routes
        self.store = store

    def once(
        self, event: Mapping[str, Any], context: Any, body: Any, run: Callable[[], ApiResponse]
    ) -> ApiResponse:
        """``run()``'s answer, or the first answer to this key. ``body`` is the parsed JSON body."""
        route = (str(event.get("httpMethod")), str(event.get("resource")))
        if route not in self.routes:
            return run()
        key = key_of(event)
        if key is None:
            return run()
        try:
            caller = caller_from_event(event)
        except DomainError:
            return run()  # no caller: the route answers 401 and does nothing
        data = {
            "scope": {"org": caller.org_id, "user": caller.user_id, "route": " ".join(route), "key": key},
            "request": {
                "body": body,
                "path": event.get("pathParameters"),
                "query": event.get("multiValueQueryStringParameters"),
            },
        }
        return _run_once(self.store(), f"ORG#{caller.org_id}#IDEM", data, context, run)


def _run_once(
    store: BasePersistenceLayer,
    prefix: str,
    data: dict[str, Any],
    context: Any,
    run: Callable[[], ApiResponse],
) -> ApiResponse:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    settings = IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        hash_function="sha256",
        response_hook=_replayed,
    )
    if callable(getattr(context, "get_remaining_time_in_millis", None)):
        # An in-progress record outlives a Lambda that timed out only until that Lambda's deadline.
        settings.register_lambda_context(context)
    answered: list[ApiResponse] = []

    def route(request: dict[str, Any]) -> ApiResponse:
        response = run()
        answered.append(response)
        if not 200 <= int(response.get("statusCode") or 500) < 300:
            raise _NotKept
        return response

    keyed = idempotent_function(
        route, data_keyword_argument="request", persistence_store=store, config=settings, key_prefix=prefix
    )
    try:
        return dict(keyed(request=data))
    except _NotKept:
        return answered[0]
    except IdempotencyValidationError:
        logger.info("idempotency key reused with another request")
        raise IdempotencyKeyReused(
            f"this {HEADER} was used with another request; send a new key", field=HEADER
        ) from None
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
        logger.info("idempotency key in use")
        raise IdempotencyKeyInUse(
            f"a request with this {HEADER} is still running; retry shortly", field=HEADER
        ) from None
    except IdempotencyPersistenceLayerError as error:
        if answered:  # the route ran: its answer stands, though its record could not be kept
            logger.warning("idempotency record not kept", extra={"cause": type(error.__cause__).__name__})
            return answered[0]
        if _throttled(error):
            raise TemporarilyUnavailable("throttled; retry shortly") from None
        raise


def _throttled(error: BaseException) -> bool:
    cause = error.__cause__
    response = getattr(cause, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in aws.THROTTLING_CODES


def _replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """The stored answer, marked as a replay."""
    logger.info("idempotent replay")
    if isinstance(response, dict):
        headers = response.setdefault("multiValueHeaders", {}) or {}
        headers[REPLAYED_HEADER] = ["true"]
        response["multiValueHeaders"] = headers
    return response
