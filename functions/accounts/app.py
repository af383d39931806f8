"""Accounts REST API: the caller's profile, org members and roles (admins), org settings, consent per
purpose and policy versions; the public marketing-email unsubscribe page (signed link, no login)."""

from __future__ import annotations

from html import escape
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import html_pages, http, wiring
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
from callproof.errors import DomainError, NotFound
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


# ------------------------------------------------------------------ public: marketing unsubscribe
TITLE = "Unsubscribe from marketing email"


def _page(status: int, body: str, title: str = TITLE) -> Response[str]:
    return http.html_response(status, html_pages.document(title, body))


@app.get("/email/unsubscribe", include_in_schema=False)
def unsubscribe_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET never changes anything (mail scanners follow links): it shows a one-button form."""
    try:
        wiring.consent().check_unsubscribe(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>')
    return _page(
        200,
        f'<form method="post" action="unsubscribe?token={escape(token)}">'
        '<p>Stop sending me marketing email.</p><button type="submit">Unsubscribe</button></form>',
    )


@app.post("/email/unsubscribe", include_in_schema=False)
def unsubscribe(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """The form's post, and RFC 8058 one-click (``List-Unsubscribe=One-Click``) from mail clients:
    the signed token is the only authority; repeating it appends another withdrawal, harmlessly."""
    try:
        wiring.consent().unsubscribe(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>')
    metrics.add_metric(name="MarketingUnsubscribes", unit="Count", value=1)
    return _page(200, '<p class="done" role="status">Done: you will get no more marketing email from us.</p>')


GUARDIAN_TITLE = "Parent or guardian consent"


@app.get("/guardian/consent", include_in_schema=False)
def guardian_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET changes nothing (mail scanners follow links): it asks the guardian to confirm."""
    try:
        record = wiring.ages().pending(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>', GUARDIAN_TITLE)
    if record.guardian_consented_at is not None:
        return _page(
            200,
            '<p class="done" role="status">Your consent is already recorded. Thank you.</p>',
            GUARDIAN_TITLE,
        )
    return _page(
        200,
        f'<form method="post" action="consent?token={escape(token)}">'
        f"<p>{escape(record.guardian_name or '')}, you were named as the parent or guardian of a person under "
        "16 who signed up for CallProof. We hold their name, company, email and the data they enter "
        "in the CRM. Their account stays inactive until you agree.</p>"
        '<button type="submit">I am their parent or guardian and I consent</button></form>',
        GUARDIAN_TITLE,
    )


@app.post("/guardian/consent", include_in_schema=False)
def guardian_confirm(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    try:
        wiring.ages().confirm(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>', GUARDIAN_TITLE)
    metrics.add_metric(name="GuardianConsents", unit="Count", value=1)
    return _page(
        200, '<p class="done" role="status">Thank you: your consent is recorded.</p>', GUARDIAN_TITLE
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)
