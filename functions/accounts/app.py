"""Accounts REST API: the caller's profile, org members and roles (admins), org settings."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.accounts.model import (
    MemberIn,
    MemberList,
    MemberOut,
    MemberPatch,
    MeOut,
    MePatch,
    OrgSettingsIn,
    OrgSettingsOut,
)
from callproof.accounts.service import AccountService
from callproof.observability import logger, metrics, tracer

app = http.resolver()


def accounts() -> AccountService:
    return wiring.accounts()[0]


def token_email() -> str | None:
    """The ID token's email claim (set by Cognito, read-only here)."""
    claims = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer", {}).get("claims")
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) else None


@app.get("/v1/me")
def get_me() -> MeOut:
    return MeOut.model_validate(accounts().me(http.current_caller(app), token_email()))


@app.patch("/v1/me")
def patch_me(body: MePatch) -> MeOut:
    return MeOut.model_validate(accounts().update_me(http.current_caller(app), token_email(), body))


@app.get("/v1/org/members")
def list_members() -> MemberList:
    members = accounts().list_members(http.current_caller(app))
    return MemberList(items=[MemberOut.model_validate(m) for m in members])


@app.post("/v1/org/members")
def add_member(body: MemberIn) -> Response[MemberOut]:
    member = accounts().add_member(http.current_caller(app), body)
    metrics.add_metric(name="MembersAdded", unit="Count", value=1)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, MemberOut.model_validate(member))


@app.patch("/v1/org/members/<user_id>")
def patch_member(user_id: str, body: MemberPatch) -> MemberOut:
    member = accounts().set_roles(http.current_caller(app), user_id, frozenset(body.roles))
    return MemberOut.model_validate(member)


@app.delete("/v1/org/members/<user_id>")
def remove_member(user_id: str) -> Response[None]:
    accounts().remove_member(http.current_caller(app), user_id)
    return Response(HTTPStatus.NO_CONTENT)


@app.get("/v1/org/settings")
def get_org_settings() -> OrgSettingsOut:
    return OrgSettingsOut.model_validate(wiring.accounts()[1].get(http.current_caller(app)))


@app.put("/v1/org/settings")
def put_org_settings(body: OrgSettingsIn) -> OrgSettingsOut:
    return OrgSettingsOut.model_validate(wiring.accounts()[1].put(http.current_caller(app), body))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
