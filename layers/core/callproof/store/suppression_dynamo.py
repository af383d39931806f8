"""The erasure suppression list on the ContactsTable: keyed hashes of erased emails and phones.

Item: pk=ORG#<org>#SUPPRESS#<hex HMAC-SHA256(key, "<kind>:<value>")>  sk=SUPPRESSED
      kind (email | phone), sms_opt_out (bool), at (ISO time of the first suppression).

The clear value is never stored: only someone holding the key (Secrets Manager) can test whether a
given email or number is on the list, and nobody can list the values. The SMS opt-out of an erased
number is kept here (``sms_opt_out``), as the law requires, after its consent ledger is gone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callproof.store.dynamo import batch_get, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SUPPRESSED_SK = "SUPPRESSED"


def suppression_pk(key: bytes, org_id: str, kind: str, value: str) -> str:
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"ORG#{org_id}#SUPPRESS#{digest}"


class DynamoSuppression:
    def __init__(
        self,
        client: DynamoDBClient,
        contacts_table: str,
        key: Callable[[], bytes],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._table = contacts_table
        self._key = key
        self._clock = clock

    def suppress(
        self, org_id: str, emails: frozenset[str], phones: frozenset[str], sms_opted_out: frozenset[str]
    ) -> int:
        """One UpdateItem per value: creates the entry or leaves it as it is, except that a kept SMS
        opt-out is only ever added (a later erasure without the ledger never clears it)."""
        key = self._key()
        at = self._clock().isoformat()
        values = [("email", email) for email in sorted(emails)]
        values += [("phone", phone) for phone in sorted(phones | sms_opted_out)]
        for kind, value in values:
            opted_out = kind == "phone" and value in sms_opted_out
            self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": suppression_pk(key, org_id, kind, value), "sk": SUPPRESSED_SK}),
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
                    {":kind": kind, ":at": at, **({":true": True} if opted_out else {":false": False})}
                ),
            )
        return len(values)

    def suppressed(self, org_id: str, emails: frozenset[str], phones: frozenset[str]) -> frozenset[str]:
        key = self._key()
        value_by_pk = {suppression_pk(key, org_id, "email", email): email for email in emails}
        value_by_pk |= {suppression_pk(key, org_id, "phone", phone): phone for phone in phones}
        keys = [{"pk": pk, "sk": SUPPRESSED_SK} for pk in sorted(value_by_pk)]
        items = batch_get(self._client, self._table, keys, projection="pk")
        return frozenset(value_by_pk[item["pk"]] for item in items)
