"""The export: CSV cells (injection guard, lists, None, dates), the ZIP read back, the manifest, and
proof that assembling streams (an unseekable sink records every write)."""

from __future__ import annotations

import csv
import io
import json
import random
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callproof.dsar import export
from callproof.dsar.export import FORMAT, PLAIN_NUMBER, ExportPart, assemble, cell_text, write_csv

GENERATED = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
REQUEST = {"id": "req-1", "type": "access"}


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


class RecordingSink:
    """An unseekable, untellable sink that keeps only counters: the largest single write and the total."""

    def __init__(self) -> None:
        self.total = 0
        self.max_write = 0
        self.writes = 0

    def write(self, data: bytes) -> int:
        size = len(data)
        self.total += size
        self.max_write = max(self.max_write, size)
        self.writes += 1
        return size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class TestWriteCsv:
    def test_header_rows_and_count(self) -> None:
        sink = io.BytesIO()
        rows = [{"id": "c1", "name": "Ada"}, {"id": "c2", "name": "Grace"}]
        assert write_csv(rows, ("id", "name"), sink) == 2
        assert read_csv(sink.getvalue()) == [["id", "name"], ["c1", "Ada"], ["c2", "Grace"]]

    def test_no_rows_still_writes_the_header(self) -> None:
        sink = io.BytesIO()
        assert write_csv([], ("id", "name"), sink) == 0
        assert sink.getvalue() == b"id,name\r\n"

    def test_none_missing_lists_dates_bools_numbers(self) -> None:
        sink = io.BytesIO()
        row = {
            "none": None,
            "emails": ["a@example.com", "b@example.com"],
            "phones": ("+14155550100",),
            "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "day": date(2026, 1, 2),
            "flag": True,
            "count": 3,
            "ratio": 0.5,
        }
        columns = ("none", "missing", "emails", "phones", "at", "day", "flag", "count", "ratio")
        write_csv([row], columns, sink)
        assert read_csv(sink.getvalue())[1] == [
            "",
            "",
            "a@example.com; b@example.com",
            "+14155550100",
            "2026-01-02T03:04:05+00:00",
            "2026-01-02",
            "true",
            "3",
            "0.5",
        ]

    @pytest.mark.parametrize(
        "text",
        ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1", "=1", "+1 415", "-1e5"],
    )
    def test_formula_injection_is_quoted(self, text: str) -> None:
        sink = io.BytesIO()
        write_csv([{"note": text}], ("note",), sink)
        assert read_csv(sink.getvalue())[1] == ["'" + text]

    def test_a_list_starting_like_a_formula_is_quoted(self) -> None:
        assert cell_text(["=cmd", "ok"]) == "'=cmd; ok"

    def test_numbers_and_plain_text_are_left_alone(self) -> None:
        assert cell_text(-5) == "-5"
        assert cell_text(-0.25) == "-0.25"
        assert cell_text("+14155550100") == "+14155550100"  # an E.164 phone is a plain number
        assert cell_text(["+14155550100", "+442071838750"]) == "+14155550100; +442071838750"
        assert cell_text(["+14155550100", "=cmd"]) == "'+14155550100; =cmd"
        assert cell_text("a=b") == "a=b"
        assert cell_text('Ada, "the" first\nline') == 'Ada, "the" first\nline'

    def test_quotes_commas_newlines_and_unicode_round_trip(self) -> None:
        sink = io.BytesIO()
        value = 'Zoë, "the" first\nsecond line'
        write_csv([{"v": value}], ("v",), sink)
        assert read_csv(sink.getvalue())[1] == [value]

    def test_a_key_outside_the_columns_is_refused_not_dropped(self) -> None:
        with pytest.raises(ValueError, match="secret"):
            write_csv([{"id": "1", "secret": "x"}], ("id",), io.BytesIO())

    def test_streams_in_bounded_writes(self) -> None:
        sink = RecordingSink()
        rows = ({"id": str(i), "text": "x" * 200} for i in range(5000))
        assert write_csv(rows, ("id", "text"), sink) == 5000
        assert sink.total > 1_000_000
        assert sink.writes > 10
        assert sink.max_write < 70 * 1024

    @given(st.lists(st.text(), min_size=1, max_size=5))
    def test_any_text_reads_back_as_written_or_quote_prefixed(self, values: list[str]) -> None:
        sink = io.BytesIO()
        columns = tuple(f"c{i}" for i in range(len(values)))
        write_csv([dict(zip(columns, values, strict=True))], columns, sink)
        back = read_csv(sink.getvalue())[1]
        for value, cell in zip(values, back, strict=True):
            formula = value.startswith(("=", "+", "-", "@", "\t", "\r")) and not PLAIN_NUMBER.fullmatch(value)
            assert cell == ("'" + value if formula else value)


