"""Idempotency-Key on creates (callproof/idempotency.py through callproof/http.py), with Powertools'
idempotency utility on an in-memory persistence layer: a retried create answers its first response
and runs once; another body is 422; a key in flight is 409; keys belong to their org, user and route;
an expired key runs again (issue 13, point 11)."""

from __future__ import annotations

import ast
import json
import pathlib
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from itertools import count
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response, content_types
from botocore.exceptions import ClientError

from callproof import http
from callproof.contacts.model import ContactIn, ContactOut
from callproof.contacts.service import ContactService
from callproof.errors import Conflict
from callproof.idempotency import CREATE_ROUTES, Idempotency, InvalidIdempotencyKey, key_of
from tests.fakes import FixedOrgSettings, InMemoryContactStore, InMemoryIdempotencyStore
from tests.support import api_event, keyed

ROOT = pathlib.Path(__file__).resolve().parents[2]
ADA = {"name": "Ada Lovelace", "type": "customer", "emails": ["ada@example.com"]}
ROUTES = frozenset({("POST", "/v1/contacts"), ("POST", "/v1/contacts/copies")})


class Context:
    """A Lambda context with 10 s left."""

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class Api:
    """A REST function with two create routes on in-memory contacts, and the idempotency records."""

    def __init__(self, records: InMemoryIdempotencyStore | None = None) -> None:
        self.contacts = InMemoryContactStore()
        self.records = records or InMemoryIdempotencyStore()
        ids = count(1)
        self.service = ContactService(
            self.contacts,
            FixedOrgSettings("US"),
            clock=lambda: datetime(2026, 11, 28, tzinfo=UTC),
            new_id=lambda: f"{next(ids):032x}",
        )
        self.runs = 0
        self.during: Callable[[], None] = lambda: None  # what else happens while a create runs
        self.app = app = http.resolver()
        app.idempotency = Idempotency(ROUTES, store=lambda: self.records)

        @app.post("/v1/contacts")
        def create(body: ContactIn) -> Response[ContactOut]:
            self.runs += 1
            self.during()
            contact = self.service.create(http.current_caller(app), body)
            return Response(
                HTTPStatus.CREATED, content_types.APPLICATION_JSON, ContactOut.model_validate(contact)
            )

        @app.post("/v1/contacts/copies")
        def copy(body: ContactIn) -> Response[ContactOut]:
            return create(body)

    def post(
        self, key: str | None, body: Any = ADA, path: str = "/v1/contacts", **caller: str
    ) -> dict[str, Any]:
        event = api_event("POST", path, body=body, **caller)
        return http.handle(self.app, keyed(event, key) if key is not None else event, Context())  # type: ignore[arg-type]

    def stored(self) -> int:
        return len(self.contacts.contacts)


def error(response: dict[str, Any]) -> tuple[int, str, str | None]:
    body = json.loads(response["body"])["error"]
    return response["statusCode"], body["code"], body["field"]


@pytest.fixture
def api() -> Api:
    return Api()


def test_the_same_key_and_body_answer_the_first_response_and_create_once(api: Api) -> None:
    first = api.post("a1b2c3")
    again = api.post("a1b2c3", {"emails": ["ada@example.com"], "type": "customer", "name": "Ada Lovelace"})
    assert first["statusCode"] == again["statusCode"] == 201
    assert json.loads(again["body"]) == json.loads(first["body"])  # same id, same everything
    assert again["multiValueHeaders"]["Idempotent-Replayed"] == ["true"]
    assert "Idempotent-Replayed" not in first["multiValueHeaders"]
    assert (api.runs, api.stored()) == (1, 1)
    [record] = api.records.records.values()
    assert record.idempotency_key.startswith("ORG#org-a#IDEM#")
    assert record.status == "COMPLETED"


def test_the_same_key_with_another_body_is_422_and_does_nothing(api: Api) -> None:
    api.post("k")
    reused = api.post("k", {**ADA, "name": "Ada King"})
    assert error(reused) == (422, "idempotency_key_reused", "Idempotency-Key")
    assert (api.runs, api.stored()) == (1, 1)


def test_a_second_request_while_the_first_runs_is_409(api: Api) -> None:
    """Two Lambda environments (two resolvers) share the table; the second gets the key mid-run."""
    other = Api(api.records)
    answers: list[dict[str, Any]] = []
    api.during = lambda: answers.append(other.post("busy"))
    first = api.post("busy")
    assert first["statusCode"] == 201
    [second] = answers
    assert error(second) == (409, "idempotency_key_in_use", "Idempotency-Key")
    assert (other.runs, other.stored()) == (0, 0)
    assert other.post("busy")["body"] == first["body"]  # once finished, it replays


def test_another_body_while_the_first_runs_is_422(api: Api) -> None:
    other = Api(api.records)
    answers: list[dict[str, Any]] = []
    api.during = lambda: answers.append(other.post("busy", {**ADA, "name": "Bob"}))
    api.post("busy")
    assert error(answers[0])[:2] == (422, "idempotency_key_reused")


