import pytest

from callproof.contacts.importer import MAX_ROWS, ContactImporter, parse_csv
from callproof.contacts.model import ContactIn, RowStatus
from callproof.contacts.service import ContactService
from callproof.errors import InvalidInput
from callproof.tenancy import Caller, Role
from tests.fakes import FixedOrgSettings, InMemoryContactStore

REP = Caller("org-a", "rep-1", frozenset({Role.REP}))


@pytest.fixture
def importer(store: InMemoryContactStore, orgs: FixedOrgSettings, service: ContactService) -> ContactImporter:
    return ContactImporter(store, orgs, service)


def statuses(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.status.value for row in report.rows]


def test_each_row_gets_a_result_by_file_line(importer: ContactImporter, store: InMemoryContactStore) -> None:
    csv_text = (
        "Name,Email,Phone,Type,Notes\n"
        "Ada,ada@x.io,415 555 0100,customer,vip\n"
        "Bad Phone,b@x.io,12,prospect,\n"
        ",nameless@x.io,,,\n"
        "Ada again,ADA@x.io,,,\n"
        "Ada mobile,ada@x.io,+1 202 555 0143,,\n"
        "Bob,bob@x.io;bob@work.io,,,\n"
    )
    report = importer.run(REP, csv_text)
    assert [row.line for row in report.rows] == [2, 3, 4, 5, 6, 7]
    assert statuses(report) == ["created", "rejected", "rejected", "duplicate", "updated", "created"]
    assert report.rows[1].field == "phones[0]"
    assert "too short" in (report.rows[1].reason or "")
    assert report.rows[2].field == "name"
    assert report.ignored_columns == ["Notes"]
    assert report.counts() == {"created": 2, "updated": 1, "duplicate": 1, "rejected": 2, "suppressed": 0}
    ada = store.get("org-a", report.rows[0].contact_id or "")
    assert ada is not None
    assert ada.e164s == {"+14155550100", "+12025550143"}
    assert len(store.contacts) == 2


def test_rows_are_deduplicated_against_existing_contacts(
    importer: ContactImporter, service: ContactService, store: InMemoryContactStore
) -> None:
    existing = service.create(REP, ContactIn(name="Ada", type="customer", phones=["+14155550100"]))
    report = importer.run(REP, "name,phone,email,company\nAda L,(415) 555-0100,ada@x.io,Engines\n")
    assert statuses(report) == ["updated"]
    assert report.rows[0].contact_id == existing.id
    stored = store.get("org-a", existing.id)
    assert stored is not None
    assert (stored.name, stored.company, stored.emails) == ("Ada", "Engines", ("ada@x.io",))
    assert stored.version == existing.version + 1


def test_importing_the_same_file_twice_creates_nothing_new(
    importer: ContactImporter, store: InMemoryContactStore
) -> None:
    csv_text = "name,email,phone\nA,a@x.io,\nB,,+1 202 555 0143\n"
    importer.run(REP, csv_text)
    again = importer.run(REP, csv_text)
    assert statuses(again) == ["duplicate", "duplicate"]
    assert len(store.contacts) == 2


def test_a_row_matching_two_contacts_is_rejected_not_guessed(
    importer: ContactImporter, service: ContactService, store: InMemoryContactStore
) -> None:
    service.create(REP, ContactIn(name="A", type="customer", emails=["a@x.io"]))
    service.create(REP, ContactIn(name="B", type="customer", phones=["+14155550100"]))
    report = importer.run(REP, "name,email,phone\nAB,a@x.io,+14155550100\n")
    assert statuses(report) == ["rejected"]
    assert "2 different contacts" in (report.rows[0].reason or "")
    assert len(store.contacts) == 2


def test_a_row_without_email_or_phone_is_rejected(importer: ContactImporter) -> None:
    report = importer.run(REP, "name,company\nNobody,Acme\n")
    assert statuses(report) == ["rejected"]


def test_rows_whose_write_fails_are_reported_not_lost(
    importer: ContactImporter, store: InMemoryContactStore
) -> None:
    store.fail_create_ids = {f"{2:032x}"}
    report = importer.run(REP, "name,email\nA,a@x.io\nB,b@x.io\n")
    assert statuses(report) == ["created", "rejected"]
    assert "import the file again" in (report.rows[1].reason or "")


def test_lookups_are_batched_by_100_keys(importer: ContactImporter, store: InMemoryContactStore) -> None:
    rows = "".join(f"P{i},p{i}@x.io,+1 202 555 {i:04d}\n" for i in range(250))
    report = importer.run(REP, "name,email,phone\n" + rows)
    assert report.counts()["created"] == 250
    assert max(store.lookup_calls) == 100
    assert sum(store.lookup_calls) == 500  # 250 emails + 250 phones, each asked once


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [("", "empty"), ("email,phone\na@x.io,\n", "'name' column")],
)
def test_unusable_files_are_refused_whole(csv_text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_csv(csv_text)


def test_byte_order_mark_and_blank_lines_are_tolerated() -> None:
    records, ignored = parse_csv("\ufeffname,email\n\nA,a@x.io\n,\n")
    assert [line for line, _ in records] == [3]
    assert ignored == []


def test_too_many_rows_are_refused() -> None:
    with pytest.raises(InvalidInput, match="split the file"):
        parse_csv("name\n" + "x\n" * (MAX_ROWS + 1))


def test_type_defaults_to_prospect_so_imported_people_are_never_texted_by_accident(
    importer: ContactImporter, store: InMemoryContactStore
) -> None:
    report = importer.run(REP, "name,email\nA,a@x.io\n")
    contact = store.get("org-a", report.rows[0].contact_id or "")
    assert contact is not None
    assert contact.type.value == "prospect"
    assert report.rows[0].status is RowStatus.CREATED
