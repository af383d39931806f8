"""Who is calling: org, user and roles, read only from the authorizer claims in the request context.

API Gateway's Cognito authorizer (and the local gateway, which plays it) places the verified ID token's
claims in ``requestContext.authorizer.claims``; all values are strings there, and ``cognito:groups``
arrives as a comma-separated string. Nothing in the body, query or headers is ever trusted for this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from callproof.errors import Forbidden, Unauthenticated

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # a Cognito sub, or an id `callproof admin create` made
# The org's public identity, as stored (typed upper-case, it is lowered): where the privacy page and the
# privacy mailbox (privacy+<slug>@...) find it.
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$"
_ID = re.compile(USER_ID_PATTERN)
ORG_CLAIM = "custom:org_id"
GROUPS_CLAIM = "cognito:groups"


class Role(StrEnum):
    REP = "rep"
    ADMIN = "admin"
    COMPLIANCE = "compliance"


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: str
    user_id: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, *roles: Role) -> None:
        """Refuse unless the caller holds one of ``roles``."""
        if not self.roles.intersection(roles):
            raise Forbidden(f"requires one of the roles: {', '.join(sorted(roles))}")


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """Build the caller from an API Gateway REST proxy event's authorizer claims."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    if not isinstance(claims, Mapping):
        raise Unauthenticated("no authenticated caller")
    org_id, user_id = claims.get(ORG_CLAIM), claims.get("sub")
    if not isinstance(org_id, str) or not _ID.match(org_id):
        raise Unauthenticated("token has no valid org claim")
    if not isinstance(user_id, str) or not _ID.match(user_id):
        raise Unauthenticated("token has no valid subject")
    return Caller(org_id=org_id, user_id=user_id, roles=_parse_roles(claims.get(GROUPS_CLAIM)))


def _parse_roles(raw: object) -> frozenset[Role]:
    """Accept a list, "a,b", "[a b]" or "[a, b]": the shapes API Gateway has used for array claims."""
    if isinstance(raw, list):
        names = [str(item) for item in raw]
    elif isinstance(raw, str):
        names = re.split(r"[\s,]+", raw.strip().strip("[]"))
    else:
        names = []
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in names if name in known)
