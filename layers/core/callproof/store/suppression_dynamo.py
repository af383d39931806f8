"""The erasure suppression list on the ContactsTable: keyed hashes of erased emails and phones.

Item: pk=ORG#<org>#SUPPRESS#[k<version>#]<hex HMAC-SHA256(key of that version, "<kind>:<value>")>
      sk=SUPPRESSED, kind (email | phone), sms_opt_out (bool), at (ISO time of the first suppression).

The clear value is never stored: only someone holding a key (Secrets Manager) can test whether a
given email or number is on the list, and nobody can list the values. The SMS opt-out of an erased
number is kept here (``sms_opt_out``), as the law requires, after its consent ledger is gone.

**Key versions** (ADR 0009, "Rotating the suppression key"). The secret holds ``{"keys": {"1": ...,
"2": ...}, "current": "2"}``, or the first shape ``{"key": ...}``, which is version 1. A hash carries
the version of its key in its id (``k2#``; version 1, the hashes written before versions existed, has
no tag). Reads look a value up under every listed version; writes use ``current``, and a value found
under an older version is moved to it (its first time and kept opt-out carried over, the old entry
deleted), so an erasure repeated after a rotation leaves one entry under the new key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from callproof.store.dynamo import batch_get, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SUPPRESSED_SK = "SUPPRESSED"
FIRST_VERSION = "1"  # the version of the secret's first shape {"key": ...}; its hashes have no tag
MIN_KEY_CHARACTERS = 32
_VERSION = re.compile(r"[1-9][0-9]{0,5}")


class SuppressionKeyError(ValueError):
    """The suppression key secret is not one of the shapes ADR 0009 describes: nothing is looked up
    with a guessed key (an empty or missing key would make every erased person look new)."""


@dataclass(frozen=True)
class SuppressionKeys:
    """The HMAC keys of the suppression list by version; ``current`` is the one writes use."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if not self.keys or self.current not in self.keys:
            raise SuppressionKeyError(f"the current version {self.current!r} is not among the keys")

    @property
    def versions(self) -> list[str]:
        """Every listed version, the current one first, then the others newest first."""
        others = sorted((v for v in self.keys if v != self.current), key=int, reverse=True)
        return [self.current, *others]

    @classmethod
    def single(cls, key: bytes) -> SuppressionKeys:
        return cls({FIRST_VERSION: key}, FIRST_VERSION)

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> SuppressionKeys:
        """``{"key": k}`` (version 1), ``{"keys": {"1": k1, "2": k2}, "current": "2"}``, or both
        (``key`` is then version 1 and must equal ``keys["1"]`` if that is listed too). Without
        ``current`` the highest version is current."""
        listed = secret.get("keys", {})
        if not isinstance(listed, Mapping):
            raise SuppressionKeyError('"keys" is not an object of version -> key')
        texts: dict[str, Any] = dict(listed)
        if "key" in secret:
            if FIRST_VERSION in texts and texts[FIRST_VERSION] != secret["key"]:
                raise SuppressionKeyError('"key" and "keys"."1" differ: which one is version 1?')
            texts[FIRST_VERSION] = secret["key"]
        if not texts:
            raise SuppressionKeyError('the secret has neither "key" nor "keys"')
        keys: dict[str, bytes] = {}
        for version, text in texts.items():
            if not isinstance(version, str) or not _VERSION.fullmatch(version):
                raise SuppressionKeyError(f"version {version!r} is not a whole number from 1")
            if not isinstance(text, str) or len(text) < MIN_KEY_CHARACTERS:
                raise SuppressionKeyError(f"the key of version {version} is not a string of 32+ characters")
            keys[version] = text.encode()
        current = secret.get("current", max(keys, key=int))
        if not isinstance(current, str):
            raise SuppressionKeyError('"current" is not a version string such as "2"')
        return cls(keys, current)


