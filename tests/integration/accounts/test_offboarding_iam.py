"""Offboarding on moto (ADR 0023) with every AWS call recorded: moto does not enforce IAM, so a call
the role lacks would work here and fail in the cloud. A removal (AccountsFunction) and the sweep
(MemberSweepFunction) run over a member with a device and location, a contact, a call, a photo and
consents; each call they make (action and table, index, bucket key or pool) must be allowed by a
statement of that function's role in infra/template.yaml. (The grant paths on MailTable run empty
here; the e2e test walks them with the Google double.)"""

from __future__ import annotations

import fnmatch
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from callproof import aws
from callproof_local.template import Physical, load_template
from tests.integration.accounts.test_accounts_api import end_grace_period, sweep
from tests.integration.conftest import Invoke
from tests.support import TEMPLATE, api_event

ADMIN = {"org": "org-a", "user": "admin-1", "roles": "admin"}
DEVICE = {
    "device_type": "phone",
    "os_name": "Android",
    "os_version": "15",
    "app_version": "4.2.0",
    "location_consent": True,
    "location": {"latitude": 48.85, "longitude": 2.35},
}
# The S3 operation names IAM knows them by (the rest are the same as the API's).
S3_ACTIONS = {"ListObjectVersions": "ListBucketVersions", "DeleteObjects": "DeleteObject"}


@contextmanager
def recorded() -> Iterator[set[tuple[str, str]]]:
    """(IAM action, physical resource) of every call the shared clients make meanwhile."""
    calls: set[tuple[str, str]] = set()
    clients = {"dynamodb": aws.dynamodb(), "s3": aws.s3(), "cognito-idp": aws.cognito_idp(), "kms": aws.kms()}

    def hook(service: str) -> Any:
        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            calls.update(
                (f"{service}:{action}", where) for action, where in _resources(service, model.name, params)
            )

        return record

    handlers = []
    for service, client in clients.items():
        handler = hook(service)
        client.meta.events.register("before-parameter-build", handler)
        handlers.append((client, handler))
    try:
        yield calls
    finally:
        for client, handler in handlers:
            client.meta.events.unregister("before-parameter-build", handler)


