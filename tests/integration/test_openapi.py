import json

from callproof_local.openapi import document
from tests.support import ROOT


def test_published_openapi_document_is_current() -> None:
    published = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert published == document(), "run `make openapi` and commit docs/openapi.json"


def test_every_template_api_route_is_documented() -> None:
    paths = document()["paths"]
    assert set(paths) >= {
        "/v1/contacts",
        "/v1/contacts/{contact_id}",
        "/v1/contacts/lookup",
        "/v1/contacts/imports",
    }
    assert set(paths["/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}
