"""The breach register's pure parts: the 72-hour clock, who each store holds data about (kept equal
to the DSAR store registry), and the notice's content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callproof import aws
from callproof.incidents.model import STORE_PEOPLE, Affected, DataKind, Incident, Population
from callproof.incidents.service import notice
from callproof.settings.dsar import DsarTaskSettings
from callproof.wiring_personal_data import personal_data_stores

DETECTED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def incident(**changes: object) -> Incident:
    base = Incident(
        org_id="org-a",
        id="0000000000000000abcdef0",
        detected_at=DETECTED,
        recorded_at=DETECTED,
        recorded_by="staff-1",
        description="A laptop was stolen.",
        stores=("sms",),
        orgs=("org-a",),
        data_kinds=(DataKind.MESSAGES, DataKind.CONTACT_DETAILS),
        affected=Affected(0, 0),
        what_to_do="Be wary of texts asking for payment.",
    )
    return base.next_version(**changes)


def test_the_clock_runs_72_hours_from_detection_and_stops_at_the_notification() -> None:
    open_incident = incident()
    assert open_incident.authority_due == DETECTED + timedelta(hours=72)
    assert not open_incident.overdue(DETECTED + timedelta(hours=72))
    assert open_incident.overdue(DETECTED + timedelta(hours=72, seconds=1))
    in_time = incident(authority_notified_at=DETECTED + timedelta(hours=70))
    assert not in_time.overdue(DETECTED + timedelta(days=30))
    late = incident(authority_notified_at=DETECTED + timedelta(hours=80))
    assert late.overdue(DETECTED + timedelta(hours=81))


def test_populations_follow_the_stores_named() -> None:
    assert incident().populations() == {Population.SUBJECTS}
    assert incident(stores=("sms", "devices")).populations() == {Population.SUBJECTS, Population.MEMBERS}


def test_every_registered_store_of_personal_data_says_whom_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset()
    names = {"DSAR_TABLE", "CONTACTS_TABLE", "CALL_LOGS_TABLE", "SMS_TABLE", "MAIL_TABLE", "ACCOUNTS_TABLE"}
    settings = DsarTaskSettings.model_validate(
        {name: f"table-{name.lower()}" for name in names}
        | {
            "EXPORTS_BUCKET": "exports",
            "DATA_BUCKET": "data",
            "DATA_KEY_ID": "key",
            "DEFAULT_PHONE_REGION": "US",
            "SUPPRESSION_SECRET_ARN": "arn:suppression",
            "DSAR_LINK_SECRET_ARN": "arn:link",
            "DSAR_MAIL_SENDER": "privacy@example.com",
            "USER_POOL_ID": "us-east-1_pool",
        }
    )
    assert set(personal_data_stores(settings)) == set(STORE_PEOPLE)
    aws.reset()


def test_the_notice_says_what_happened_what_data_and_what_to_do() -> None:
    subject, text = notice(incident())
    assert "breach" in subject
    assert "A laptop was stolen." in text
    assert "messages, contact details" in text
    assert "Be wary of texts asking for payment." in text