def csv_bytes(rows: list[dict[str, str]], columns: tuple[str, ...]) -> bytes:
    sink = io.BytesIO()
    write_csv(rows, columns, sink)
    return sink.getvalue()


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class TestAssemble:
    def test_zip_reads_back_with_the_manifest_last(self) -> None:
        contacts = csv_bytes([{"id": "c1", "name": "Ada"}], ("id", "name"))
        calls = csv_bytes([{"id": "k1"}, {"id": "k2"}], ("id",))
        parts = [
            ExportPart("contacts", ("id", "name"), 1, chunked(contacts, 7)),
            ExportPart("call_logs", ("id",), 2, chunked(calls, 3)),
        ]
        files = [("mail/m1.eml", b"Subject: hi\r\n\r\nbody"), ("mail/m2.eml", b"Subject: two\r\n\r\n")]
        sink = io.BytesIO()
        manifest = assemble(sink, parts, iter(files), GENERATED, REQUEST)

        with zipfile.ZipFile(io.BytesIO(sink.getvalue())) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert names == ["contacts.csv", "call_logs.csv", "mail/m1.eml", "mail/m2.eml", "manifest.json"]
            assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
            assert archive.read("contacts.csv") == contacts
            assert archive.read("call_logs.csv") == calls
            assert archive.read("mail/m1.eml") == files[0][1]
            document = json.loads(archive.read("manifest.json"))
        assert document == {
            "format": FORMAT,
            "request": {"id": "req-1", "type": "access"},
            "generated_at": "2026-11-28T12:30:00+00:00",
            "stores": [
                {
                    "name": "contacts",
                    "file": "contacts.csv",
                    "rows": 1,
                    "schema": {"columns": ["id", "name"]},
                },
                {"name": "call_logs", "file": "call_logs.csv", "rows": 2, "schema": {"columns": ["id"]}},
            ],
            "files": {"mail": 2},
        }
        assert manifest.as_json() == document

    def test_an_empty_export_still_has_its_manifest(self) -> None:
        sink = io.BytesIO()
        assemble(sink, [ExportPart("contacts", ("id",), 0, [b"id\r\n"])], [], GENERATED, REQUEST)
        with zipfile.ZipFile(io.BytesIO(sink.getvalue())) as archive:
            document = json.loads(archive.read("manifest.json"))
        assert document["stores"][0]["rows"] == 0
        assert document["files"] == {}

    @pytest.mark.parametrize(
        "path",
        ["/etc/passwd", "../escape.eml", "mail/../../x", "mail\\x.eml", "manifest.json", "", "loose.eml"],
    )
    def test_unsafe_or_clashing_paths_are_refused(self, path: str) -> None:
        with pytest.raises(ValueError, match=r"path|folder"):
            assemble(io.BytesIO(), [], [(path, b"x")], GENERATED, REQUEST)

    def test_duplicate_paths_are_refused(self) -> None:
        files = [("mail/a.eml", b"1"), ("mail/a.eml", b"2")]
        with pytest.raises(ValueError, match="duplicate"):
            assemble(io.BytesIO(), [], files, GENERATED, REQUEST)

    def test_streams_into_an_unseekable_sink_with_bounded_memory(self) -> None:
        """16 MiB of CSV in 64 KiB chunks and 200 mails, produced lazily: no write is bigger than
        about one chunk, and the peak of Python allocations stays far below the export's size."""
        chunk = 64 * 1024
        produced = 0

        def big_csv() -> Iterator[bytes]:
            nonlocal produced
            noise = random.Random(7)
            yield b"id,text\r\n"
            for _ in range(256):
                block = noise.randbytes(chunk // 2).hex().encode()  # barely compressible
                produced += len(block)
                yield block

        def mails() -> Iterator[tuple[str, bytes]]:
            for i in range(200):
                yield f"mail/{i}.eml", b"Subject: x\r\n\r\n" + bytes(range(256)) * 40

        sink = RecordingSink()
        tracemalloc.start()
        try:
            parts = [ExportPart("notes", ("id", "text"), 0, big_csv())]
            manifest = assemble(sink, parts, mails(), GENERATED, REQUEST)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert produced == 16 * 1024 * 1024
        assert manifest.files == {"mail": 200}
        assert sink.total > 8 * 1024 * 1024  # the data really went through the sink
        assert sink.max_write <= 2 * chunk
        assert peak < 2 * 1024 * 1024


def mail_files(count: int) -> Iterator[tuple[str, bytes]]:
    for n in range(count):
        yield f"mail/{n:08d}-{'ab' * 20}.eml", b"Subject: x\r\n\r\n" + b"hello " * 50


def assembled_peak(count: int) -> int:
    sink = RecordingSink()
    tracemalloc.start()
    try:
        assemble(sink, [ExportPart("mail", ("id",), 0, [b"id\r\n"])], mail_files(count), GENERATED, REQUEST)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestManyFiles:
    def test_entries_spilled_to_disk_read_back_whole_and_in_order(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Central directory records go to a temporary file every few entries; the archive still
        lists every entry once, in order, with its content."""
        monkeypatch.setattr(export, "SPILL_ENTRIES", 7)
        sink = io.BytesIO()
        manifest = assemble(
            sink, [ExportPart("mail", ("id",), 0, [b"id\r\n"])], mail_files(100), GENERATED, REQUEST
        )
        with zipfile.ZipFile(io.BytesIO(sink.getvalue())) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert names == ["mail.csv", *(path for path, _ in mail_files(100)), "manifest.json"]
            assert archive.read(names[42]) == dict(mail_files(100))[names[42]]
        assert manifest.files == {"mail": 100}

    def test_a_duplicate_of_a_spilled_entry_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(export, "SPILL_ENTRIES", 3)
        files = [*mail_files(10), ("mail/00000001-" + "ab" * 20 + ".eml", b"again")]
        with pytest.raises(ValueError, match="duplicate"):
            assemble(io.BytesIO(), [], iter(files), GENERATED, REQUEST)

    def test_more_entries_than_the_zip_count_field_holds_get_the_zip64_end_records(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(export, "ZIP_FILECOUNT_LIMIT", 5)
        sink = io.BytesIO()
        assemble(sink, [], mail_files(9), GENERATED, REQUEST)
        assert b"PK\x06\x06" in sink.getvalue()[-200:]
        with zipfile.ZipFile(io.BytesIO(sink.getvalue())) as archive:
            assert len(archive.namelist()) == 10

    def test_memory_does_not_grow_with_the_number_of_files(self) -> None:
        """The zip's per-entry bookkeeping and the paths taken are not kept in memory: ten times the
        files peak at about the same."""
        assert assembled_peak(3000) < 1.1 * assembled_peak(300)
