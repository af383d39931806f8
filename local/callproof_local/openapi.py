"""Write the API's OpenAPI document from the handlers' own resolvers (`make openapi`).

Each function's Powertools resolver knows its routes and pydantic models; this merges them into one
document for the whole REST API, read from the template so a new function is included with no edit.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from callproof import idempotency
from callproof_local.invoke import load_module
from callproof_local.model import load_functions
from callproof_local.provision import placeholder
from callproof_local.stack import DEFAULT_TEMPLATE
from callproof_local.template import Resolver, load_template

TITLE = "CallProof API"
VERSION = "1"


def document() -> dict[str, Any]:
    template = load_template(DEFAULT_TEMPLATE)
    names = {lid: placeholder(lid, spec["Type"]) for lid, spec in template["Resources"].items()}
    functions = load_functions(template, DEFAULT_TEMPLATE.parent, Resolver(template, names))
    merged: dict[str, Any] = {"openapi": "3.1.0", "info": {"title": TITLE, "version": VERSION}, "paths": {}}
    schemas: dict[str, Any] = {}
    for function in sorted(functions.values(), key=lambda f: f.logical_id):
        if not function.api_events:
            continue
        app = getattr(load_module(function.code_dir, function.handler), "app", None)
        if not isinstance(app, APIGatewayRestResolver):
            continue
        spec = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
        merged["paths"].update(spec.get("paths", {}))
        schemas.update(spec.get("components", {}).get("schemas", {}))
    merged["components"] = {
        "schemas": dict(sorted(schemas.items())),
        "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    }
    merged["security"] = [{"cognito": []}]
    merged["paths"] = dict(sorted(merged["paths"].items()))
    _idempotency_key(merged["paths"])
    return merged


IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: for 24 hours the same key and body (same org, user and route) answer the "
        "first response again, with Idempotent-Replayed: true, and create nothing more; the same key "
        "with another body is 422 idempotency_key_reused; while the first request runs, 409 "
        "idempotency_key_in_use. Without the header, each request creates."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_KEY_CHARS,
        "pattern": "^[ -~]+$",
    },
}


def _idempotency_key(paths: dict[str, Any]) -> None:
    """The header the resolver does not declare (``callproof.http`` reads it for every create)."""
    for method, path in sorted(idempotency.CREATE_ROUTES):
        operation = paths[path][method.lower()]
        operation["parameters"] = [*operation.get("parameters", []), IDEMPOTENCY_KEY]


def main() -> None:
    print(json.dumps(document(), indent=2, sort_keys=False))


if __name__ == "__main__":
    main()