def test_a_key_belongs_to_its_org_user_and_route(api: Api) -> None:
    answers = [
        api.post("shared"),
        api.post("shared", user="rep-2"),
        api.post("shared", org="org-b"),
        api.post("shared", path="/v1/contacts/copies"),
    ]
    assert [a["statusCode"] for a in answers] == [201] * 4
    assert all("Idempotent-Replayed" not in a["multiValueHeaders"] for a in answers)
    assert (api.runs, api.stored()) == (4, 4)
    assert len(api.records.records) == 4
    assert api.post("shared", user="rep-2")["body"] == answers[1]["body"]  # each replays its own


def test_an_expired_key_runs_again(api: Api) -> None:
    first = api.post("old")
    [record] = api.records.records.values()
    assert record.expiry_timestamp is not None
    assert abs(record.expiry_timestamp - (datetime.now(UTC).timestamp() + 86_400)) < 60  # a day
    record.expiry_timestamp = int(datetime.now(UTC).timestamp()) - 1  # a day later, before TTL deletes it
    again = api.post("old")
    assert again["statusCode"] == 201
    assert json.loads(again["body"])["id"] != json.loads(first["body"])["id"]
    assert (api.runs, api.stored()) == (2, 2)


def test_without_a_key_a_create_behaves_as_before(api: Api) -> None:
    api.post(None)
    api.post(None)
    assert (api.runs, api.stored(), api.records.records) == (2, 2, {})


def test_refusals_are_not_kept_so_the_key_can_be_sent_again(api: Api) -> None:
    bad = api.post("retry-me", {**ADA, "type": "stranger"})
    assert bad["statusCode"] == 422
    assert api.records.records == {}

    def refuse() -> None:
        raise Conflict("busy elsewhere")

    api.during = refuse
    assert api.post("retry-me")["statusCode"] == 409
    assert api.records.records == {}
    api.during = lambda: None
    assert api.post("retry-me")["statusCode"] == 201
    assert api.stored() == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé", "tab\tinside", "line\nbreak"])
def test_a_bad_key_is_422_and_creates_nothing(api: Api, key: str) -> None:
    assert error(api.post(key)) == (422, "invalid_idempotency_key", "Idempotency-Key")
    assert (api.runs, api.stored()) == (0, 0)


def test_the_header_name_is_read_in_any_case_and_two_values_are_refused() -> None:
    event = keyed(api_event("POST", "/v1/contacts", body=ADA), "k-1", header="idempotency-key")
    assert key_of(event) == "k-1"
    assert key_of(api_event("POST", "/v1/contacts", body=ADA)) is None
    event["multiValueHeaders"]["idempotency-key"] = ["k-1", "k-2"]
    with pytest.raises(InvalidIdempotencyKey):
        key_of(event)
    assert key_of(keyed(api_event("POST", "/v1/contacts"), "x" * 255)) == "x" * 255


def test_other_routes_ignore_the_header(api: Api) -> None:
    app = api.app
    app.idempotency = Idempotency(frozenset({("POST", "/v1/contacts/copies")}), store=lambda: api.records)
    api.post("ignored")
    api.post("ignored")
    assert (api.runs, api.stored(), api.records.records) == (2, 2, {})


def throttled(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, operation
    )


def test_a_throttled_table_before_the_create_is_503_and_creates_nothing(api: Api) -> None:
    api.records.fail["put"] = throttled("PutItem")
    assert error(api.post("k"))[:2] == (503, "temporarily_unavailable")
    assert (api.runs, api.stored()) == (0, 0)


def test_a_record_that_cannot_be_saved_after_the_create_keeps_the_create_s_answer(api: Api) -> None:
    api.records.fail["update"] = throttled("UpdateItem")
    response = api.post("k")
    assert response["statusCode"] == 201
    assert api.stored() == 1


def test_another_table_failure_is_not_hidden(api: Api) -> None:
    api.records.fail["put"] = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem"
    )
    with pytest.raises(Exception, match="idempotency store"):
        api.post("k")
    assert api.runs == 0


# ------------------------------------------------------------------------------ which routes
# Routes that answer 201 but take no key, and why (ADR 0011).
NOT_KEYED = {
    (
        "POST",
        "/v1/me/photo",
    ): "a short-lived upload form; nothing exists until the upload, a retry gets a fresh one",
    (
        "POST",
        "/v1/contacts/imports/uploads",
    ): "an upload form and a job awaiting it; nothing is imported until its start, which a retry never reaches",
}


def _created_routes() -> set[tuple[str, str]]:
    """Every route of functions/*/app.py, and of the routers they include (``callproof/*/routes.py``),
    whose handler answers HTTPStatus.CREATED."""
    found = set()
    routers = (ROOT / "layers" / "core" / "callproof").glob("*/routes.py")
    for path in [*(ROOT / "functions").glob("*/app.py"), *routers]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or "HTTPStatus.CREATED" not in ast.unparse(node):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
                    rule = decorator.args[0].value if decorator.args else None  # type: ignore[attr-defined]
                    found.add((decorator.func.attr.upper(), str(rule).replace("<", "{").replace(">", "}")))
    return found


def test_every_create_takes_a_key_or_says_why_not() -> None:
    created = _created_routes()
    assert ("POST", "/v1/contacts") in created, "the scan must find the contacts create"
    assert created - set(NOT_KEYED) == set(CREATE_ROUTES)
