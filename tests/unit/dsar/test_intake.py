"""Reading a privacy request from mail (issue 15, point 1): the type from the subject or the body,
and when SES's verdicts count as authenticated."""

from __future__ import annotations

import pytest

from callproof.dsar.intake import Verdicts, requested_type
from callproof.dsar.model import RequestType


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Subject access request", "", RequestType.ACCESS),
        ("Hi", "Could I get a COPY of my data?", RequestType.ACCESS),
        ("Right to be forgotten", "", RequestType.ERASURE),
        ("Please erase me", "and send me a copy", RequestType.ERASURE),  # the subject decides
        ("Data portability", "", RequestType.PORTABILITY),
        ("Rectification", "", RequestType.CORRECTION),
        ("Restrict processing", "", RequestType.RESTRICTION),
        ("A complaint", "", RequestType.COMPLAINT),
        ("Hello", "delete it and export it", None),  # two types: staff read it
        ("Hello", "what is this?", None),
        ("Deleted scenes", "", None),  # whole words only
    ],
)
def test_the_type_named_once_decides(subject: str, body: str, expected: RequestType | None) -> None:
    assert requested_type(subject, body) is expected


@pytest.mark.parametrize(
    ("spf", "dkim", "dmarc", "authenticated"),
    [
        ("PASS", "PASS", "PASS", True),
        ("FAIL", "PASS", "PASS", False),  # any failed check holds the request
        ("PASS", "FAIL", "PASS", False),
        ("PASS", "PASS", "FAIL", False),
        ("GRAY", "PASS", "GRAY", True),  # no DMARC policy published: SPF or DKIM passed
        ("GRAY", "GRAY", "GRAY", False),  # nothing passed
        ("PROCESSING_FAILED", "GRAY", "GRAY", False),
    ],
)
def test_a_request_runs_only_from_authenticated_mail(
    spf: str, dkim: str, dmarc: str, authenticated: bool
) -> None:
    assert Verdicts(spf, dkim, dmarc).authenticated is authenticated
