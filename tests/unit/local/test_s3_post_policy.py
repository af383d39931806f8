"""The local S3's POST-policy checks (what S3 enforces on a browser-based upload)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from callproof_local.s3_post_policy import refusal

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def fields(
    conditions: list[object], expiration: str = "2026-11-28T12:10:00Z", **extra: str
) -> dict[str, str]:
    policy = base64.b64encode(
        json.dumps({"expiration": expiration, "conditions": conditions}).encode()
    ).decode()
    return {"key": "k", "Content-Type": "image/png", "policy": policy, "x-amz-signature": "s", **extra}


CONDITIONS: list[object] = [
    {"bucket": "b"},
    {"key": "k"},
    {"Content-Type": "image/png"},
    ["content-length-range", 1, 10],
]


def test_accepts_what_the_policy_allows() -> None:
    assert refusal(fields(CONDITIONS), "b", 10, NOW) is None
    assert refusal({"key": "k"}, "b", 10, NOW) is None  # not a policy upload


def test_refuses_what_s3_refuses() -> None:
    assert refusal(fields(CONDITIONS), "b", 11, NOW) == (400, "EntityTooLarge")
    assert refusal(fields(CONDITIONS), "b", 0, NOW) == (400, "EntityTooSmall")
    assert refusal({**fields(CONDITIONS), "Content-Type": "image/gif"}, "b", 5, NOW) == (403, "AccessDenied")
    assert refusal({**fields(CONDITIONS), "key": "other"}, "b", 5, NOW) == (403, "AccessDenied")
    assert refusal(fields(CONDITIONS), "other-bucket", 5, NOW) == (403, "AccessDenied")
    assert refusal(fields(CONDITIONS, acl="public-read"), "b", 5, NOW) == (
        403,
        "AccessDenied",
    )  # unnamed field
    assert refusal(fields(CONDITIONS, expiration="2026-11-28T11:59:59Z"), "b", 5, NOW) == (
        403,
        "AccessDenied",
    )
    assert refusal({**fields(CONDITIONS), "policy": "!!"}, "b", 5, NOW) == (400, "InvalidPolicyDocument")
    prefix: list[object] = [{"bucket": "b"}, ["starts-with", "$key", "orgs/"], {"Content-Type": "image/png"}]
    assert refusal(fields(prefix), "b", 5, NOW) == (403, "AccessDenied")
    assert refusal({**fields(prefix), "key": "orgs/x"}, "b", 5, NOW) is None
