"""The export a subject receives: one CSV per store and the extra files (mail as ``.eml``) in one ZIP,
with ``manifest.json`` last. Everything streams: memory stays bounded by the size of one chunk (or one
extra file), whatever the size of the export.

Pure: the sink is any binary stream (``io.BytesIO`` in tests, ``callproof.store.s3_stream``'s
multipart writer in the workflow), and each store's CSV arrives as an iterator of byte chunks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import struct
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any, Protocol

FORMAT = "callproof-export/1"
MANIFEST = "manifest.json"
CSV_FLUSH_BYTES = 64 * 1024  # rows are encoded and written in batches of about this size
SPILL_ENTRIES = 256  # zip entries whose central directory records are held before they go to /tmp
SEEN_BYTES, SEEN_HASHES = 1 << 20, 3  # the Bloom filter of the names taken: 8 Mbit, 3 bits a name
ZIP_FILECOUNT_LIMIT = 0xFFFF  # more entries than this need the ZIP64 end records
# The ZIP end records (APPNOTE 4.3.14-16), packed as zipfile packs them.
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_END64_LOCATOR = struct.Struct("<4sLQL")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # a central directory record's fixed part (4.3.12)

# What a CSV cell may hold: the store's scalars, plus dates / datetimes (ISO 8601) and lists (joined).
Scalar = str | int | float | bool | None | datetime | date
CsvValue = Scalar | list[Scalar] | tuple[Scalar, ...]

# OWASP "CSV injection": a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "
# Except plain signed numbers (an E.164 phone is one, a list of phones is several): with no letter
# they can call nothing, and quoting every phone of an export would corrupt the data for no safety.
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
PLAIN_NUMBER = re.compile(f"{_NUMBER}(?:{LIST_SEPARATOR}{_NUMBER})*")


class ByteSink(Protocol):
    """Where bytes go: ``io.BytesIO``, a file, ``S3MultipartWriter`` (what ``zipfile`` needs too)."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExportPart:
    """One store's CSV, already produced (row count known), delivered as byte chunks."""

    name: str  # the store name: the file is ``<name>.csv``
    columns: tuple[str, ...]
    rows: int
    chunks: Iterable[bytes] = field(compare=False)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


@dataclass(frozen=True, slots=True)
class StoreEntry:
    name: str
    file: str
    rows: int
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What ``manifest.json`` says: the stores (file, rows, schema), the extra files per folder."""

    request_id: str
    request_type: str
    generated_at: datetime
    stores: tuple[StoreEntry, ...]
    files: Mapping[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "request": {"id": self.request_id, "type": self.request_type},
            "generated_at": self.generated_at.isoformat(),
            "stores": [
                {"name": s.name, "file": s.file, "rows": s.rows, "schema": {"columns": list(s.columns)}}
                for s in self.stores
            ],
            "files": dict(self.files),
        }


def cell_text(value: CsvValue) -> str:
    """One cell as text: None is empty, lists are joined, dates are ISO 8601, and a text starting
    like a formula (but not plain numbers) is prefixed with a single quote, so a spreadsheet shows
    it instead of running it."""
    if isinstance(value, list | tuple):
        text = LIST_SEPARATOR.join(_scalar_text(item) for item in value)
    else:
        text = _scalar_text(value)
    if text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _scalar_text(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def write_csv(
    rows: Iterable[Mapping[str, CsvValue]], columns: Sequence[str], sink: ByteSink, *, header: bool = True
) -> int:
    """Stream the header (unless ``header`` is false: a part of a CSV staged in rounds) and one line
    per row as UTF-8 CSV into ``sink``; returns the row count.

    A row may leave columns out (empty cells) but never carry a key outside ``columns``: that would
    drop data silently, so it raises ``ValueError``.
    """
    known = frozenset(columns)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    count = 0
    for row in rows:
        unknown = row.keys() - known
        if unknown:
            raise ValueError(f"row has keys outside the columns: {sorted(unknown)}")
        writer.writerow([cell_text(row.get(column)) for column in columns])
        count += 1
        if text.tell() >= CSV_FLUSH_BYTES:
            _drain(text, sink)
    _drain(text, sink)
    return count


def csv_header(columns: Sequence[str]) -> bytes:
    """The header line ``write_csv`` writes, on its own (the first bytes of a CSV staged in parts)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(columns)
    return text.getvalue().encode("utf-8")


def _drain(text: io.StringIO, sink: ByteSink) -> None:
    data = text.getvalue()
    if data:
        sink.write(data.encode("utf-8"))
    text.seek(0)
    text.truncate()


