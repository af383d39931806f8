"""POST /v1/dsar/requests with an Idempotency-Key, on moto through the handler: a retried request
records one request and starts one workflow (issue 13, point 11)."""

from __future__ import annotations

import json

from callproof import aws
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.dsar.test_dsar_api import BODY, dsar, get, raw, staff  # noqa: F401
from tests.support import keyed


def test_a_retried_request_is_recorded_and_started_once(
    dsar: Invoke,  # noqa: F811
    aws_stack: dict[str, Physical],
) -> None:
    body = {**BODY, "type": "access"}
    first = raw(dsar, "DsarFunction", keyed(staff("POST", "/v1/dsar/requests", body), "dsar-1"))
    again = raw(dsar, "DsarFunction", keyed(staff("POST", "/v1/dsar/requests", body), "dsar-1"))
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert again["body"] == first["body"]
    listed = get(dsar, "/v1/dsar/requests")[1]["items"]
    assert [r["id"] for r in listed] == [json.loads(first["body"])["id"]]
    machine = aws_stack["ExportStateMachine"].ref
    assert len(aws.stepfunctions().list_executions(stateMachineArn=machine)["executions"]) == 1

    other = raw(dsar, "DsarFunction", keyed(staff("POST", "/v1/dsar/requests", BODY), "dsar-1"))
    assert other["statusCode"] == 422
    assert json.loads(other["body"])["error"]["field"] == "Idempotency-Key"
    assert len(get(dsar, "/v1/dsar/requests")[1]["items"]) == 1
