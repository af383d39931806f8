"""Accounts REST API: the caller's profile, org members and roles (admins), org settings, consent per
purpose and policy versions, photo and age."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.accounts.consent import TERMS_DOCUMENT
from callproof.accounts.model import (
    AgeIn,
    AgeOut,
    AgeRecord,
    ConsentIn,
    ConsentOut,
    ConsentState,
    GuardianOut,
    MemberIn,
    MemberList,
    MemberOut,
    MemberPatch,
    MeOut,
    MePatch,
    OrgSettingsIn,
    OrgSettingsOut,
    PhotoDownloadOut,
    PhotoUploadIn,
    PhotoUploadOut,
    PolicyOut,
    Purpose,
)
from callproof.accounts.service import AccountService
from callproof.errors import NotFound
from callproof.observability import logger, metrics, tracer

app = http.resolver(wiring.policy_gate)


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


@app.post("/v1/me/photo")
def photo_upload(body: PhotoUploadIn) -> Response[PhotoUploadOut]:
    upload = wiring.photos().upload(http.current_caller(app), body.content_type)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, PhotoUploadOut.model_validate(upload))


@app.get("/v1/me/photo")
def photo_download() -> PhotoDownloadOut:
    return PhotoDownloadOut.model_validate(wiring.photos().download(http.current_caller(app)))


@app.delete("/v1/me/photo")
def photo_delete() -> Response[None]:
    deleted = wiring.photos().delete(http.current_caller(app))
    logger.info("photo deleted", extra={"versions": deleted})
    return Response(HTTPStatus.NO_CONTENT)


def _age_out(record: AgeRecord) -> AgeOut:
    guardian = (
        GuardianOut(
            name=record.guardian_name or "",
            email=record.guardian_email or "",
            consented_at=record.guardian_consented_at,
            method=record.guardian_method,
        )
        if record.guardian_email
        else None
    )
    return AgeOut(
        status=record.status,
        recorded_at=record.recorded_at,
        basis="birth_date" if record.birth_date else "attestation",
        guardian=guardian,
    )


@app.get("/v1/me/age")
def get_age() -> AgeOut:
    return _age_out(wiring.ages().get(http.current_caller(app)))


@app.put("/v1/me/age")
def put_age(body: AgeIn) -> AgeOut:
    """Sign-up's age step: under 16, the account is inactive until the emailed guardian confirms."""
    return _age_out(wiring.ages().record(http.current_caller(app), body))


@app.get("/v1/policies/<document>")
def get_policy(document: str) -> PolicyOut:
    """The current version of a policy document (``terms``: terms of service and privacy policy)."""
    if document != TERMS_DOCUMENT:
        raise NotFound("no such policy document", field="document")
    return PolicyOut.model_validate(wiring.consent().current_policy(document).latest)


@app.get("/v1/me/consents")
def get_consents() -> ConsentState:
    current, history = wiring.consent().state(http.current_caller(app))
    return ConsentState(
        current={purpose.value: ConsentOut.model_validate(r) for purpose, r in current.items()},
        history=[ConsentOut.model_validate(r) for r in history],
    )


@app.post("/v1/me/consents")
def give_consent(body: ConsentIn) -> Response[ConsentOut]:
    record = wiring.consent().record(http.current_caller(app), body)
    metrics.add_metric(name="ConsentRecords", unit="Count", value=1)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, ConsentOut.model_validate(record))


@app.delete("/v1/me/consents/<purpose>")
def withdraw_consent(purpose: Purpose) -> ConsentOut:
    return ConsentOut.model_validate(wiring.consent().withdraw(http.current_caller(app), purpose))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
