"""The compliance console lists the org's open incidents (the breach register), overdue ones marked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_dsar_console import _sign_in
from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_open_incidents_are_listed_and_a_notified_one_is_not(local_stack: RunningStack, browser: Any) -> None:
    org = f"console-{uuid.uuid4().hex[:8]}"
    recorded = []
    for hours in (80, 2):
        body = {
            "detected_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat(),
            "description": f"Incident detected {hours} hours ago.",
            "stores": ["contacts"],
            "data_kinds": ["contact_details"],
        }
        recorded.append(call(local_stack, org, "POST", "/v1/incidents", body))
    notified = {"notified_at": datetime.now(UTC).isoformat(), "reference": "ICO-1"}
    call(local_stack, org, "POST", f"/v1/incidents/{recorded[1]['id']}/authority", notified)
    page = browser.new_page()
    try:
        errors = _sign_in(page, local_stack, org)
        rows = page.locator("#incidents tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(recorded[0]["id"])
        expect(rows.first).to_contain_text("overdue")
        assert errors == []
    finally:
        page.close()
