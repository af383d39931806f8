"""Every function behind the Cognito authorizer can run the account gate of ``callproof/http.py``:
it sees ``ACCOUNTS_TABLE`` and may ``GetItem`` on the AccountsTable (moto does not enforce IAM, so
without this rule a new function would work locally and answer 500 on every request in the cloud).
The accounts function may make every Cognito call that managing members makes, for the same reason."""

from __future__ import annotations

from typing import Any

from callproof.store.identity_cognito import CognitoDirectory
from callproof.tenancy import Role
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


class _Recording:
    """A cognito-idp client that records the operations called and answers as an empty pool would
    (every user already exists in another org, so each path of adding a member is walked)."""

    def __init__(self) -> None:
        self.operations: set[str] = set()

    def __getattr__(self, method: str) -> Any:
        def call(**_: Any) -> dict[str, Any]:
            self.operations.add("cognito-idp:" + "".join(part.title() for part in method.split("_")))
            if method == "admin_get_user":
                return {
                    "Username": "u-1",
                    "Enabled": False,
                    "UserAttributes": [{"Name": "sub", "Value": "u-1"}],
                }
            return {"User": {"Username": "u-1", "Attributes": []}}

        return call


def test_the_accounts_role_may_make_every_directory_call_adding_and_removing_members_makes() -> None:
    """moto does not enforce IAM: a Cognito call the role lacks would work locally and be a 502 in
    the cloud. Walk the directory's member paths with a recording client and compare."""
    client = _Recording()
    directory = CognitoDirectory(client, "pool")
    directory.create_user("org-a", "ada@example.com", "Ada")
    directory.find_user("ada@example.com")
    directory.reinstate("u-1")
    directory.set_groups("u-1", add=frozenset({Role.REP}), remove=frozenset({Role.ADMIN}))
    directory.delete_user("u-1")

    accounts = load_template(TEMPLATE)["Resources"]["AccountsFunction"]
    granted = {
        action
        for policy in accounts["Properties"]["Policies"]
        if isinstance(policy, dict)
        for statement in policy.get("Statement", [])
        if statement.get("Effect") == "Allow"
        and {"Fn::GetAtt": ["UserPool", "Arn"]}
        in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert client.operations == {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminDeleteUser",
    }
    assert client.operations <= granted
