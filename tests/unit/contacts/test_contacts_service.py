import pytest

from callproof.contacts.model import ContactIn, ContactPatch, ContactType
from callproof.contacts.service import ContactService
from callproof.errors import Conflict, Forbidden, InvalidInput, NotFound
from callproof.tenancy import Caller, Role
from tests.fakes import InMemoryContactStore

REP_A = Caller("org-a", "rep-1", frozenset({Role.REP}))
OTHER_REP_A = Caller("org-a", "rep-2", frozenset({Role.REP}))
ADMIN_A = Caller("org-a", "admin-1", frozenset({Role.ADMIN}))
REP_B = Caller("org-b", "rep-9", frozenset({Role.REP}))
COMPLIANCE_A = Caller("org-a", "c-1", frozenset({Role.COMPLIANCE}))


def ada(**overrides: object) -> ContactIn:
    fields: dict[str, object] = {
        "name": "Ada Lovelace",
        "type": "customer",
        "emails": ["Ada@Example.COM"],
        "phones": ["(415) 555-0100"],
    }
    fields.update(overrides)
    return ContactIn.model_validate(fields)


def test_create_normalizes_phones_and_emails_and_keeps_raw(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    assert contact.emails == ("ada@example.com",)
    assert [(p.e164, p.raw) for p in contact.phones] == [("+14155550100", "(415) 555-0100")]
    assert contact.owner_user_id == "rep-1"
    assert contact.type is ContactType.CUSTOMER


def test_org_default_region_is_used_for_national_numbers(service: ContactService) -> None:
    contact = service.create(REP_B, ada(phones=["020 7946 0958"]))
    assert contact.phones[0].e164 == "+442079460958"


def test_invalid_phone_is_rejected_naming_the_entry_and_nothing_is_stored(
    service: ContactService, store: InMemoryContactStore
) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create(REP_A, ada(phones=["+1 415 555 0100", "12"]))
    assert caught.value.field == "phones[1]"
    assert "too short" in caught.value.message
    assert store.contacts == {}


def test_duplicate_spellings_are_stored_once(service: ContactService) -> None:
    contact = service.create(
        REP_A, ada(phones=["+1 415 555 0100", "415-555-0100"], emails=["a@x.io", "A@x.io"])
    )
    assert len(contact.phones) == 1
    assert contact.emails == ("a@x.io",)


def test_another_orgs_contact_is_not_found(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    with pytest.raises(NotFound):
        service.get(REP_B, contact.id)
    with pytest.raises(NotFound):
        service.update(REP_B, contact.id, ContactPatch(name="x"))
    with pytest.raises(NotFound):
        service.delete(REP_B, contact.id)


def test_malformed_id_is_not_found(service: ContactService) -> None:
    with pytest.raises(NotFound):
        service.get(REP_A, "../../etc")


def test_update_replaces_only_given_fields(service: ContactService) -> None:
    contact = service.create(REP_A, ada(company="Analytical Engines"))
    updated = service.update(REP_A, contact.id, ContactPatch.model_validate({"phones": ["+44 20 7946 0958"]}))
    assert updated.company == "Analytical Engines"
    assert [p.e164 for p in updated.phones] == ["+442079460958"]
    assert updated.version == contact.version + 1
    cleared = service.update(REP_A, contact.id, ContactPatch.model_validate({"company": None}))
    assert cleared.company is None


def test_name_cannot_be_removed(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    with pytest.raises(InvalidInput):
        service.update(REP_A, contact.id, ContactPatch.model_validate({"name": None}))


def test_update_retries_when_a_concurrent_write_wins(
    service: ContactService, store: InMemoryContactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = service.create(REP_A, ada())
    real_replace = store.replace
    calls = []

    def racing_replace(old, new):  # type: ignore[no-untyped-def]
        calls.append(old.version)
        if len(calls) == 1:  # someone else bumps the version first
            real_replace(old, type(old)(**{**_fields(old), "version": old.version + 1}))
            raise Conflict("changed")
        real_replace(old, new)

    monkeypatch.setattr(store, "replace", racing_replace)
    updated = service.update(REP_A, contact.id, ContactPatch(name="Countess"))
    assert updated.name == "Countess"
    assert calls == [1, 2]


def _fields(contact: object) -> dict[str, object]:
    return {slot: getattr(contact, slot) for slot in type(contact).__slots__}  # type: ignore[attr-defined]


def test_only_owner_or_admin_may_delete(service: ContactService, store: InMemoryContactStore) -> None:
    contact = service.create(REP_A, ada())
    with pytest.raises(Forbidden):
        service.delete(OTHER_REP_A, contact.id)
    service.delete(ADMIN_A, contact.id)
    assert store.contacts == {}


def test_roles_outside_sales_cannot_use_contacts(service: ContactService) -> None:
    with pytest.raises(Forbidden):
        service.create(COMPLIANCE_A, ada())


def test_list_pages_through_all_contacts(service: ContactService) -> None:
    created = {service.create(REP_A, ada(emails=[f"p{i}@x.io"], phones=[])).id for i in range(5)}
    service.create(REP_B, ada(phones=["+14155550100"]))
    seen, cursor = [], None
    while True:
        page = service.list(REP_A, 2, cursor)
        seen += [c.id for c in page.contacts]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert set(seen) == created
    assert len(seen) == 5


@pytest.mark.parametrize("limit", [0, 101])
def test_limit_out_of_range_is_refused(service: ContactService, limit: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.list(REP_A, limit, None)
    assert caught.value.field == "limit"


def test_lookup_returns_every_contact_sharing_a_number(service: ContactService) -> None:
    first = service.create(REP_A, ada())
    second = service.create(REP_A, ada(name="Switchboard", emails=[]))
    service.create(REP_B, ada(phones=["+14155550100"]))
    result = service.lookup(REP_A, ["415 555 0100", "+1 202 555 0143"], ["ada@example.com", "nobody@x.io"])
    assert {c.id for c in result.phones["+14155550100"]} == {first.id, second.id}
    assert result.phones["+12025550143"] == []
    assert [c.id for c in result.emails["ada@example.com"]] == [first.id]
    assert result.emails["nobody@x.io"] == []


def test_new_ids_are_unique_and_sort_by_creation_time() -> None:
    from callproof.contacts.service import new_contact_id

    ids = [new_contact_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert [i[:12] for i in ids] == sorted(i[:12] for i in ids)


# --------------------------------------------------------------- who may change what (issue 13)
def test_a_rep_cannot_take_over_a_colleagues_contact(
    service: ContactService, store: InMemoryContactStore
) -> None:
    """The takeover: PATCH owner_user_id to oneself, then DELETE as the new owner. The owner change is
    refused and nothing is written, so the DELETE stays refused."""
    contact = service.create(REP_A, ada())
    with pytest.raises(Forbidden) as caught:
        service.update(OTHER_REP_A, contact.id, ContactPatch(owner_user_id="rep-2"))
    assert caught.value.field == "owner_user_id"
    assert store.contacts[("org-a", contact.id)] == contact
    with pytest.raises(Forbidden):
        service.delete(OTHER_REP_A, contact.id)


def test_the_owner_hands_a_contact_over_and_an_admin_reassigns_it(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    handed = service.update(REP_A, contact.id, ContactPatch(owner_user_id="rep-2"))
    assert handed.owner_user_id == "rep-2"
    with pytest.raises(Forbidden):  # the former owner is now a colleague like any other
        service.update(REP_A, contact.id, ContactPatch(owner_user_id="rep-1"))
    back = service.update(ADMIN_A, contact.id, ContactPatch(owner_user_id="rep-1"))
    assert back.owner_user_id == "rep-1"


def test_colleagues_edit_the_shared_fields_but_not_the_owner(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    edited = service.update(
        OTHER_REP_A, contact.id, ContactPatch(company="Analytical Engines", owner_user_id="rep-1")
    )  # naming the current owner changes nothing about ownership: allowed
    assert (edited.company, edited.owner_user_id) == ("Analytical Engines", "rep-1")
    with pytest.raises(Forbidden):  # a mixed patch is refused whole
        service.update(OTHER_REP_A, contact.id, ContactPatch(company="Mallory Ltd", owner_user_id="rep-2"))
    assert service.get(REP_A, contact.id).company == "Analytical Engines"


def test_the_owner_cannot_be_removed(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    with pytest.raises(InvalidInput) as caught:
        service.update(REP_A, contact.id, ContactPatch.model_validate({"owner_user_id": None}))
    assert caught.value.field == "owner_user_id"


def test_a_correction_changes_the_persons_data_never_the_owner(service: ContactService) -> None:
    contact = service.create(REP_A, ada())
    corrected = service.correct("org-a", contact.id, ContactPatch(name="Augusta Ada King"))
    assert (corrected.name, corrected.owner_user_id) == ("Augusta Ada King", "rep-1")
    with pytest.raises(InvalidInput) as caught:
        service.correct("org-a", contact.id, ContactPatch(owner_user_id="rep-2"))
    assert caught.value.field == "owner_user_id"
    assert service.get(REP_A, contact.id).owner_user_id == "rep-1"
