"""Removing and restoring org members (ADR 0023), included in the accounts function:
``app.include_router(routes(wiring_offboarding.offboarding))``. Thin: call ``Offboarding``, show. The
service checks the ``admin`` role; the errors are mapped by the including resolver (``callproof.http``)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from callproof.accounts.model import MemberOut
from callproof.observability import metrics
from callproof.tenancy import USER_ID_PATTERN, Caller, caller_from_event

if TYPE_CHECKING:
    from callproof.accounts.offboarding import Offboarding

# A user id as stored (a Cognito sub, or an id made by `callproof admin create`): a malformed one is a
# 422 naming `user_id`, before any read.
UserId = Annotated[str, Path(pattern=USER_ID_PATTERN)]


def routes(service: Callable[[], Offboarding]) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def caller() -> Caller:
        return caller_from_event(router.current_event.raw_event)

    @router.delete("/v1/org/members/<user_id>", status_code=HTTPStatus.NO_CONTENT)
    def remove_member(user_id: UserId) -> Response[None]:
        """Remove a member (admin): restorable during the org's grace period, then purged.
        At once: their sign-in is disabled, their Gmail and calendar grants revoked and deleted (the
        Gmail watch stopped first), their photo (every version), devices and locations deleted, and the
        contacts they own and calls they logged given to you. The member stays listed as `removed`
        until `purge_after` (the org's `member_grace_days`, default 30): then the sign-in user and
        account data are deleted, the consent history kept pseudonymised. Until then `POST .../restore`
        undoes it. A retry finishes a half-done removal. An admin cannot remove themselves (409);
        another org's member is a 404."""
        service().remove(caller(), user_id)
        metrics.add_metric(name="MembersRemoved", unit="Count", value=1)
        return Response(HTTPStatus.NO_CONTENT)

    @router.post("/v1/org/members/<user_id>/restore")
    def restore_member(user_id: UserId) -> MemberOut:
        """Restore a removed member within the grace period (admin).
        They sign in again with their own password; what the removal deleted stays deleted and their
        records stay with the admin. 409 `member_not_removed` for an active member, `grace_period_over`
        once `purge_after` has passed."""
        return MemberOut.model_validate(service().restore(caller(), user_id))

    return router
