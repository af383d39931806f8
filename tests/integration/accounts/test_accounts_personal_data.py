"""The account store of personal data (callproof.store.accounts_personal_data) on moto: a user
subject's profile, consents, age record, photo and Cognito user; the consent ledger kept pseudonymised;
others intact."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from callproof import aws
from callproof.accounts.model import (
    AgeRecord,
    AgeStatus,
    ConsentRecord,
    ConsentSource,
    Member,
    Purpose,
    photo_key,
)
from callproof.dsar.model import Subject
from callproof.dsar.ports import PersonalDataStore
from callproof.store.accounts_personal_data import KEPT_LEDGER
from callproof.store.consents_dynamo import DynamoConsentStore
from callproof.store.identity_cognito import CognitoDirectory
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.tenancy import Role
from callproof.wiring_personal_data import accounts_data
from callproof_local.template import Physical
from tests.integration.mail.test_mail_personal_data import dsar_settings

ORG = "org-a"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


class Accounts:
    def __init__(self, aws_stack: dict[str, Physical]) -> None:
        self.table = aws_stack["AccountsTable"].ref
        self.bucket = aws_stack["DataBucket"].ref
        self.pool = aws_stack["UserPool"].ref
        self.members = DynamoMemberStore(aws.dynamodb(), self.table)
        self.consents = DynamoConsentStore(aws.dynamodb(), self.table)
        self.directory = CognitoDirectory(aws.cognito_idp(), self.pool)

    def user(self, email: str, org: str = ORG, photo: bool = True) -> str:
        """A member as the accounts API creates one: Cognito user, profile, consents, age, photo."""
        created = self.directory.create_user(org, email, "Ada Lovelace")
        assert created is not None
        user_id = created.user_id
        member = Member(
            org,
            user_id,
            email,
            "Ada Lovelace",
            "Analytical Engines",
            frozenset({Role.REP}),
            created.username,
        )
        self.members.put(None, member)
        for purpose, granted in (
            (Purpose.TERMS, True),
            (Purpose.MARKETING_EMAIL, True),
            (Purpose.MARKETING_EMAIL, False),
        ):
            self.consents.append(
                ConsentRecord(
                    org, user_id, purpose, granted, AT, ConsentSource.API, uuid.uuid4().hex, "v1", 1
                )
            )
        self.consents.put_age(
            org,
            user_id,
            AgeRecord(
                AgeStatus.GUARDIAN_CONFIRMED,
                AT,
                date(2012, 5, 1),
                guardian_name="Grace Guardian",
                guardian_email="grace@example.com",
                guardian_consented_at=AT,
                guardian_method="email_link",
            ),
        )
        if photo:
            s3 = boto3.client("s3")
            for body in (b"old photo", b"\x89PNG new photo"):
                s3.put_object(
                    Bucket=self.bucket, Key=photo_key(org, user_id), Body=body, ContentType="image/png"
                )
        return user_id

    def photo_versions(self, org: str, user_id: str) -> int:
        key = photo_key(org, user_id)
        page = boto3.client("s3").list_object_versions(Bucket=self.bucket, Prefix=key)
        return sum(1 for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])] if v["Key"] == key)


@pytest.fixture
def seeded(aws_stack: dict[str, Physical]) -> tuple[PersonalDataStore, Accounts, dict[str, str]]:
    seed = Accounts(aws_stack)
    users = {
        "ada": seed.user("ada@example.com"),
        "bob": seed.user("bob@example.com"),
        "other-org": seed.user("eve@example.com", org="org-b", photo=False),
    }
    settings = dsar_settings(
        aws_stack, ACCOUNTS_TABLE=seed.table, DATA_BUCKET=seed.bucket, USER_POOL_ID=seed.pool
    )
    store = accounts_data(settings)
    assert store is not None
    return store, seed, users


def subject(user_id: str, org: str = ORG) -> Subject:
    return Subject(org, emails=frozenset({"ada@example.com"}), user_ids=frozenset({user_id}))


def test_rows_are_the_profile_age_and_consent_history(seeded: Any) -> None:
    store, _, users = seeded
    rows = list(store.rows(subject(users["ada"])))
    assert [row["kind"] for row in rows] == ["profile", "age", "consent", "consent", "consent"]
    assert all(set(row) <= set(store.columns) for row in rows)
    profile, age = rows[0], rows[1]
    assert (profile["email"], profile["full_name"], profile["roles"]) == (
        "ada@example.com",
        "Ada Lovelace",
        "rep",
    )
    assert (age["age_status"], age["birth_date"], age["guardian_method"]) == (
        "guardian_confirmed",
        "2012-05-01",
        "email_link",
    )
    assert "grace@example.com" not in {str(value) for row in rows for value in row.values()}  # the guardian's
    assert sorted((row["purpose"], row["granted"]) for row in rows[2:]) == [
        ("marketing_email", False),
        ("marketing_email", True),
        ("terms", True),
    ]
    assert dict(store.files(subject(users["ada"]))) == {
        f"accounts/{users['ada']}/photo.png": b"\x89PNG new photo"
    }


def test_erasure_deletes_the_account_and_keeps_the_consent_ledger(seeded: Any) -> None:
    store, seed, users = seeded
    ada = subject(users["ada"])
    assert store.residue(ada) == 1 + 1 + 2 + 1  # profile, consents item, 2 photo versions, Cognito user
    result = store.erase(ada)
    assert (result.deleted, result.kept) == (1 + 2 + 2, 3)  # Cognito user, photo versions, two items
    assert result.kept_reasons == (KEPT_LEDGER,)
    assert store.residue(ada) == 0
    assert seed.members.get(ORG, users["ada"]) is None
    assert seed.consents.current(ORG, users["ada"]) == {}
    assert seed.consents.get_age(ORG, users["ada"]) is None
    assert seed.photo_versions(ORG, users["ada"]) == 0
    with pytest.raises(aws.cognito_idp().exceptions.UserNotFoundException):
        aws.cognito_idp().admin_get_user(UserPoolId=seed.pool, Username="ada@example.com")
    ledger = seed.consents.history(ORG, users["ada"])
    assert len(ledger) == 3  # evidence kept, under the user id only
    again = store.erase(ada)
    assert (again.deleted, again.kept) == (0, 3)
    # Another user of the org, and a user of another org, are untouched.
    assert seed.members.get(ORG, users["bob"]) is not None
    assert seed.photo_versions(ORG, users["bob"]) == 2
    assert aws.cognito_idp().admin_get_user(UserPoolId=seed.pool, Username="bob@example.com")["Enabled"]
    assert store.residue(subject(users["bob"])) == 5


def test_a_user_of_another_org_is_not_reached_through_this_org(seeded: Any) -> None:
    store, seed, users = seeded
    result = store.erase(subject(users["other-org"], org=ORG))
    assert (result.deleted, result.kept) == (0, 0)
    assert aws.cognito_idp().admin_get_user(UserPoolId=seed.pool, Username="eve@example.com")["Enabled"]
    assert seed.members.get("org-b", users["other-org"]) is not None


def test_a_subject_without_users_has_no_account_data(seeded: Any) -> None:
    store, _, _ = seeded
    nobody = Subject(ORG, emails=frozenset({"ada@example.com"}))
    assert list(store.rows(nobody)) == []
    assert store.erase(nobody).deleted == 0
    assert store.residue(nobody) == 0


def test_the_store_is_absent_without_its_table(aws_stack: dict[str, Physical]) -> None:
    assert accounts_data(dsar_settings(aws_stack)) is None
