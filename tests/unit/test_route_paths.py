"""Which route a path reaches (``callproof.http.handle``): a path with a control character names no
route. Powertools anchors its route patterns with ``$``, which also matches before a final newline: the
fuzzer's ``GET /v1/contacts/%0A`` was answered with the contact list, and a newline after an id reached
that id's route."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callproof import http
from tests.support import api_event


@pytest.fixture
def served() -> list[str]:
    return []


@pytest.fixture
def app(served: list[str]) -> http.Resolver:
    app = http.resolver()

    @app.get("/v1/contacts")
    def contacts() -> dict[str, str]:
        served.append("list")
        return {"ok": "list"}

    @app.get("/v1/contacts/<contact_id>")
    def contact(contact_id: str) -> dict[str, str]:
        served.append(contact_id)
        return {"ok": contact_id}

    return app


def answer(app: http.Resolver, path: str, resource: str) -> tuple[int, Any]:
    event = api_event("GET", path, resource=resource)
    event["pathParameters"] = {"contact_id": path.rsplit("/", 1)[1]} if "{" in resource else None
    result = http.handle(app, event, None)  # type: ignore[arg-type]
    return int(result["statusCode"]), json.loads(result["body"])


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/v1/contacts/\n", "/v1/contacts/{contact_id}"),  # the fuzzer's: reached the list
        ("/v1/contacts/c1\n", "/v1/contacts/{contact_id}"),  # reached contact c1
        ("/v1/contacts\n", "/v1/contacts"),
        ("/v1/contacts/c\t1", "/v1/contacts/{contact_id}"),
        ("/v1/contacts/c1\x7f", "/v1/contacts/{contact_id}"),
    ],
)
def test_a_path_with_a_control_character_reaches_no_route(
    app: http.Resolver, served: list[str], path: str, resource: str
) -> None:
    status, body = answer(app, path, resource)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert served == []


def test_the_same_routes_serve_their_paths(app: http.Resolver, served: list[str]) -> None:
    assert answer(app, "/v1/contacts", "/v1/contacts")[0] == 200
    assert answer(app, "/v1/contacts/c1", "/v1/contacts/{contact_id}")[0] == 200
    assert served == ["list", "c1"]
