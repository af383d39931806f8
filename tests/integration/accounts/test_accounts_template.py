"""Every function behind the Cognito authorizer can run the account gate of ``callproof/http.py``:
it sees ``ACCOUNTS_TABLE`` and may ``GetItem`` on the AccountsTable (moto does not enforce IAM, so
without this rule a new function would work locally and answer 500 on every request in the cloud)."""

from __future__ import annotations

from typing import Any

from callproof_local.template import load_template
from tests.support import TEMPLATE


def _authenticated(function: dict[str, Any]) -> bool:
    for event in (function.get("Properties", {}).get("Events") or {}).values():
        if event.get("Type") == "Api":
            authorizer = (event.get("Properties", {}).get("Auth") or {}).get("Authorizer")
            if authorizer != "NONE":
                return True
    return False


def _reads_accounts_table(function: dict[str, Any]) -> bool:
    for policy in function.get("Properties", {}).get("Policies") or []:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement.get("Action")
            actions = [actions] if isinstance(actions, str) else actions or []
            resources = statement.get("Resource")
            resources = resources if isinstance(resources, list) else [resources]
            if (
                statement.get("Effect") == "Allow"
                and "dynamodb:GetItem" in actions
                and {"Fn::GetAtt": ["AccountsTable", "Arn"]} in resources
            ):
                return True
    return False


def test_every_authenticated_function_can_run_the_account_gate() -> None:
    template = load_template(TEMPLATE)
    globals_env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["ACCOUNTS_TABLE"] == {"Ref": "AccountsTable"}
    functions = {
        name: spec
        for name, spec in template["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function" and _authenticated(spec)
    }
    assert {"ContactsFunction", "CallLogsFunction", "SmsFunction", "AccountsFunction"} <= set(functions)
    missing = sorted(name for name, spec in functions.items() if not _reads_accounts_table(spec))
    assert missing == []


def test_the_rule_notices_a_missing_grant() -> None:
    contacts = load_template(TEMPLATE)["Resources"]["ContactsFunction"]
    assert _authenticated(contacts)
    assert _reads_accounts_table(contacts)
    for policy in contacts["Properties"]["Policies"]:
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "PolicyConsentCheck"]
    assert not _reads_accounts_table(contacts)
