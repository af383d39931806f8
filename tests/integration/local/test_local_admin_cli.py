"""``callproof admin create`` on moto's cognito-idp (issue 18, point 3): an org's first admin, made
with AdminCreateUser and the org claim, put in its groups and listed as a member by the API; what it
refuses writes nothing."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from callproof_local import cli
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event


def admin_create(stack: dict[str, Physical], *args: str) -> int:
    target = ["--user-pool-id", stack["UserPool"].ref, "--table", stack["AccountsTable"].ref]
    return cli.main(["admin", "create", *args, *target])


def cognito_users(stack: dict[str, Physical]) -> dict[str, dict[str, Any]]:
    users = boto3.client("cognito-idp").list_users(UserPoolId=stack["UserPool"].ref)["Users"]
    return {
        attrs["email"]: {"username": user["Username"], **attrs}
        for user in users
        for attrs in [{a["Name"]: a["Value"] for a in user["Attributes"]}]
    }


def groups_of(stack: dict[str, Physical], username: str) -> list[str]:
    listed = boto3.client("cognito-idp").admin_list_groups_for_user(
        UserPoolId=stack["UserPool"].ref, Username=username
    )
    return sorted(group["GroupName"] for group in listed["Groups"])


def test_first_admin_of_an_org(
    aws_stack: dict[str, Physical], call: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        admin_create(aws_stack, "--org", "acme", "--email", "Ada@Acme.example", "--name", "Ada Lovelace") == 0
    )
    printed = json.loads(capsys.readouterr().out)
    user = cognito_users(aws_stack)["ada@acme.example"]
    assert (user["custom:org_id"], user["name"], user["email_verified"]) == ("acme", "Ada Lovelace", "true")
    assert printed == {
        "org_id": "acme",
        "user_id": user["sub"],
        "email": "ada@acme.example",
        "roles": ["admin"],
        "username": user["username"],
    }
    assert groups_of(aws_stack, user["username"]) == ["admin"]
    # signed in (her ID token's claims), she is an admin of acme and its member list has her
    status, members = call(
        "AccountsFunction", api_event("GET", "/v1/org/members", org="acme", user=user["sub"], roles="admin")
    )
    assert status == 200, members
    assert [(m["user_id"], m["email"], m["roles"]) for m in members["items"]] == [
        (user["sub"], "ada@acme.example", ["admin"])
    ]


def test_roles_can_be_given(aws_stack: dict[str, Physical], capsys: pytest.CaptureFixture[str]) -> None:
    roles = ["--role", "admin", "--role", "compliance", "--role", "admin"]
    assert (
        admin_create(aws_stack, "--org", "acme", "--email", "grace@acme.example", "--name", "Grace", *roles)
        == 0
    )
    assert json.loads(capsys.readouterr().out)["roles"] == ["admin", "compliance"]
    username = cognito_users(aws_stack)["grace@acme.example"]["username"]
    assert groups_of(aws_stack, username) == ["admin", "compliance"]


def test_refusals_write_nothing(aws_stack: dict[str, Physical], capsys: pytest.CaptureFixture[str]) -> None:
    assert admin_create(aws_stack, "--org", "acme", "--email", "ada@acme.example", "--name", "Ada") == 0
    before = cognito_users(aws_stack)
    table = aws_stack["AccountsTable"].ref
    items = boto3.client("dynamodb").scan(TableName=table)["Count"]
    capsys.readouterr()
    refused = {
        "another org's address": ("--org", "globex", "--email", "ADA@acme.example", "--name", "Ada"),
        "already a member": ("--org", "acme", "--email", "ada@acme.example", "--name", "Ada"),
        "an org id no token could carry": ("--org", "acme/../x", "--email", "b@acme.example", "--name", "B"),
        "not an email": ("--org", "acme", "--email", "not-an-email", "--name", "B"),
        "an empty name": ("--org", "acme", "--email", "b@acme.example", "--name", " "),
    }
    for why, args in refused.items():
        assert admin_create(aws_stack, *args) == 2, why
        error = capsys.readouterr().err
        assert error.startswith("callproof: "), (why, error)
        assert len(error.splitlines()) == 1, (why, error)
    assert cognito_users(aws_stack) == before
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == items
