"""The shared Google OAuth module: PKCE, single-use state bound to org + user, KMS envelope tokens."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from callproof.integrations.google_oauth import GoogleOAuthClient
from callproof.oauth.model import GMAIL_READONLY, OAuthFailed, OAuthState, OAuthToken, new_pkce
from callproof.store.oauth_state_dynamo import OAuthStateStore
from callproof.store.token_vault_kms import TokenVault


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, object, str]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        kms = boto3.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        yield ddb, kms, key


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    verifier, challenge = new_pkce()
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert challenge == digest
    assert new_pkce()[0] != verifier


def test_authorization_url_asks_offline_readonly_with_pkce() -> None:
    client = GoogleOAuthClient("client-1", lambda: "secret")
    url = client.authorization_url([GMAIL_READONLY], "org-a.nonce", "CHALLENGE", "https://api/cb")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["scope"] == [GMAIL_READONLY]
    assert query["access_type"] == ["offline"]
    assert query["code_challenge"] == ["CHALLENGE"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == ["org-a.nonce"]
    assert query["redirect_uri"] == ["https://api/cb"]
    assert "client_secret" not in query


def test_state_is_single_use_and_bound_to_org_and_user(moto_env: tuple[object, object, str]) -> None:
    ddb, _, _ = moto_env
    store = OAuthStateStore(ddb, "t")  # type: ignore[arg-type]
    state = store.issue(OAuthState("org-a", "user-1", "verifier", "gmail"))
    assert state.startswith("org-a.")
    consumed = store.consume(state, "gmail")
    assert (consumed.org_id, consumed.user_id, consumed.code_verifier) == ("org-a", "user-1", "verifier")
    with pytest.raises(OAuthFailed):
        store.consume(state, "gmail")  # replay
    forged = "org-b." + state.split(".", 1)[1]
    with pytest.raises(OAuthFailed):
        store.consume(forged, "gmail")  # another org's partition has no such state
    for bad in ("", "no-dot", "org-a.short", "org a.x" * 10):
        with pytest.raises(OAuthFailed):
            store.consume(bad, "gmail")


def test_expired_or_other_purpose_state_is_refused(moto_env: tuple[object, object, str]) -> None:
    ddb, _, _ = moto_env
    now = [1000.0]
    store = OAuthStateStore(ddb, "t", ttl_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type]
    state = store.issue(OAuthState("org-a", "user-1", "v", "gmail"))
    now[0] += 61
    with pytest.raises(OAuthFailed):
        store.consume(state, "gmail")
    other = store.issue(OAuthState("org-a", "user-1", "v", "calendar"))
    with pytest.raises(OAuthFailed):
        store.consume(other, "gmail")


def test_vault_seals_with_org_and_user_context(moto_env: tuple[object, object, str]) -> None:
    _, kms, key = moto_env
    vault = TokenVault(lambda: kms, key)  # type: ignore[arg-type,return-value]
    token = OAuthToken("access-123", "refresh-456", 2000.0, (GMAIL_READONLY,))
    sealed = vault.seal(token, "org-a", "user-1", "gmail")
    assert b"refresh-456" not in sealed.ciphertext
    assert b"access-123" not in sealed.ciphertext
    assert vault.open(sealed, "org-a", "user-1", "gmail") == token
    for org, user in (("org-b", "user-1"), ("org-a", "user-2")):
        with pytest.raises(ClientError):
            vault.open(sealed, org, user, "gmail")


def test_token_from_refresh_response_keeps_the_refresh_token() -> None:
    old = OAuthToken("a1", "r1", 0.0, ())
    new = OAuthToken.from_response(
        {"access_token": "a2", "expires_in": 3599, "scope": GMAIL_READONLY}, "r1", 100.0
    )
    assert (new.access_token, new.refresh_token, new.expires_at, new.scopes) == (
        "a2",
        "r1",
        3699.0,
        (GMAIL_READONLY,),
    )
    assert old.expired(now=10.0)
