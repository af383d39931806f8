"""Where a provider's consent screen sends the user's browser back (the OAuth callbacks): a small page
saying what is connected, or what went wrong and what to do next, in the public pages' shell and
security headers (``callproof.html_pages``, ``http.html_response``: no script, no external resource);
JSON, as before, to API clients that ask for it (``Accept: application/json``)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types

from callproof import http
from callproof.errors import Conflict, DomainError, TemporarilyUnavailable
from callproof.html_pages import document

if TYPE_CHECKING:
    from callproof.models import Model

_AGAIN = "Go back to CallProof and connect again; the answer that brought you here works only once."


def wants_json(app: http.Resolver) -> bool:
    """An API client asked for JSON (``Accept: application/json`` without ``text/html``); browsers,
    which send ``text/html`` first, get pages."""
    accept = app.current_event.headers.get("accept") or ""
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "application/json" in types and "text/html" not in types


def landing(app: http.Resolver, title: str, complete: Callable[[], tuple[Model, str]]) -> Response[Any]:
    """An OAuth callback's answer: ``complete`` returns the JSON model and the sentence saying what is
    connected; a refusal becomes a page with the status the JSON error would have."""
    json_client = wants_json(app)
    try:
        model, what = complete()
    except DomainError as exc:
        if json_client:
            raise
        return http.html_response(int(http.status_for(exc)), problem(title, exc))
    if json_client:
        return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, model.model_dump(mode="json"))
    return http.html_response(HTTPStatus.OK, connected(title, what))


def landing_answers(model: type[Model]) -> dict[int, Any]:
    """The OpenAPI ``responses`` of an OAuth callback: 200 as a page, or JSON when asked for (the
    errors, added by rule to the document, are pages too for a browser)."""
    return {
        HTTPStatus.OK: {
            "description": "Connected: a page, or JSON with `Accept: application/json`.",
            "content": {
                content_types.TEXT_HTML: {"schema": {"type": "string"}},
                content_types.APPLICATION_JSON: {"model": model},
            },
        }
    }


def connected(title: str, what: str) -> str:
    return document(
        title,
        f'<p class="done" role="status">{escape(what)}</p>'
        "<p>You can close this page and go back to CallProof.</p>",
    )


def problem(title: str, error: DomainError) -> str:
    """What went wrong (the error's own words: they name no token or address) and what to do."""
    if isinstance(error, TemporarilyUnavailable):
        advice = "The provider could not be reached. Wait a few minutes, then connect again from CallProof."
    elif isinstance(error, Conflict):
        advice = "Nothing was changed. If this persists, ask your CallProof administrator."
    else:
        advice = _AGAIN
    return document(
        title, f'<p class="error" role="alert">{escape(error.message)}</p><p>{escape(advice)}</p>'
    )
