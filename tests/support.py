"""Helpers shared by the integration tests: API Gateway events built from a recorded sample."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
_SAMPLE = json.loads((Path(__file__).parent / "events" / "api_gateway_rest.json").read_text())


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
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it after the Cognito authorizer accepted the caller."""
    event = copy.deepcopy(_SAMPLE)
    resource = resource or path
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
