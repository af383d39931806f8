"""What API Gateway answers itself has the API's one error shape, in the template and locally alike
(issue 13, point 9).

The template's ``GatewayResponses`` are rendered here as API Gateway renders them (static header
values in single quotes; response templates are not VTL, only ``$context`` variables are filled in)
and compared with what the local gateway answers for the same response types.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from callproof_local.gateway import GATEWAY_RESPONSES
from tests.support import TEMPLATE
from tools.sam_transform import load_template

REQUIRED = {
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "UNAUTHORIZED",
    "ACCESS_DENIED",
    "MISSING_AUTHENTICATION_TOKEN",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "REQUEST_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
    "INTEGRATION_TIMEOUT",
    "QUOTA_EXCEEDED",
}
LOCAL_ONLY = {"METHOD_NOT_ALLOWED"}  # API Gateway answers MISSING_AUTHENTICATION_TOKEN for a wrong method
CONTEXT = {"$context.error.messageString": json.dumps("Invalid request body")}


def gateway_responses() -> dict[str, Any]:
    api = load_template(TEMPLATE)["Resources"]["Api"]
    assert api["Type"] == "AWS::Serverless::Api"
    return dict(api["Properties"]["GatewayResponses"])


def rendered(spec: dict[str, Any]) -> tuple[int | None, dict[str, str], Any]:
    """(status or None when the type keeps its own, headers, body) as API Gateway would answer."""
    templates = spec["ResponseTemplates"]
    assert set(templates) == {"application/json"}
    text = templates["application/json"]
    for variable, value in CONTEXT.items():
        text = text.replace(variable, value)
    assert "$context" not in text, f"a $context variable this test does not know: {text}"
    headers = spec.get("ResponseParameters", {}).get("Headers", {})
    for value in headers.values():
        assert re.fullmatch(r"'[^']*'", value), f"a static header value is quoted: {value}"
    status = int(spec["StatusCode"]) if "StatusCode" in spec else None
    return status, {name: value[1:-1] for name, value in headers.items()}, json.loads(text)


def test_the_template_shapes_every_gateway_response() -> None:
    assert set(gateway_responses()) >= REQUIRED


@pytest.mark.parametrize("response_type", sorted(REQUIRED))
def test_each_gateway_response_is_the_one_error_shape(response_type: str) -> None:
    status, _headers, body = rendered(gateway_responses()[response_type])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field", "details"}
    assert re.fullmatch(r"[a-z][a-z_]*", body["error"]["code"])
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert (body["error"]["field"], body["error"]["details"]) == (None, [])
    assert status is None or 400 <= status < 600


def test_statuses_and_headers_clients_rely_on() -> None:
    responses = gateway_responses()
    unauthorized = rendered(responses["UNAUTHORIZED"])
    assert (unauthorized[0], unauthorized[1]) == (401, {"WWW-Authenticate": "Bearer"})
    assert rendered(responses["MISSING_AUTHENTICATION_TOKEN"])[0] == 404  # an unknown route, not a 403
    assert rendered(responses["THROTTLED"])[:2] == (429, {"Retry-After": "1"})
    assert rendered(responses["DEFAULT_5XX"])[0] is None  # a failed Lambda keeps its 502


@pytest.mark.parametrize("response_type", sorted(set(GATEWAY_RESPONSES) - LOCAL_ONLY))
def test_the_local_gateway_answers_as_the_template(response_type: str) -> None:
    status, headers, body = rendered(gateway_responses()[response_type])
    local = GATEWAY_RESPONSES[response_type]
    assert status in (None, local.status)
    assert dict(local.headers) == headers
    assert local.body() == body


def test_the_access_log_names_the_route_template_never_the_path() -> None:
    access_format = load_template(TEMPLATE)["Resources"]["Api"]["Properties"]["AccessLogSetting"]["Format"]
    fields = json.loads(access_format)
    assert fields["resource"] == "$context.resourcePath"
    assert fields["responseType"] == "$context.error.responseType"
    variables = re.findall(r"\$context\.[A-Za-z.]+", access_format)
    assert not {"$context.path", "$context.requestOverride.path", "$context.identity.sourceIp"} & set(
        variables
    )
