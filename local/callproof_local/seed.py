"""Demo data for `make run`: a few contacts in org ``demo-org``, loaded through the real import API."""

from __future__ import annotations

import json
import urllib.request

from callproof_local import auth

DEMO_ORG, DEMO_USER, DEMO_ROLES = "demo-org", "demo-user", ("admin", "rep", "compliance")
DEMO_CONTACTS_CSV = """name,company,type,email,phone
Grace Hopper,Navy Computing,customer,grace@example.com,+1 202 555 0143
Alan Turing,Bletchley Park,prospect,alan@example.org,+44 20 7946 0958
Katherine Johnson,NASA Langley,customer,katherine@example.com;kj@example.net,(757) 555-0199
"""


def seed(base_url: str) -> str:
    """Import the demo contacts into a fresh stack; returns the demo org's id."""
    token = auth.mint(DEMO_ORG, DEMO_USER, DEMO_ROLES, ttl=300)
    request = urllib.request.Request(  # noqa: S310 - the stack's own loopback URL
        f"{base_url}/v1/contacts/imports",
        data=DEMO_CONTACTS_CSV.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        report = json.load(response)
    if report["counts"]["rejected"]:
        raise RuntimeError(f"demo data rejected: {report['rows']}")
    return DEMO_ORG
