"""OAuth tokens sealed with KMS envelope encryption.

Tokens are AES-256-GCM ciphertext under a KMS data key generated with the encryption context
``{"org_id": ..., "user_id": ..., "purpose": ...}`` (also the AEAD associated data); a token read with
another org or user fails at KMS. Only the ciphertext and the encrypted data key are stored. Nothing
here logs a token.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callproof.oauth.model import OAuthToken, SealedToken

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient


class TokenVault:
    """Seal / open OAuth tokens with a per-token KMS data key; context = org, user and purpose."""

    def __init__(self, kms: Callable[[], KMSClient], key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    @staticmethod
    def context(org_id: str, user_id: str, purpose: str) -> dict[str, str]:
        return {"org_id": org_id, "user_id": user_id, "purpose": purpose}

    def seal(self, token: OAuthToken, org_id: str, user_id: str, purpose: str) -> SealedToken:
        context = self.context(org_id, user_id, purpose)
        key = self._kms().generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        nonce = secrets.token_bytes(12)
        aad = json.dumps(context, sort_keys=True).encode()
        ciphertext = AESGCM(key["Plaintext"]).encrypt(nonce, token.to_json().encode(), aad)
        return SealedToken(ciphertext, nonce, key["CiphertextBlob"])

    def open(self, sealed: SealedToken, org_id: str, user_id: str, purpose: str) -> OAuthToken:
        context = self.context(org_id, user_id, purpose)
        key = self._kms().decrypt(CiphertextBlob=sealed.encrypted_key, EncryptionContext=context)
        aad = json.dumps(context, sort_keys=True).encode()
        plaintext = AESGCM(key["Plaintext"]).decrypt(sealed.nonce, sealed.ciphertext, aad)
        return OAuthToken.from_json(plaintext.decode())
