"""What S3 checks on a browser-based POST upload, for the local stack (moto accepts any POST).

S3 refuses a POST whose policy document has expired, whose form fields break a condition
(``{"field": value}``, ``["eq", "$field", value]``, ``["starts-with", "$field", prefix]``), whose file
size is outside ``content-length-range``, or that sends a field no condition names. Signature checks
stay moto's business (it does none): this is about the conditions we rely on, such as the photo
upload's content type and 5 MB limit. Only used by ``moto_patches`` in the local stack and tests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Fields S3 never requires a condition for (AWS docs, "Creating a POST policy").
_EXEMPT = {"policy", "file", "x-amz-signature", "signature", "awsaccesskeyid"}


def refusal(
    fields: Mapping[str, str], bucket: str, size: int, now: datetime | None = None
) -> tuple[int, str] | None:
    """(HTTP status, S3 error code) when S3 would refuse this POST, else None."""
    raw = fields.get("policy") or fields.get("Policy")
    if raw is None:
        return None  # not a policy upload (moto's other POST uses)
    try:
        policy: dict[str, Any] = json.loads(base64.b64decode(raw))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy.get("conditions", []))
    except (ValueError, KeyError, TypeError):
        return 400, "InvalidPolicyDocument"
    if (now or datetime.now(UTC)) >= expiration:
        return 403, "AccessDenied"
    values = {key.lower(): value for key, value in fields.items()}
    values["bucket"] = bucket
    named: set[str] = {"bucket"}
    for condition in conditions:
        if isinstance(condition, dict):
            for name, expected in condition.items():
                named.add(name.lower())
                if values.get(name.lower()) != expected:
                    return 403, "AccessDenied"
        elif isinstance(condition, list) and len(condition) == 3:
            operator, name, expected = condition
            if operator == "content-length-range":
                if not int(name) <= size <= int(expected):
                    return 400, "EntityTooLarge" if size > int(expected) else "EntityTooSmall"
                continue
            field = str(name).lstrip("$").lower()
            named.add(field)
            actual = values.get(field)
            if operator == "eq" and actual != expected:
                return 403, "AccessDenied"
            if operator == "starts-with" and not str(actual or "").startswith(str(expected)):
                return 403, "AccessDenied"
        else:
            return 400, "InvalidPolicyDocument"
    extra = {f for f in values if f not in named and f not in _EXEMPT and not f.startswith("x-ignore-")}
    return (403, "AccessDenied") if extra else None
