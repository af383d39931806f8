"""The org's public identity (issue 15, point 2): a slug and a published company name in the org
settings, unique across orgs (409 on a taken one, nothing changed), validated, released on change,
and found again by the lookup the public privacy page and the privacy mailbox use."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from callproof.store.org_identity_dynamo import DynamoOrgIdentity
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

ADMIN_A = {"org": "org-a", "user": "admin-a", "roles": "admin"}
ADMIN_B = {"org": "org-b", "user": "admin-b", "roles": "admin"}


def put(call: Invoke, who: dict[str, str], **fields: Any) -> tuple[int, Any]:
    return call("AccountsFunction", api_event("PUT", "/v1/org/settings", body=fields, **who))


@pytest.fixture
def directory(aws_stack: dict[str, Physical]) -> DynamoOrgIdentity:
    return DynamoOrgIdentity(boto3.client("dynamodb"), aws_stack["AccountsTable"].ref)


def test_slug_and_name_are_unique_across_orgs_and_found_by_lookup(
    call: Invoke, directory: DynamoOrgIdentity
) -> None:
    status, settings = put(call, ADMIN_A, slug=" Acme-Corp ", published_name="ACME  Corporation")
    assert status == 200, settings
    assert (settings["slug"], settings["published_name"]) == ("acme-corp", "ACME  Corporation")
    assert directory.org_for_slug("acme-corp") == "org-a"
    assert directory.org_for_name("acme corporation") == "org-a"  # case and spacing do not matter

    # another org cannot take either; nothing of its settings changes
    before = call("AccountsFunction", api_event("GET", "/v1/org/settings", **ADMIN_B))[1]
    status, body = put(call, ADMIN_B, slug="acme-corp", daily_sms_cap=5)
    assert (status, body["error"]["field"]) == (409, "slug"), body
    status, body = put(call, ADMIN_B, slug="acme-b", published_name="Acme corporation")
    assert (status, body["error"]["field"]) == (409, "published_name"), body
    assert call("AccountsFunction", api_event("GET", "/v1/org/settings", **ADMIN_B))[1] == before
    assert directory.org_for_slug("acme-b") is None

    # the holder renames: the old slug is released for anyone; a PUT without them releases both
    assert put(call, ADMIN_A, slug="acme", published_name="Acme Corporation")[0] == 200
    assert directory.org_for_slug("acme-corp") is None
    assert directory.org_for_name("ACME CORPORATION") == "org-a"
    assert put(call, ADMIN_B, slug="acme-corp")[0] == 200
    assert directory.org_for_slug("acme-corp") == "org-b"
    assert put(call, ADMIN_A)[0] == 200
    assert directory.org_for_slug("acme") is None
    assert directory.org_for_name("Acme Corporation") is None


def test_bad_slugs_and_names_are_refused_and_change_nothing(
    call: Invoke, directory: DynamoOrgIdentity
) -> None:
    assert put(call, ADMIN_A, slug="acme")[0] == 200
    for bad, field in (
        ({"slug": "a"}, "slug"),  # too short
        ({"slug": "-acme"}, "slug"),
        ({"slug": "acme_corp"}, "slug"),
        ({"slug": "ac me"}, "slug"),
        ({"slug": "x" * 41}, "slug"),
        ({"slug": "acmé"}, "slug"),
        ({"published_name": "A"}, "published_name"),
        ({"published_name": "Acme\nCorp"}, "published_name"),
        ({"published_name": "x" * 121}, "published_name"),
        ({"slug": 7}, "slug"),
    ):
        status, body = put(call, ADMIN_A, **bad)
        assert (status, body["error"]["field"]) == (422, field), (bad, body)
    assert directory.org_for_slug("acme") == "org-a"
    rep = {"org": "org-a", "user": "rep-1", "roles": "rep"}
    assert put(call, rep, slug="stolen")[0] == 403
    assert directory.org_for_slug("stolen") is None
