"""The org's public identity on DynamoDB (AccountsTable): its slug and published name, each claimed
across orgs, and the lookup from either to the org (the public privacy page and the privacy mailbox).

Items:
- identity:    pk=ORG#<org>                  sk=PUBLIC_IDENTITY   slug, published_name, version
- slug claim:  pk=SLUG#<slug>                sk=CLAIM             org_id
- name claim:  pk=PUBNAME#<name key>         sk=CLAIM             org_id   (``accounts.model.name_key``)

The claims are the table's only keys that do not begin with an org besides the policy documents: a
slug is global by nature. The identity and its claims change in one transaction, conditioned on the
identity's version and on each new claim being free, so two orgs racing for a slug cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callproof.accounts.model import OrgIdentity, name_key
from callproof.errors import Conflict
from callproof.store.contacts_dynamo import org_pk
from callproof.store.dynamo import from_item, to_item, transact

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

IDENTITY_SK = "PUBLIC_IDENTITY"
CLAIM_SK = "CLAIM"


def slug_key(slug: str) -> dict[str, str]:
    return {"pk": f"SLUG#{slug}", "sk": CLAIM_SK}


def name_claim_key(name: str) -> dict[str, str]:
    return {"pk": f"PUBNAME#{name_key(name)}", "sk": CLAIM_SK}


def _key(make: Callable[[str], dict[str, str]], value: str | None) -> dict[str, str] | None:
    return make(value) if value else None


class DynamoOrgIdentity:
    """``OrgIdentityStore`` of the accounts domain and ``OrgDirectory`` of the DSAR domain."""

    def __init__(self, client: DynamoDBClient, accounts_table: str) -> None:
        self._client = client
        self._table = accounts_table

    def get_identity(self, org_id: str) -> OrgIdentity:
        item = self._get({"pk": org_pk(org_id), "sk": IDENTITY_SK})
        if item is None:
            return OrgIdentity()
        return OrgIdentity(item.get("slug"), item.get("published_name"), int(item.get("version", 0)))

    def put_identity(self, org_id: str, old: OrgIdentity, new: OrgIdentity) -> None:
        claims = (
            ("slug", _key(slug_key, old.slug), _key(slug_key, new.slug)),
            ("published_name", _key(name_claim_key, old.published_name), _key(name_claim_key, new.published_name)),
        )  # fmt: skip
        actions: list[dict[str, Any]] = []
        for field, released, claimed in claims:
            if released == claimed:
                continue  # unchanged (a name may change its case or spacing: the claim stays)
            if claimed is not None:
                holder = self._get(claimed)
                if holder is not None and holder.get("org_id") != org_id:
                    raise Conflict(f"another org already uses this {field.replace('_', ' ')}", field=field)
                actions.append(self._claim(claimed, org_id))
            if released is not None:
                actions.append(self._release(released, org_id))
        actions.append(self._identity(org_id, old, new))
        transact(self._client, actions, "the slug or name was just taken, or the settings changed; retry")

    def org_for_slug(self, slug: str) -> str | None:
        item = self._get(slug_key(slug))
        return str(item["org_id"]) if item else None

    def org_for_name(self, name: str) -> str | None:
        if not name_key(name):
            return None
        item = self._get(name_claim_key(name))
        return str(item["org_id"]) if item else None

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _claim(self, key: dict[str, str], org_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item({**key, "entity": "org_claim", "org_id": org_id}),
                "ConditionExpression": "attribute_not_exists(pk) OR org_id = :org",
                "ExpressionAttributeValues": to_item({":org": org_id}),
            }
        }

    def _release(self, key: dict[str, str], org_id: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": to_item(key),
                "ConditionExpression": "attribute_not_exists(pk) OR org_id = :org",
                "ExpressionAttributeValues": to_item({":org": org_id}),
            }
        }

    def _identity(self, org_id: str, old: OrgIdentity, new: OrgIdentity) -> dict[str, Any]:
        item = {"pk": org_pk(org_id), "sk": IDENTITY_SK, "entity": "org_identity", "version": new.version}
        item |= {
            name: value
            for name, value in (("slug", new.slug), ("published_name", new.published_name))
            if value
        }
        condition = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if old.version == 0
            else {
                "ConditionExpression": "version = :version",
                "ExpressionAttributeValues": to_item({":version": old.version}),
            }
        )
        return {"Put": {"TableName": self._table, "Item": to_item(item), **condition}}
