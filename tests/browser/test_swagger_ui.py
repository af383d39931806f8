"""Swagger UI on the local stack (``/docs``) renders the API in headless Chromium, offline."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_the_docs_page_lists_the_operations_by_tag(local_stack: RunningStack, browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{local_stack.url}/docs")
        expect(page.get_by_role("heading", name="CallProof API")).to_be_visible(timeout=20_000)
        expect(page.locator(".opblock-tag", has_text="Privacy requests (public)")).to_be_visible()
        expect(
            page.locator(".opblock-summary-path", has_text="/v1/contacts/{contact_id}").first
        ).to_be_visible()
        expect(page.locator(".opblock-summary-description", has_text="Create a contact")).to_be_visible()
    finally:
        page.close()
