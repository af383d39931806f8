"""Demo data for `make run`: a few contacts in org ``demo-org``, loaded through the real import API by
the demo user, who first answers the age question."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from callproof_local import auth

DEMO_ORG, DEMO_USER, DEMO_ROLES = "demo-org", "demo-user", ("admin", "rep", "compliance")
DEMO_CONTACTS_CSV = """name,company,type,email,phone
Grace Hopper,Navy Computing,customer,grace@example.com,+1 202 555 0143
Alan Turing,Bletchley Park,prospect,alan@example.org,+44 20 7946 0958
Katherine Johnson,NASA Langley,customer,katherine@example.com;kj@example.net,(757) 555-0199
"""
DEMO_AGE = {"attests_16_or_over": True}  # the demo user's answer to the age question


def seed(base_url: str) -> str:
    """The demo user answers the age question (as every member does before anything else: ADR 0008)
    and imports the demo contacts into a fresh stack; returns the demo org's id."""
    token = auth.mint(DEMO_ORG, DEMO_USER, DEMO_ROLES, ttl=300)
    _call(base_url, "PUT", "/v1/me/age", token, "application/json", json.dumps(DEMO_AGE).encode())
    report = _call(base_url, "POST", "/v1/contacts/imports", token, "text/csv", DEMO_CONTACTS_CSV.encode())
    if report["counts"]["rejected"]:
        raise RuntimeError(f"demo data rejected: {report['rows']}")
    return DEMO_ORG


def _call(base_url: str, method: str, path: str, token: str, content_type: str, body: bytes) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the stack's own loopback URL
        f"{base_url}{path}",
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)