def _resources(service: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                yield "TransactWriteItems", f"table/{body['TableName']}"
        elif "RequestItems" in params:  # BatchWriteItem, BatchGetItem
            for table in params["RequestItems"]:
                yield operation, f"table/{table}"
        else:
            index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
            yield operation, f"table/{params['TableName']}{index}"
    elif service == "s3":
        action = S3_ACTIONS.get(operation, operation)
        if operation == "DeleteObjects":
            for entry in params["Delete"]["Objects"]:
                versioned = "DeleteObjectVersion" if entry.get("VersionId") else "DeleteObject"
                yield versioned, f"{params['Bucket']}/{entry['Key']}"
        elif operation == "DeleteObject" and params.get("VersionId"):
            yield "DeleteObjectVersion", f"{params['Bucket']}/{params['Key']}"
        elif "Key" in params:
            yield action, f"{params['Bucket']}/{params['Key']}"
        else:
            yield action, params["Bucket"]
    else:
        yield operation, "*"


def _granted(stack: dict[str, Physical], function: str) -> list[tuple[set[str], list[str]]]:
    """(actions, physical resource patterns) of each Allow statement of the function's role."""
    spec = load_template(TEMPLATE)["Resources"][function]["Properties"]
    out = []
    for policy in spec["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement["Action"]
            resources = statement["Resource"]
            out.append(
                (
                    set([actions] if isinstance(actions, str) else actions),
                    [_pattern(stack, r) for r in (resources if isinstance(resources, list) else [resources])],
                )
            )
    return out


def _pattern(stack: dict[str, Physical], resource: Any) -> str:
    """A template resource as a pattern over the recorded names (tables, buckets and their keys)."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical = resource["Fn::GetAtt"][0]
        kind = load_template(TEMPLATE)["Resources"][logical]["Type"]
        return f"table/{stack[logical].ref}" if kind == "AWS::DynamoDB::Table" else stack[logical].ref
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]

        def physical(match: re.Match[str]) -> str:
            logical = match.group(1).removesuffix(".Arn")
            kind = load_template(TEMPLATE)["Resources"][logical]["Type"]
            return f"table/{stack[logical].ref}" if kind == "AWS::DynamoDB::Table" else stack[logical].ref

        return re.sub(r"\$\{([A-Za-z]+(?:\.Arn)?)\}", physical, text)
    if isinstance(resource, dict) and "Ref" in resource:
        return stack[resource["Ref"]].ref
    return str(resource)


def _refused(stack: dict[str, Physical], function: str, calls: set[tuple[str, str]]) -> list[str]:
    grants = _granted(stack, function)
    return sorted(
        f"{action} on {where}"
        for action, where in calls
        if not any(
            action in actions and (where == "*" or any(fnmatch.fnmatchcase(where, p) for p in patterns))
            for actions, patterns in grants
        )
    )


def test_removal_and_sweep_make_only_calls_their_roles_allow(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    email = f"rita-{uuid.uuid4().hex[:6]}@example.com"
    status, rita = call(
        "AccountsFunction",
        api_event(
            "POST", "/v1/org/members", body={"email": email, "full_name": "Rita", "roles": ["rep"]}, **ADMIN
        ),
    )
    assert status == 201, rita
    user = {"org": "org-a", "user": rita["user_id"], "roles": "rep"}
    assert (
        call(
            "AccountsFunction", api_event("POST", "/v1/me/consents", body={"purpose": "geolocation"}, **user)
        )[0]
        == 201
    )
    device = api_event("PUT", "/v1/devices/phone-1", resource="/v1/devices/{device_id}", body=DEVICE, **user)
    assert call("CallLogsFunction", device)[0] == 200
    contact = {"name": "Ada", "type": "customer", "phones": ["+14155550100"]}
    status, created = call("ContactsFunction", api_event("POST", "/v1/contacts", body=contact, **user))
    assert status == 201, created
    entry = {
        "client_id": str(uuid.uuid4()),
        "phone_number": "+14155550100",
        "direction": "outbound",
        "started_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "duration_seconds": 30,
        "device_id": "phone-1",
    }
    assert (
        call("CallLogsFunction", api_event("POST", "/v1/call-logs", body={"entries": [entry]}, **user))[0]
        == 200
    )
    boto3.client("s3").put_object(
        Bucket=aws_stack["DataBucket"].ref, Key=f"orgs/org-a/users/{rita['user_id']}/photo", Body=b"\x89PNG"
    )

    path, resource = f"/v1/org/members/{rita['user_id']}", "/v1/org/members/{user_id}"
    with recorded() as removal:
        assert call("AccountsFunction", api_event("DELETE", path, resource=resource, **ADMIN))[0] == 204
    assert ("dynamodb:UpdateItem", f"table/{aws_stack['ContactsTable'].ref}") in removal  # reassigned
    assert any(action == "s3:DeleteObjectVersion" for action, _ in removal)  # the photo went
    assert _refused(aws_stack, "AccountsFunction", removal) == []

    with recorded() as restore:
        restored = api_event("POST", f"{path}/restore", resource=f"{resource}/restore", **ADMIN)
        assert call("AccountsFunction", restored)[0] == 200
    assert _refused(aws_stack, "AccountsFunction", restore) == []
    assert call("AccountsFunction", api_event("DELETE", path, resource=resource, **ADMIN))[0] == 204

    end_grace_period(aws_stack, "org-a", rita["user_id"])
    with recorded() as swept:
        assert sweep(call) == {"purged": 1, "skipped": 0}
    assert ("cognito-idp:AdminDeleteUser", "*") in swept
    assert _refused(aws_stack, "MemberSweepFunction", swept) == []


def test_the_checker_notices_a_missing_grant(aws_stack: dict[str, Physical]) -> None:
    accounts = aws_stack["AccountsTable"].ref
    calls = {("dynamodb:Query", f"table/{accounts}/index/RemovedByPurge")}
    assert _refused(aws_stack, "MemberSweepFunction", calls) == []
    assert _refused(aws_stack, "AccountsFunction", calls) != []  # the API never reads that index
    photo = {("s3:DeleteObjectVersion", f"{aws_stack['DataBucket'].ref}/orgs/o/users/u/other")}
    assert _refused(aws_stack, "MemberSweepFunction", photo) != []