def suppression_pk(key: bytes, org_id: str, kind: str, value: str, version: str = FIRST_VERSION) -> str:
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    tag = "" if version == FIRST_VERSION else f"k{version}#"
    return f"ORG#{org_id}#SUPPRESS#{tag}{digest}"


class DynamoSuppression:
    def __init__(
        self,
        client: DynamoDBClient,
        contacts_table: str,
        keys: Callable[[], SuppressionKeys | bytes],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``keys`` gives the key ring (a single key of bytes is version 1 alone)."""
        self._client = client
        self._table = contacts_table
        self._keys = keys
        self._clock = clock

    def _ring(self) -> SuppressionKeys:
        keys = self._keys()
        return SuppressionKeys.single(keys) if isinstance(keys, bytes) else keys

    def suppress(
        self, org_id: str, emails: frozenset[str], phones: frozenset[str], sms_opted_out: frozenset[str]
    ) -> int:
        """One UpdateItem per value, under the current key: creates the entry or leaves it as it is,
        except that a kept SMS opt-out is only ever added (a later erasure without the ledger never
        clears it). A value found under an older key version moves to the current one."""
        ring = self._ring()
        at = self._clock().isoformat()
        values = [("email", email) for email in sorted(emails)]
        values += [("phone", phone) for phone in sorted(phones | sms_opted_out)]
        older = self._older_entries(ring, org_id, values)
        for kind, value in values:
            previous = older.get((kind, value), [])
            opted_out = (kind == "phone" and value in sms_opted_out) or any(
                item.get("sms_opt_out") is True for item in previous
            )
            first_at = min([str(item["at"]) for item in previous if item.get("at")] or [at])
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": self._pk(ring, ring.current, org_id, kind, value), "sk": SUPPRESSED_SK}),
                UpdateExpression=(
                    "SET #kind = :kind, #at = if_not_exists(#at, :at), "
                    + (
                        "sms_opt_out = :true"
                        if opted_out
                        else "sms_opt_out = if_not_exists(sms_opt_out, :false)"
                    )
                ),
                ExpressionAttributeNames={"#kind": "kind", "#at": "at"},
                ExpressionAttributeValues=to_item(
                    {":kind": kind, ":at": first_at, **({":true": True} if opted_out else {":false": False})}
                ),
            )
            for item in previous:  # only after the entry under the current key exists
                self._client.delete_item(
                    TableName=self._table, Key=to_item({"pk": item["pk"], "sk": SUPPRESSED_SK})
                )
        return len(values)

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        """Which values are on the list under any listed key version (one BatchGetItem key each)."""
        ring = self._ring()
        value_by_pk: dict[str, str] = {}
        for version in ring.versions:
            value_by_pk |= {self._pk(ring, version, org_id, "email", email): email for email in emails}
            value_by_pk |= {self._pk(ring, version, org_id, "phone", phone): phone for phone in phones}
        keys = [{"pk": pk, "sk": SUPPRESSED_SK} for pk in sorted(value_by_pk)]
        items = batch_get(self._client, self._table, keys, projection="pk")
        return frozenset(value_by_pk[item["pk"]] for item in items)

    def _older_entries(
        self, ring: SuppressionKeys, org_id: str, values: list[tuple[str, str]]
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """The entries of these values under versions other than the current one (none to read
        while the ring has one version)."""
        by_pk = {
            self._pk(ring, version, org_id, kind, value): (kind, value)
            for version in ring.versions[1:]
            for kind, value in values
        }
        if not by_pk:
            return {}
        keys = [{"pk": pk, "sk": SUPPRESSED_SK} for pk in sorted(by_pk)]
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for item in batch_get(self._client, self._table, keys):  # small items: read whole
            found.setdefault(by_pk[item["pk"]], []).append(item)
        return found

    @staticmethod
    def _pk(ring: SuppressionKeys, version: str, org_id: str, kind: str, value: str) -> str:
        return suppression_pk(ring.keys[version], org_id, kind, value, version)
