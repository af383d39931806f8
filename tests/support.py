"""Helpers shared by the integration tests: API Gateway events built from a recorded sample.

The account gate answers 428 ``age_confirmation_required`` on every gated route until the caller has
answered the age question (ADR 0008). A test's callers are members who answered it: while a stack is
up (``answering_age``, which the integration tier's ``aws_stack``, tests/built and the bench enter),
``api_event`` records "16 or over" for the caller of a gated route who has no age record yet, once per
caller and stack. The tests of the gate itself pass ``age_answered=False``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callproof.accounts.model import AgeRecord, AgeStatus
from callproof.http import POLICY_EXEMPT_ROUTES
from callproof.store.consents_dynamo import DynamoConsentStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
_SAMPLE = json.loads((Path(__file__).parent / "events" / "api_gateway_rest.json").read_text())

AnswerAge = Callable[[str, str], None]  # (org, user): record "16 or over" unless an age is recorded
_answering: list[AnswerAge] = []  # the running stack's, innermost last


@contextmanager
def answering_age(answer: AnswerAge) -> Iterator[None]:
    """While the block runs, ``api_event`` has ``answer`` record the age of each caller of a gated
    route, only the first time it meets the (org, user): a caller whose consent state a test erases
    afterwards is asked again, as in production."""
    answered: set[tuple[str, str]] = set()

    def once(org: str, user: str) -> None:
        if (org, user) not in answered:
            answer(org, user)
            answered.add((org, user))

    _answering.append(once)
    try:
        yield
    finally:
        _answering.remove(once)


def age_answerer(dynamodb: DynamoDBClient, accounts_table: str) -> AnswerAge:
    """Records "16 or over" in a stack's AccountsTable (through the adapter the gate reads) for a
    caller with no age record; a recorded age (a birth date, a guardian awaited) is left as it is."""
    store = DynamoConsentStore(dynamodb, accounts_table)

    def answer(org: str, user: str) -> None:
        if store.get_age(org, user) is None:
            store.put_age(org, user, AgeRecord(AgeStatus.ACTIVE, datetime.now(UTC)))

    return answer


def gated(method: str, resource: str) -> bool:
    """Whether the account gate checks this route: every authenticated one (all under /v1/) but the
    exempt few."""
    return resource.startswith("/v1/") and (method, resource) not in POLICY_EXEMPT_ROUTES


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    org: str = "org-a",
    user: str = "rep-1",
    roles: str = "rep",
    content_type: str = "application/json",
    age_answered: bool = True,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it after the Cognito authorizer accepted the caller:
    a member who answered the age question (see the module's docstring), unless ``age_answered`` is
    false."""
    event = copy.deepcopy(_SAMPLE)
    resource = resource or path
    if age_answered and _answering and gated(method, resource):
        _answering[-1](org, user)
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    names = re.findall(r"{(\w+)}", resource)
    values = dict(zip(names, _path_values(resource, path), strict=True))
    event.update(
        resource=resource,
        path=path,
        httpMethod=method,
        body=text,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        pathParameters=values or None,
    )
    event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"]["Content-Type"] = [content_type]
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/dev{path}")
    event["requestContext"]["authorizer"]["claims"].update(
        {"sub": user, "custom:org_id": org, "cognito:groups": roles}
    )
    return event


def _path_values(resource: str, path: str) -> list[str]:
    pattern = "^" + re.sub(r"{\w+}", "([^/]+)", resource) + "$"
    match = re.match(pattern, path)
    return list(match.groups()) if match else []


def form_event(
    path: str,
    params: list[tuple[str, str]] | dict[str, str],
    *,
    resource: str | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A public (no authorizer) REST proxy event carrying a form-encoded body, as Twilio and browsers post."""
    from urllib.parse import urlencode

    body = urlencode(params) if method == "POST" else None
    event = api_event(
        method,
        path,
        resource=resource,
        body=body,
        query=query,
        content_type="application/x-www-form-urlencoded",
        age_answered=False,  # no caller: a public page or a webhook
    )
    event["requestContext"].pop("authorizer", None)
    for key, value in (headers or {}).items():
        event["headers"][key] = value
        event["multiValueHeaders"][key] = [value]
    return event


def keyed(event: dict[str, Any], key: str, header: str = "Idempotency-Key") -> dict[str, Any]:
    """``event`` sent with an ``Idempotency-Key`` (``header`` spells the name as a client might)."""
    event["headers"][header] = key
    event["multiValueHeaders"][header] = [key]
    return event
