"""``SenderOrgs`` of the DSAR domain: which orgs hold an email address, for mail sent to the privacy
address without naming an org (``dsar/intake.py``).

- As a member: the user pool signs in by email, one user per address, and the user carries the org
  claim (``CognitoDirectory.find_user``).
- As a contact: the ContactsTable's sparse ``by_email`` index over the email lookup items
  (``store/contacts_dynamo.py``); a lookup item whose contacts were all removed holds no
  ``contact_ids`` and does not count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof.store.contacts_dynamo import EMAIL_INDEX, EMAIL_INDEX_KEY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.store.identity_cognito import CognitoDirectory


class OrgsHoldingEmail:
    def __init__(self, directory: CognitoDirectory, client: DynamoDBClient, contacts_table: str) -> None:
        self._directory = directory
        self._client = client
        self._table = contacts_table

    def orgs_holding(self, email: str, limit: int) -> frozenset[str]:
        """At most ``limit`` orgs (the member's first): a caller refusing more learns it from the count."""
        found: list[str] = []
        member = self._directory.find_user(email)
        if member is not None and member.org_id:
            found.append(member.org_id)
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=EMAIL_INDEX,
            KeyConditionExpression="#email = :email",
            ExpressionAttributeNames={"#email": EMAIL_INDEX_KEY},
            ExpressionAttributeValues={":email": {"S": email}},
            ProjectionExpression="pk, contact_ids",
        )
        for page in pages:
            for item in page["Items"]:
                org_id = item["pk"]["S"].removeprefix("ORG#").rpartition("#EMAIL#")[0]
                if item.get("contact_ids") and org_id not in found:
                    found.append(org_id)
                if len(found) > limit:
                    return frozenset(found)
        return frozenset(found)
