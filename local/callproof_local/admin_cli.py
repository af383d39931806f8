"""``callproof admin create``: the first admin of an org, made by an operator with AWS credentials.

The pool takes no sign-ups (``AllowAdminCreateUserOnly``) and the API's ``POST /v1/members`` needs an
admin already, so the first one is made here, the way the accounts API makes every member
(``AccountService.add_member``): Cognito ``AdminCreateUser`` with the immutable ``custom:org_id``
attribute (Cognito mails the temporary password), the groups (``admin`` unless ``--role`` says more),
and the member item in AccountsTable. ``--user-pool-id`` and ``--table`` are the stack's
``UserPoolId`` and ``AccountsTableName`` outputs.

Unlike the API, the operator is told when the address already signs in to another org (the API keeps
that from an org's admins): nothing is written then. Exit codes: 0 created, 2 a usage problem
(invalid org, email, name or role; an address of another org; already a member).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from callproof_local.usage import UsageError, examples

OPERATOR = "callproof-operator"  # the caller the service sees: an admin of the org, a user of none
ROLES = ("admin", "compliance", "rep")


def add_commands(commands: Any) -> None:  # argparse's _SubParsersAction
    admin = commands.add_parser(
        "admin",
        help="org administration on a deployment (AWS credentials)",
        description="Org administration on a deployment, with the AWS credentials of the shell.",
    ).add_subparsers(dest="admin", required=True)
    create = admin.add_parser(
        "create",
        help="create an org's first admin (Cognito user with the org claim and groups, member item)",
        description="Cognito AdminCreateUser with the immutable custom:org_id attribute (Cognito mails the\n"
        "temporary password), the groups, and the member item in AccountsTable, as POST /v1/members\n"
        "does. Refused, with nothing written, when the address already signs in to another org.",
        **examples(
            "callproof admin create --org acme --email ada@acme.example --name 'Ada Lovelace' "
            "--user-pool-id us-east-1_AbCdEf123 --table callproof-prod-AccountsTable-1A2B3C",
            "callproof admin create --org acme --email grace@acme.example --name 'Grace Hopper' --role admin "
            "--role compliance --user-pool-id us-east-1_AbCdEf123 --table callproof-prod-AccountsTable-1A2B3C",
        ),
    )
    create.add_argument("--org", required=True, help="the org id (custom:org_id; 1-64 of A-Z a-z 0-9 _ -)")
    create.add_argument("--email", required=True, help="the admin's sign-in email (gets the invitation)")
    create.add_argument("--name", required=True, help="the admin's full name")
    create.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        dest="roles",
        help="a group to join (repeatable; default: admin only)",
    )
    create.add_argument("--user-pool-id", required=True, help="the stack's UserPoolId output")
    create.add_argument("--table", required=True, help="the stack's AccountsTableName output")


def run(args: argparse.Namespace) -> int:
    return create_admin(
        args.org, args.email, args.name, args.roles or ["admin"], args.user_pool_id, args.table
    )


def create_admin(org: str, email: str, name: str, roles: Sequence[str], pool_id: str, table: str) -> int:
    import boto3
    from pydantic import ValidationError

    from callproof.accounts.model import MemberIn
    from callproof.accounts.service import AccountService
    from callproof.emails import InvalidEmail, sign_in_email
    from callproof.errors import DomainError
    from callproof.store.identity_cognito import CognitoDirectory
    from callproof.store.members_dynamo import DynamoMemberStore
    from callproof.tenancy import GROUPS_CLAIM, ORG_CLAIM, Role, caller_from_event

    claims = {ORG_CLAIM: org, "sub": OPERATOR, GROUPS_CLAIM: "admin"}
    try:  # the org id rule the API enforces on every token
        operator = caller_from_event({"requestContext": {"authorizer": {"claims": claims}}})
    except DomainError:
        raise UsageError(
            f"invalid --org {org!r}: 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"
        ) from None
    try:
        request = MemberIn(email=email, full_name=name, roles=[Role(r) for r in dict.fromkeys(roles)])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"invalid member: {problems}") from None
    try:
        address = sign_in_email(str(request.email))  # as the service will store it
    except InvalidEmail as exc:
        raise UsageError(f"invalid --email: {exc}") from None
    directory = CognitoDirectory(boto3.client("cognito-idp"), pool_id)
    existing = directory.find_user(address)
    if existing is not None and existing.org_id != org:
        raise UsageError(f"{email} already signs in to another org; nothing created")
    service = AccountService(DynamoMemberStore(boto3.client("dynamodb"), table), directory)
    try:
        member = service.add_member(operator, request)
    except DomainError as exc:
        raise UsageError(exc.message) from None
    print(
        json.dumps(
            {
                "org_id": member.org_id,
                "user_id": member.user_id,
                "email": member.email,
                "roles": sorted(member.roles),
                "username": member.username,
            }
        )
    )
    return 0