def assemble(
    sink: ByteSink,
    parts: Sequence[ExportPart],
    files: Iterable[tuple[str, bytes]],
    generated_at: datetime,
    request: Mapping[str, str],
) -> Manifest:
    """Write the export ZIP (deflate) to ``sink``: each part's CSV streamed chunk by chunk, then each
    extra file, then ``manifest.json``. Returns the manifest. The sink is neither seeked nor closed
    (entries carry data descriptors, so an unseekable stream is fine)."""
    folders: Counter[str] = Counter()
    with SpillingZip(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.claim(MANIFEST, reserve=True)  # written last
        for part in parts:
            archive.claim(part.file)
            with archive.open(part.file, "w", force_zip64=True) as entry:
                for chunk in part.chunks:
                    entry.write(chunk)
        for path, content in files:
            archive.claim(path)
            folder, _, name = path.partition("/")
            if not name:
                raise ValueError(f"an extra file belongs in a folder (e.g. mail/): {path!r}")
            with archive.open(path, "w", force_zip64=True) as entry:
                entry.write(content)
            folders[folder] += 1
            archive.spill_every(SPILL_ENTRIES)
        manifest = Manifest(
            request_id=request["id"],
            request_type=request["type"],
            generated_at=generated_at,
            stores=tuple(StoreEntry(p.name, p.file, p.rows, p.columns) for p in parts),
            files=dict(sorted(folders.items())),
        )
        archive.writestr(MANIFEST, json.dumps(manifest.as_json(), indent=2, ensure_ascii=False))
    return manifest


class SpillingZip(zipfile.ZipFile):
    """A ``ZipFile`` writer whose memory does not grow with its entries. ``zipfile`` keeps a
    ``ZipInfo`` (about 0.6 KiB) per entry for the central directory it writes when it closes;
    ``spill_every`` writes the central directory records of the finished entries to a temporary file
    (about 80 bytes each, on ``/tmp``) and forgets their ``ZipInfo``, and closing copies them into the
    archive before the end records. The records are ``zipfile``'s own (its ``_write_end_record`` run
    on the spilled entries alone), so the archive is the one ``ZipFile`` would write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spilled = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the archive
        self._spilled_count = 0
        self._seen = bytearray(SEEN_BYTES)
        self._reserved: set[str] = set()

    def claim(self, name: str, *, reserve: bool = False) -> None:
        """Refuse an unsafe name, or one the archive already holds (``ValueError``), else take it
        (``reserve``: for an entry written later). The names taken are remembered in a fixed-size
        Bloom filter: a name it has not seen is new; one it may have seen is looked up in the entries
        held and the spilled records (rare)."""
        if not _safe(name):
            raise ValueError(f"unsafe path in the export: {name!r}")
        bits = _bits(name)
        if all(self._seen[bit >> 3] & (1 << (bit & 7)) for bit in bits) and self._holds(name):
            raise ValueError(f"duplicate path in the export: {name!r}")
        for bit in bits:
            self._seen[bit >> 3] |= 1 << (bit & 7)
        if reserve:
            self._reserved.add(name)

    def _holds(self, name: str) -> bool:
        if name in self.NameToInfo or name in self._reserved:
            return True
        end = self._spilled.tell()
        self._spilled.seek(0)
        try:
            return any(found == name.encode("utf-8") for found in _names(self._spilled))
        finally:
            self._spilled.seek(end)

    def spill_every(self, entries: int) -> None:
        """Spill once ``entries`` finished entries are held (none is being written)."""
        if len(self.filelist) >= entries:
            self._spill()

    def _spill(self) -> None:
        if not self.filelist:
            return
        archive, start, comment = self.fp, self.start_dir, self.comment
        records = io.BytesIO()
        self.fp, self.start_dir, self.comment = records, 0, b""
        try:
            super()._write_end_record()  # type: ignore[misc]
        finally:
            self.fp, self.start_dir, self.comment = archive, start, comment
        self._spilled.write(records.getvalue()[: -_END.size])  # the records, without the end record
        self._spilled_count += len(self.filelist)
        self.filelist.clear()
        self.NameToInfo.clear()

    def _write_end_record(self) -> None:
        """The spilled central directory, then the end records (ZIP64 ones when the count, offset
        or size needs them), as ``zipfile`` writes them."""
        self._spill()
        assert self.fp is not None
        offset = self.start_dir
        size = self._spilled.tell()
        self._spilled.seek(0)
        shutil.copyfileobj(self._spilled, self.fp)
        self._spilled.close()
        count = self._spilled_count
        if count > ZIP_FILECOUNT_LIMIT or offset > zipfile.ZIP64_LIMIT or size > zipfile.ZIP64_LIMIT:
            self.fp.write(_END64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset))
            self.fp.write(_END64_LOCATOR.pack(b"PK\x06\x07", 0, offset + size, 1))
            count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
        self.fp.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, offset, len(self.comment)))
        self.fp.write(self.comment)
        self.fp.flush()


def _safe(path: str) -> bool:
    """A path inside the zip must be relative and normal (no empty, ``.`` or ``..`` part), without
    backslashes. Plain string checks: ``pathlib`` interns every part, a table that grows per file."""
    return bool(path) and "\\" not in path and all(part not in ("", ".", "..") for part in path.split("/"))


def _bits(name: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=4 * SEEN_HASHES).digest()
    return tuple(
        int.from_bytes(digest[4 * n : 4 * n + 4], "little") % (8 * SEEN_BYTES) for n in range(SEEN_HASHES)
    )


def _names(records: IO[bytes]) -> Iterator[bytes]:
    """The file names of spilled central directory records, from the start of ``records``."""
    while header := records.read(_CENTRAL.size):
        fields = _CENTRAL.unpack(header)
        name_size, extra_size, comment_size = fields[12], fields[13], fields[14]
        yield records.read(name_size)
        records.seek(extra_size + comment_size, io.SEEK_CUR)
