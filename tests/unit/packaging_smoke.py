"""Run the code paths that load third-party code, with only what the layers ship (tests/unit/test_packages.py).

Run as a script in a fresh interpreter, with a JSON list of absolute file paths on stdin: the files of
the distributions a layer leaves out (``# without:``) and the files its ``prune.txt`` deletes. Importing a
module whose file is listed fails (ModuleNotFoundError, as on Lambda), and so does opening a listed
file (a botocore service model, a discovery document), through an audit hook. Then it builds what
the functions build: every function's module, each boto3 client of ``callproof.aws``, the Gmail and
People services from their static discovery documents, a Twilio client's Messages, TwiML and the
webhook signature, a Google ID token checked with google-auth, the token vault's cipher, emails and
phone numbers. Prints ``ok`` and exits 0, or the traceback and 1.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class _Blocked(importlib.abc.MetaPathFinder):
    def __init__(self, files: set[str]) -> None:
        self.files = files

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.origin in self.files:
            raise ModuleNotFoundError(f"{name} is not in the layers ({spec.origin})", name=name)
        return None


def _install(files: set[str]) -> None:
    sys.meta_path.insert(0, _Blocked(files))

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | Path) and os.path.abspath(args[0]) in files:
            raise PermissionError(f"{args[0]} is not in the layers")

    sys.addaudithook(hook)


def _exercise() -> None:
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        spec = importlib.util.spec_from_file_location(f"smoke_{app.parent.name}", app)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)

    from callproof import aws

    for name in ("dynamodb", "secretsmanager", "kms", "s3", "sqs", "stepfunctions", "cognito_idp", "ses"):
        getattr(aws, name)()

    from callproof.calls.numbers import classify
    from callproof.emails import normalize_email, sign_in_email
    from callproof.phones import normalize

    assert normalize("(415) 555-0100", "US").e164 == "+14155550100"
    assert normalize("030 1234567", "DE").e164 == "+49301234567"
    for raw, region in (("911", "US"), ("12345", "US"), ("+442079460000", "GB"), ("ACME", "US")):
        classify(raw, region)
    assert normalize_email("Ana@Example.COM") == "ana@example.com"
    assert normalize_email("ana@bücher.example") == "ana@bücher.example"  # idna
    assert sign_in_email("Ana@Example.com") == "ana@example.com"

    from callproof.integrations.twilio_rest import TwilioSmsGateway
    from callproof.integrations.twilio_webhook import sign, twiml

    gateway = TwilioSmsGateway("AC" + "0" * 32, "token")
    assert gateway.client.messages is not None
    assert gateway.client.api.v2010.account.messages is not None
    assert sign("token", "https://example.com/webhooks/twilio/sms", {"Body": "STOP"})
    assert "<Message>" in twiml("hi")

    from callproof.integrations.google_gmail import gmail_api
    from callproof.integrations.google_people import people_api

    gmail_api("token", "https://google.invalid")
    people_api("token", "https://google.invalid")

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from google.auth import crypt, jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    now = int(time.time())
    claims = {"aud": "a", "iss": "accounts.google.com", "iat": now, "exp": now + 300}
    token = jwt.encode(crypt.RSASigner.from_string(private, "k1"), claims)
    assert jwt.decode(token, certs={"k1": public}, audience="a")["iss"] == "accounts.google.com"
    AESGCM(AESGCM.generate_key(bit_length=256)).encrypt(b"0" * 12, b"refresh token", None)

    import callproof.integrations.google_calendar
    import callproof.integrations.google_oauth
    import callproof.integrations.google_push
    import callproof.integrations.microsoft_graph  # noqa: F401


if __name__ == "__main__":
    _install(set(json.load(sys.stdin)))
    _exercise()
    print("ok")
