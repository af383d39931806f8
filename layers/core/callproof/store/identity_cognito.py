"""IdentityDirectory on Cognito user pools (cognito-idp Admin* calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from callproof.accounts.model import DirectoryUser
from callproof.errors import InvalidInput, NotFound, TemporarilyUnavailable
from callproof.tenancy import ORG_CLAIM, Role

# What AdminCreateUser answers about the address itself: the caller's input, so a 422 naming
# ``email``, never a 502. Real Cognito and moto disagree on which addresses are valid (moto refuses
# ``o'brien@...``); ``emails.sign_in_email`` refuses up front what both refuse.
_REFUSED_ADDRESS = {
    "InvalidParameterException": "the sign-in directory does not accept this email address",
    "CodeDeliveryFailureException": "the invitation could not be delivered to this email address",
}
_BUSY = frozenset({"TooManyRequestsException", "LimitExceededException"})
_TAKEN = frozenset({"UsernameExistsException", "AliasExistsException"})


def _user(username: str, attributes: Mapping[str, str], enabled: bool = True) -> DirectoryUser:
    return DirectoryUser(
        user_id=str(attributes.get("sub") or username),
        username=username,
        org_id=attributes.get(ORG_CLAIM),
        enabled=enabled,
    )


class CognitoDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client = client
        self._pool = user_pool_id

    def create_user(self, org_id: str, email: str, full_name: str) -> DirectoryUser | None:
        """AdminCreateUser with the immutable org attribute; Cognito emails the temporary password.
        None when the email already signs in (the pool signs in by email: one user per address)."""
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
            code = exc.response["Error"]["Code"]
            if code in _TAKEN:
                return None
            if code in _REFUSED_ADDRESS:
                raise InvalidInput(_REFUSED_ADDRESS[code], field="email") from None
            if code in _BUSY:
                raise TemporarilyUnavailable("the sign-in directory is busy; retry shortly") from None
            raise
        user = response["User"]
        return _user(str(user["Username"]), {a["Name"]: a["Value"] for a in user.get("Attributes", [])})

    def find_user(self, email: str) -> DirectoryUser | None:
        """AdminGetUser by the email (a username attribute of the pool, so Cognito accepts it)."""
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool, Username=email)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UserNotFoundException":
                raise
            return None
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        return _user(str(user["Username"]), attributes, enabled=bool(user.get("Enabled", True)))

    def reinstate(self, username: str) -> None:
        """AdminEnableUser: the user signs in again with their own password. (No invitation is
        re-sent: moto's AdminCreateUser RESEND creates a second user instead of re-sending.)"""
        self._client.admin_enable_user(UserPoolId=self._pool, Username=username)

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
