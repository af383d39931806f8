"""Swagger UI for the local stack at ``/docs``, offline: the assets Powertools bundles, inlined.

``/docs`` is the page, ``/docs?format=json`` the OpenAPI document (the same `make openapi` writes),
built from the handlers once per process. "Try it out" calls this stack; authorize with the token the
start-up banner prints. The deployed API serves no such page (the document is docs/openapi.json).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
from werkzeug.wrappers import Response

ASSETS = "aws_lambda_powertools.event_handler.openapi.swagger_ui"


@functools.cache
def document_json() -> str:
    from callproof_local.openapi import document  # loads every function: only when asked

    return json.dumps(document())


@functools.cache
def page() -> str:
    assets = resources.files(ASSETS)
    return generate_swagger_html(
        spec=document_json(),
        swagger_js=assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",  # inline the assets: no CDN, nothing leaves the machine
        oauth2_config=None,
        persist_authorization=False,
    )


def answer(wants_json: bool) -> Response:
    """``GET /docs``: the page, or the document itself (``?format=json``, which the page loads)."""
    if wants_json:
        return Response(document_json(), content_type="application/json")
    return Response(page(), content_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})
