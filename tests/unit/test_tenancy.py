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


def caller_with(groups: object) -> set[Role]:
    claims = {"sub": "u1", "custom:org_id": "org-a"}
    if groups is not None:
        claims["cognito:groups"] = groups  # type: ignore[assignment]
    return set(caller_from_event(event_with(claims)).roles)


@pytest.mark.parametrize("groups", [None, 7, {"admin": True}, "", "[]"])
def test_a_caller_without_groups_is_authenticated_with_no_roles(groups: object) -> None:
    assert caller_with(groups) == set()


@pytest.mark.parametrize(
    "groups", ["adminX", "[Xadmin]", "admins", "Admin", "[repX, Xcompliance]", "admin-rep"]
)
def test_only_exact_group_names_grant_roles(groups: str) -> None:
    """A group whose name merely contains a role's name (or differs in case) grants nothing."""
    assert caller_with(groups) == set()


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (None, "no authenticated caller"),
        ("not-a-map", "no authenticated caller"),
        ({"sub": "u1"}, "token has no valid org claim"),
        ({"sub": "u1", "custom:org_id": "../x"}, "token has no valid org claim"),
        ({"custom:org_id": "o"}, "token has no valid subject"),
        ({"custom:org_id": "o", "sub": "u 1"}, "token has no valid subject"),
    ],
)
def test_an_unauthenticated_caller_is_told_which_claim_is_missing(claims: object, message: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        caller_from_event(event_with(claims))
    assert refused.value.message == message


def test_a_refused_role_names_the_roles_that_would_do() -> None:
    caller = caller_from_event(
        event_with({"sub": "u1", "custom:org_id": "o", "cognito:groups": "compliance"})
    )
    caller.require(Role.ADMIN, Role.COMPLIANCE)
    with pytest.raises(Forbidden) as refused:
        caller.require(Role.REP, Role.ADMIN)
    assert refused.value.message == "requires one of the roles: admin, rep"
