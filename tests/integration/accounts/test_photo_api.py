"""Account photo on moto: the presigned POST policy refuses other types and sizes (enforced by the
local S3 as by S3), the short-lived GET URL, deletion of every version."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import requests

from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def post(upload: dict[str, Any], data: bytes, content_type: str | None = None) -> requests.Response:
    fields = dict(upload["fields"])
    if content_type is not None:
        fields["Content-Type"] = content_type
    return requests.post(upload["url"], data=fields, files={"file": ("photo", data)}, timeout=30)


def test_photo_upload_policy_download_and_delete_every_version(
    call: Invoke, aws_stack: dict[str, Physical]
) -> None:
    status, body = call("AccountsFunction", api_event("GET", "/v1/me/photo"))
    assert status == 404
    status, body = call(
        "AccountsFunction", api_event("POST", "/v1/me/photo", body={"content_type": "image/gif"})
    )
    assert (status, body["error"]["field"]) == (422, "content_type")

    status, upload = call(
        "AccountsFunction", api_event("POST", "/v1/me/photo", body={"content_type": "image/png"})
    )
    assert status == 201, upload
    assert upload["max_bytes"] == 5 * 1024 * 1024
    assert upload["fields"]["key"] == "orgs/org-a/users/rep-1/photo"

    assert post(upload, PNG, content_type="image/gif").status_code == 403  # another type: refused by S3
    assert post(upload, b"x" * (5 * 1024 * 1024 + 1)).status_code == 400  # too large
    assert post(upload, b"").status_code == 400  # empty
    assert post(upload, PNG).status_code == 204
    assert post(upload, PNG + b"v2").status_code == 204  # a second version

    status, download = call("AccountsFunction", api_event("GET", "/v1/me/photo"))
    assert status == 200
    query = parse_qs(urlparse(download["url"]).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == ["300"]
    else:  # SigV2: an absolute expiry, the one the API reported
        expires_at = datetime.fromisoformat(download["expires_at"].replace("Z", "+00:00"))
        assert abs(int(query["Expires"][0]) - expires_at.timestamp()) <= 2
    assert requests.get(download["url"], timeout=30).content == PNG + b"v2"
    # another user of the org has no photo, and never this one's
    assert call("AccountsFunction", api_event("GET", "/v1/me/photo", user="rep-2"))[0] == 404

    bucket = aws_stack["DataBucket"].ref
    s3 = boto3.client("s3")
    assert len(s3.list_object_versions(Bucket=bucket, Prefix="orgs/org-a/users/rep-1/photo")["Versions"]) == 2
    status, _ = call("AccountsFunction", api_event("DELETE", "/v1/me/photo"))
    assert status == 204
    listing = s3.list_object_versions(Bucket=bucket, Prefix="orgs/org-a/users/rep-1/photo")
    assert listing.get("Versions", []) == []
    assert listing.get("DeleteMarkers", []) == []
    assert call("AccountsFunction", api_event("GET", "/v1/me/photo"))[0] == 404
