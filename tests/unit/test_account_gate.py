"""The account gate at the HTTP edge (``callproof.http``): while a significant policy version awaits
the caller's consent, every authenticated route answers 428, except the few a user needs to read and
accept it, and those only with their own method (reading the profile is exempt, changing it is not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from callproof import http
from callproof.accounts.consent import GateRefusal
from tests.support import api_event


@dataclass
class Refusing:
    asked: list[tuple[str, str]] = field(default_factory=list)

    def refusal(self, org_id: str, user_id: str) -> GateRefusal:
        self.asked.append((org_id, user_id))
        return GateRefusal(428, "policy_consent_required", "accept the new policy first", "version", [])


@pytest.fixture
def gate() -> Refusing:
    return Refusing()


@pytest.fixture
def app(gate: Refusing) -> http.Resolver:
    app = http.resolver(lambda: gate)

    @app.route("/v1/me", method=["GET", "PATCH"])
    def me() -> dict[str, str]:
        return {"ok": "yes"}

    @app.route("/v1/contacts", method=["GET"])
    def contacts() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def status(app: http.Resolver, method: str, path: str, body: Any = None) -> int:
    return int(http.handle(app, api_event(method, path, body=body), None)["statusCode"])  # type: ignore[arg-type]


def test_reading_the_profile_passes_the_gate(app: http.Resolver, gate: Refusing) -> None:
    assert status(app, "GET", "/v1/me") == 200
    assert gate.asked == []


@pytest.mark.parametrize(("method", "path"), [("PATCH", "/v1/me"), ("GET", "/v1/contacts")])
def test_every_other_route_and_method_is_gated(
    app: http.Resolver, gate: Refusing, method: str, path: str
) -> None:
    assert status(app, method, path, {"full_name": "x"} if method == "PATCH" else None) == 428
    assert gate.asked == [("org-a", "rep-1")]


def test_public_routes_have_no_gate() -> None:
    public = http.resolver()

    @public.route("/sms/opt-out", method=["GET"])
    def page() -> dict[str, str]:
        return {"ok": "yes"}

    assert status(public, "GET", "/sms/opt-out") == 200
