"""Local stand-in for the Cognito user pool: mints and verifies RS256 ID tokens.

The signing key is created on first use and kept in ``<local home>/local-signing-key.pem`` so tokens
minted by ``callproof token`` stay valid across restarts of ``callproof local``. The local home is
``$CALLPROOF_LOCAL_HOME`` if set (tests point it at a temporary directory), else ``.callproof/`` in the
project root (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "http://127.0.0.1/local-cognito/callproof-local"
CLIENT_ID = "callproof-local-client"
ROLES = frozenset({"rep", "admin", "compliance"})
KEY_FILE = "local-signing-key.pem"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class TokenError(ValueError):
    """A token is missing, malformed, badly signed, expired or not one of ours.

    ``reason`` says which, in words that hold no claim value and nothing of the token (the gateway
    logs it): ``expired``, ``bad_signature``, ``missing_claim:<name>``...
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (  # subclasses before their bases
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "wrong_algorithm"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.InvalidIssuedAtError, "bad_issued_at"),
    (jwt.DecodeError, "malformed"),
)


def refusal_reason(error: jwt.InvalidTokenError) -> str:
    """Why PyJWT refused a token, as a fixed word (its messages may quote parts of the token)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"missing_claim:{error.claim}"  # one of the names ``verify`` requires
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "invalid")


def local_home() -> Path:
    """Where the local stack keeps its key and state file."""
    configured = os.environ.get("CALLPROOF_LOCAL_HOME")
    return Path(configured) if configured else PROJECT_ROOT / ".callproof"


@dataclass(frozen=True)
class _Keys:
    private: rsa.RSAPrivateKey
    public: rsa.RSAPublicKey


_keys: dict[Path, _Keys] = {}
_lock = threading.Lock()


def _create_key_file(path: Path) -> None:
    """Write a new key atomically; if another process won the race, keep its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    try:
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink()


def _signing_keys() -> _Keys:
    path = local_home() / KEY_FILE
    with _lock:
        if path not in _keys:
            if not path.exists():
                _create_key_file(path)
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise TokenError(f"{path} does not hold an RSA private key", "no_signing_key")
            _keys[path] = _Keys(private, private.public_key())
        return _keys[path]


def validate_identity(org: str, user: str, roles: Iterable[str]) -> list[str]:
    """Check ids and roles; returns the roles sorted and de-duplicated."""
    for label, value in (("org id", org), ("user id", user)):
        if not _ID.match(value):
            raise ValueError(f"invalid {label} {value!r}: expected {_ID.pattern}")
    wanted = sorted(set(roles))
    unknown = [role for role in wanted if role not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}: expected some of {', '.join(sorted(ROLES))}")
    return wanted


def mint(org: str, user: str, roles: Iterable[str], ttl: int = 3600) -> str:
    """An RS256 JWT shaped like a Cognito ID token for ``user`` of ``org`` with ``roles`` as groups."""
    groups = validate_identity(org, user, roles)
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "sub": user,
        "cognito:username": user,
        "custom:org_id": org,
        "iat": now,
        "auth_time": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if groups:  # Cognito omits the claim for a user in no group
        claims["cognito:groups"] = groups
    return jwt.encode(claims, _signing_keys().private, algorithm="RS256")


def verify(token: str) -> dict[str, Any]:
    """The claims of a token minted by ``mint``; raises ``TokenError`` saying what is wrong."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _signing_keys().public,
            algorithms=["RS256"],
            audience=CLIENT_ID,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired", "expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid token: {exc}", refusal_reason(exc)) from None
    if claims["token_use"] != "id":  # noqa: S105 - a claim value, not a password
        raise TokenError("not an ID token", "not_an_id_token")
    return claims
