import pytest

from callproof import config
from callproof.settings.contacts import ContactsSettings


@pytest.fixture(autouse=True)
def fresh_cache():
    config.clear_cache()
    yield
    config.clear_cache()


def test_missing_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTS_TABLE", raising=False)
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "US")
    with pytest.raises(config.ConfigurationError, match="CONTACTS_TABLE"):
        config.load(ContactsSettings)


def test_bad_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_TABLE", "contacts")
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "usa")
    with pytest.raises(config.ConfigurationError, match="DEFAULT_PHONE_REGION"):
        config.load(ContactsSettings)


def test_function_environment_overlays_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTS_TABLE", "process-table")
    monkeypatch.setenv("DEFAULT_PHONE_REGION", "US")
    monkeypatch.setenv("SUPPRESSION_SECRET_ARN", "arn:suppression-key")
    with config.function_environment({"CONTACTS_TABLE": "function-table", "DEFAULT_PHONE_REGION": "GB"}):
        inside = config.load(ContactsSettings)
    outside = config.load(ContactsSettings)
    assert (inside.contacts_table, inside.default_phone_region) == ("function-table", "GB")
    assert (outside.contacts_table, outside.default_phone_region) == ("process-table", "US")
