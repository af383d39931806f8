"""IdentityDirectory on Cognito user pools (cognito-idp Admin* calls)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from callproof.errors import Conflict, NotFound
from callproof.tenancy import ORG_CLAIM, Role


class CognitoDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id

    def create_user(self, org_id: str, email: str, full_name: str) -> tuple[str, str]:
        """AdminCreateUser with the immutable org attribute; Cognito emails the temporary password."""
        try:
            response = self._client.admin_create_user(
                UserPoolId=self._pool,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "name", "Value": full_name},
                    {"Name": ORG_CLAIM, "Value": org_id},
                ],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UsernameExistsException":
                raise Conflict("a user with this email already exists", field="email") from None
            raise
        user = response["User"]
        attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        return str(attributes.get("sub") or user["Username"]), str(user["Username"])

    def set_groups(self, username: str, add: frozenset[Role], remove: frozenset[Role]) -> None:
        try:
            for role in sorted(add):
                self._client.admin_add_user_to_group(
                    UserPoolId=self._pool, Username=username, GroupName=role.value
                )
            for role in sorted(remove):
                self._client.admin_remove_user_from_group(
                    UserPoolId=self._pool, Username=username, GroupName=role.value
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UserNotFoundException":
                raise NotFound("member not found in the directory", field="user_id") from None
            raise

    def disable_user(self, username: str) -> None:
        try:
            self._client.admin_disable_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UserNotFoundException":
                raise

    def username_of(self, org_id: str, user_id: str) -> str | None:
        """The username of the org's user whose ``sub`` is ``user_id``, or None (gone, or a user of
        another org). The pool signs in by email (``UsernameAttributes: [email]``), so Cognito names
        each user by its ``sub``: AdminGetUser finds it by that name."""
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=user_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UserNotFoundException":
                raise
            return None
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return str(user["Username"]) if attributes.get(ORG_CLAIM) == org_id else None

    def delete_user(self, username: str) -> bool:
        """Disable, then delete the user (so no sign-in slips in between); False if already gone."""
        self.disable_user(username)
        try:
            self._client.admin_delete_user(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UserNotFoundException":
                raise
            return False
        return True
