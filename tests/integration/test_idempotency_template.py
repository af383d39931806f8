"""The idempotency table in infra/template.yaml, and who may use it: each function that serves a route
of ``callproof.idempotency.CREATE_ROUTES`` has IDEMPOTENCY_TABLE and read/write rights on that table
only; no other function has either (issue 13, point 11; ADR 0011)."""

from __future__ import annotations

from typing import Any

import pytest

from callproof.idempotency import CREATE_ROUTES
from callproof_local import model
from callproof_local.template import load_template
from tests.support import TEMPLATE

RIGHTS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def serving(template: dict[str, Any]) -> set[str]:
    """The functions whose Api events include a create route."""
    return {
        logical_id
        for logical_id, spec in template["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
        for event in (spec["Properties"].get("Events") or {}).values()
        if event["Type"] == "Api"
        and (str(event["Properties"]["Method"]).upper(), event["Properties"]["Path"]) in CREATE_ROUTES
    }


def statements_on_the_table(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in spec["Properties"].get("Policies") or []
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
        if "IdempotencyTable" in str(statement.get("Resource"))
    ]


def test_every_create_route_is_served_by_the_template(template: dict[str, Any]) -> None:
    served = {
        (str(e["Properties"]["Method"]).upper(), e["Properties"]["Path"])
        for spec in template["Resources"].values()
        if spec["Type"] == "AWS::Serverless::Function"
        for e in (spec["Properties"].get("Events") or {}).values()
        if e["Type"] == "Api"
    }
    assert set(CREATE_ROUTES) <= served


def test_the_create_functions_and_only_they_reach_the_table(template: dict[str, Any]) -> None:
    creators = serving(template)
    assert creators == {
        "ContactsFunction",
        "SmsFunction",
        "DsarFunction",
        "AccountsFunction",
        "CalendarsFunction",
    }
    for logical_id, spec in template["Resources"].items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        variables = model.function_properties(template, logical_id)["Environment"]["Variables"]
        statements = statements_on_the_table(spec)
        if logical_id in creators:
            assert variables.get("IDEMPOTENCY_TABLE") == {"Ref": "IdempotencyTable"}, logical_id
            assert [(s["Effect"], sorted(s["Action"])) for s in statements] == [("Allow", sorted(RIGHTS))]
            assert statements[0]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
        else:
            assert "IDEMPOTENCY_TABLE" not in variables, logical_id
            assert statements == [], logical_id


def test_the_table_expires_records_and_is_encrypted_with_the_data_key(template: dict[str, Any]) -> None:
    table = template["Resources"]["IdempotencyTable"]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "DataKey"}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
