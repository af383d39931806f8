import pytest

from callproof.errors import Forbidden, Unauthenticated
from callproof.tenancy import Role, caller_from_event


def event_with(claims: object) -> dict[str, object]:
    return {"requestContext": {"authorizer": {"claims": claims}}, "body": '{"org_id": "evil"}'}


@pytest.mark.parametrize("groups", ["admin,rep", "[admin rep]", "[admin, rep]", ["admin", "rep"]])
def test_roles_are_read_from_every_shape_api_gateway_uses(groups: object) -> None:
    caller = caller_from_event(event_with({"sub": "u1", "custom:org_id": "org-a", "cognito:groups": groups}))
    assert caller.org_id == "org-a"
    assert caller.user_id == "u1"
    assert caller.roles == {Role.ADMIN, Role.REP}


def test_unknown_groups_grant_nothing() -> None:
    caller = caller_from_event(event_with({"sub": "u1", "custom:org_id": "o", "cognito:groups": "root"}))
    assert caller.roles == frozenset()
    with pytest.raises(Forbidden):
        caller.require(Role.ADMIN)


@pytest.mark.parametrize(
    "claims",
    [None, {}, {"sub": "u1"}, {"custom:org_id": "o"}, {"sub": "u1", "custom:org_id": "../x"}, "not-a-map"],
)
def test_missing_or_malformed_claims_are_unauthenticated(claims: object) -> None:
    with pytest.raises(Unauthenticated):
        caller_from_event(event_with(claims))


def test_the_body_is_never_a_source_of_identity() -> None:
    with pytest.raises(Unauthenticated):
        caller_from_event({"body": '{"sub": "u1", "custom:org_id": "o"}', "requestContext": {}})
