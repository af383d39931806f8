"""Account data of a subject who is an org user (AccountsTable, DataBucket, Cognito).

Held per user: the member profile (``USER#<user>``), the consent ledger (``CONSENT#<user>#...``,
append-only), the current consents and age / guardian record (``CONSENTS#<user>``), the account photo
(every version of ``orgs/<org>/users/<user>/photo``) and the Cognito user.

Erasure deletes the Cognito user (disabled first), every photo version, the profile and the current
consents / age record. The consent **ledger is kept**: it is the evidence that processing had a lawful
basis (GDPR Art. 7(1): the controller must be able to demonstrate consent; Art. 17(3)(e): data needed
for legal claims survives erasure). Its entries hold no identifier but the user id (purpose, granted,
time, source, policy version), and with the profile and the Cognito user gone that id no longer leads
to a person: the ledger is kept pseudonymised, reported as kept, and is not residue.

The export leaves out the guardian's name and email from the age record: they are the guardian's data
(Art. 15(4)), not the subject's; the record's status, dates and method are exported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from callproof.accounts.model import photo_key
from callproof.dsar.model import Cell, Erased, Subject
from callproof.store.consents_dynamo import DynamoConsentStore, consents_key
from callproof.store.dynamo import delete_keys, to_item
from callproof.store.members_dynamo import DynamoMemberStore, member_key
from callproof.store.photos_s3 import S3PhotoStorage
from callproof.store.s3_versions import count_versions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from callproof.store.identity_cognito import CognitoDirectory

KEPT_LEDGER = (
    "consent_records: kept pseudonymised under the user id as evidence of lawful processing "
    "(GDPR Art. 7(1), Art. 17(3)(e))"
)
PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class AccountsData:
    name = "accounts"
    columns = (
        "user_id",
        "kind",  # profile | age | consent
        "email",
        "full_name",
        "company",
        "roles",
        "created_at",
        "purpose",
        "granted",
        "at",
        "source",
        "policy_version",
        "age_status",
        "birth_date",
        "guardian_method",
        "guardian_consented_at",
    )

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        s3: S3Client | None = None,
        bucket: str | None = None,
        directory: CognitoDirectory | None = None,
    ) -> None:
        self._client = client
        self._table = table
        self._members = DynamoMemberStore(client, table)
        self._consents = DynamoConsentStore(client, table)
        self._s3 = s3
        self._bucket = bucket
        self._directory = directory

    def rows(self, subject: Subject) -> Iterator[Mapping[str, Cell]]:
        org = subject.org_id
        for user_id in sorted(subject.user_ids):
            member = self._members.get(org, user_id)
            if member is not None:
                yield dict(
                    user_id=user_id,
                    kind="profile",
                    email=member.email,
                    full_name=member.full_name,
                    company=member.company,
                    roles=";".join(sorted(member.roles)),
                    created_at=member.created_at.isoformat() if member.created_at else None,
                )
            age = self._consents.get_age(org, user_id)
            if age is not None:
                yield dict(
                    user_id=user_id,
                    kind="age",
                    at=age.recorded_at.isoformat(),
                    age_status=age.status.value,
                    birth_date=age.birth_date.isoformat() if age.birth_date else None,
                    guardian_method=age.guardian_method,
                    guardian_consented_at=(
                        age.guardian_consented_at.isoformat() if age.guardian_consented_at else None
                    ),
                )
            for record in self._consents.history(org, user_id):
                yield dict(
                    user_id=user_id,
                    kind="consent",
                    purpose=record.purpose.value,
                    granted=record.granted,
                    at=record.at.isoformat(),
                    source=record.source.value,
                    policy_version=record.version,
                )

    def files(self, subject: Subject) -> Iterator[tuple[str, bytes]]:
        """The account photo of each user (its current version), ``accounts/<user>/photo.<ext>``."""
        if self._s3 is None or self._bucket is None:
            return
        for user_id in sorted(subject.user_ids):
            try:
                found = self._s3.get_object(Bucket=self._bucket, Key=photo_key(subject.org_id, user_id))
            except self._s3.exceptions.NoSuchKey:
                continue
            extension = PHOTO_EXTENSIONS.get(found.get("ContentType", ""), "bin")
            yield f"accounts/{user_id}/photo.{extension}", found["Body"].read()

    def erase(self, subject: Subject) -> Erased:
        deleted = kept = 0
        for user_id in sorted(subject.user_ids):
            deleted += self._erase_user(subject.org_id, user_id)
            kept += len(self._consents.history(subject.org_id, user_id))
        return Erased(deleted=deleted, kept=kept, kept_reasons=(KEPT_LEDGER,) if kept else ())

    def _erase_user(self, org_id: str, user_id: str) -> int:
        """Sign-in first (the Cognito user), then the photo, then the items: a rerun after a crash finds
        whatever is left through the same keys."""
        deleted = 0
        if self._directory is not None:
            username = self._directory.username_of(org_id, user_id)
            if username is not None and self._directory.delete_user(username):
                deleted += 1
        if self._s3 is not None and self._bucket is not None:
            deleted += S3PhotoStorage(self._s3, self._bucket).delete_all_versions(photo_key(org_id, user_id))
        return deleted + delete_keys(self._client, self._table, self._items(org_id, user_id))

    def _items(self, org_id: str, user_id: str) -> list[dict[str, str]]:
        """The profile and current-consents items that exist (consistent reads)."""
        keys = [member_key(org_id, user_id), consents_key(org_id, user_id)]
        return [
            key
            for key in keys
            if self._client.get_item(
                TableName=self._table, Key=to_item(key), ConsistentRead=True, ProjectionExpression="pk"
            ).get("Item")
        ]

    def _photo_versions(self, org_id: str, user_id: str) -> int:
        if self._s3 is None or self._bucket is None:
            return 0
        return count_versions(self._s3, self._bucket, [photo_key(org_id, user_id)])

    def residue(self, subject: Subject) -> int:
        org = subject.org_id
        found = 0
        for user_id in subject.user_ids:
            found += len(self._items(org, user_id)) + self._photo_versions(org, user_id)
            if self._directory is not None:
                found += self._directory.username_of(org, user_id) is not None
        return found
