"""Accounts REST API: the caller's profile, org members and roles (admins), org settings, consent per
purpose and policy versions, photo and age."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring, wiring_consent, wiring_offboarding
from callproof.accounts.announcements import AnnouncementIn, AnnouncementOut
from callproof.accounts.consent import TERMS_DOCUMENT
from callproof.accounts.model import (
    AgeIn,
    AgeOut,
    ConsentIn,
    ConsentOut,
    ConsentState,
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
from callproof.accounts.offboarding_routes import routes as offboarding_routes
from callproof.accounts.service import AccountService
from callproof.errors import NotFound
from callproof.observability import logger, metrics, tracer

app = http.resolver(wiring.policy_gate)
app.include_router(offboarding_routes(wiring_offboarding.offboarding))  # removal and restore (ADR 0023)


def accounts() -> AccountService:
    return wiring.accounts()[0]


def token_email() -> str | None:
    """The ID token's email claim (set by Cognito, read-only here)."""
    claims = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer", {}).get("claims")
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) else None


@app.get("/v1/me")
def get_me() -> MeOut:
    """The caller's profile."""
    return MeOut.model_validate(accounts().me(http.current_caller(app), token_email()))


@app.patch("/v1/me")
def patch_me(body: MePatch) -> MeOut:
    """Change the caller's name or company.
    The email is the Cognito sign-in and cannot change here (422)."""
    return MeOut.model_validate(accounts().update_me(http.current_caller(app), token_email(), body))


@app.get("/v1/org/members")
def list_members() -> MemberList:
    """List the org's members (admin)."""
    members = accounts().list_members(http.current_caller(app))
    return MemberList(items=[MemberOut.model_validate(m) for m in members])


@app.post("/v1/org/members", status_code=HTTPStatus.CREATED)
def add_member(body: MemberIn) -> MemberOut:
    """Add a member (admin).
    Creates the Cognito user with the org claim and roles and sends the invitation. 422 naming
    `email` for an address Cognito cannot sign in with; 409 if a member of this org has it. An
    address another org uses answers as a free one, so no org learns who uses another."""
    member = accounts().add_member(http.current_caller(app), body)
    metrics.add_metric(name="MembersAdded", unit="Count", value=1)
    return MemberOut.model_validate(member)


@app.patch("/v1/org/members/<user_id>")
def patch_member(user_id: str, body: MemberPatch) -> MemberOut:
    """Replace a member's roles (admin); an admin cannot drop their own admin role (409)."""
    member = accounts().set_roles(http.current_caller(app), user_id, frozenset(body.roles))
    return MemberOut.model_validate(member)


@app.get("/v1/org/settings")
def get_org_settings() -> OrgSettingsOut:
    """The org's settings."""
    return OrgSettingsOut.model_validate(wiring.accounts()[1].get(http.current_caller(app)))


@app.put("/v1/org/settings")
def put_org_settings(body: OrgSettingsIn) -> OrgSettingsOut:
    """Replace the org's settings (admin); an omitted field returns to its default."""
    return OrgSettingsOut.model_validate(wiring.accounts()[1].put(http.current_caller(app), body))


@app.post("/v1/org/announcements", status_code=HTTPStatus.CREATED)
def announce(body: AnnouncementIn) -> AnnouncementOut:
    """Mail a product update to the org's members (admin): only those with current `marketing_email`
    consent get it, each with a one-click unsubscribe link; the answer counts, never lists, them."""
    sent = wiring_consent.announcements().send(http.current_caller(app), body)
    metrics.add_metric(name="MarketingMailsSent", unit="Count", value=sent.sent)
    return AnnouncementOut.model_validate(sent)


@app.post("/v1/me/photo", status_code=HTTPStatus.CREATED)
def photo_upload(body: PhotoUploadIn) -> PhotoUploadOut:
    """Start a photo upload: a presigned S3 POST limited to the type given and 5 MB, for 10 minutes."""
    upload = wiring.photos().upload(http.current_caller(app), body.content_type)
    return PhotoUploadOut.model_validate(upload)


@app.get("/v1/me/photo")
def photo_download() -> PhotoDownloadOut:
    """A 5-minute download URL for the caller's photo."""
    return PhotoDownloadOut.model_validate(wiring.photos().download(http.current_caller(app)))


@app.delete("/v1/me/photo", status_code=HTTPStatus.NO_CONTENT)
def photo_delete() -> Response[None]:
    """Delete the caller's photo, every stored version."""
    deleted = wiring.photos().delete(http.current_caller(app))
    logger.info("photo deleted", extra={"versions": deleted})
    return Response(HTTPStatus.NO_CONTENT)


@app.get("/v1/me/age")
def get_age() -> AgeOut:
    """The caller's age record (and guardian consent, under 16)."""
    return AgeOut.of(wiring.ages().get(http.current_caller(app)))


@app.put("/v1/me/age")
def put_age(body: AgeIn) -> AgeOut:
    """Record the caller's age (sign-up's age step).
    Under 16, the account is inactive (403 `guardian_consent_required`) until the emailed guardian
    confirms; a recorded birth date is final (409)."""
    return AgeOut.of(wiring.ages().record(http.current_caller(app), body))


@app.get("/v1/policies/<document>")
def get_policy(document: str) -> PolicyOut:
    """The current version of a policy document.
    `terms` is the terms of service and privacy policy; a significant version needs the user's consent."""
    if document != TERMS_DOCUMENT:
        raise NotFound("no such policy document", field="document")
    return PolicyOut.model_validate(wiring.consent().current_policy(document).latest)


@app.get("/v1/me/consents")
def get_consents() -> ConsentState:
    """The caller's consent per purpose: the current state and the append-only history."""
    current, history = wiring.consent().state(http.current_caller(app))
    return ConsentState(
        current={purpose.value: ConsentOut.model_validate(r) for purpose, r in current.items()},
        history=[ConsentOut.model_validate(r) for r in history],
    )


@app.post("/v1/me/consents", status_code=HTTPStatus.CREATED)
def give_consent(body: ConsentIn) -> ConsentOut:
    """Give consent for a purpose; appends a record.
    Purposes: `terms` (with the accepted version), `marketing_email`, `geolocation`."""
    record = wiring_consent.consent_actions().record(http.current_caller(app), body)
    metrics.add_metric(name="ConsentRecords", unit="Count", value=1)
    return ConsentOut.model_validate(record)


@app.delete("/v1/me/consents/<purpose>")
def withdraw_consent(purpose: Purpose) -> ConsentOut:
    """Withdraw consent for a purpose in one call (appends a withdrawal); withdrawing `geolocation`
    also erases the stored location of every device of yours, and none is kept until you give it again."""
    return ConsentOut.model_validate(
        wiring_consent.consent_actions().withdraw(http.current_caller(app), purpose)
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste
