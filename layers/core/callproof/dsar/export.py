"""The export a subject receives: one CSV per store and the extra files (mail as ``.eml``) in one ZIP,
with ``manifest.json`` last. Everything streams: memory stays bounded by the size of one chunk (or one
extra file), whatever the size of the export.

Pure: the sink is any binary stream (``io.BytesIO`` in tests, ``callproof.store.s3_stream``'s
multipart writer in the workflow), and each store's CSV arrives as an iterator of byte chunks.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

FORMAT = "callproof-export/1"
MANIFEST = "manifest.json"
CSV_FLUSH_BYTES = 64 * 1024  # rows are encoded and written in batches of about this size

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
    taken = {MANIFEST}
    folders: Counter[str] = Counter()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in parts:
            _claim(taken, part.file)
            with archive.open(part.file, "w", force_zip64=True) as entry:
                for chunk in part.chunks:
                    entry.write(chunk)
        for path, content in files:
            _claim(taken, path)
            folder = PurePosixPath(path).parts[0]
            if folder == path:
                raise ValueError(f"an extra file belongs in a folder (e.g. mail/): {path!r}")
            with archive.open(path, "w", force_zip64=True) as entry:
                entry.write(content)
            folders[folder] += 1
        manifest = Manifest(
            request_id=request["id"],
            request_type=request["type"],
            generated_at=generated_at,
            stores=tuple(StoreEntry(p.name, p.file, p.rows, p.columns) for p in parts),
            files=dict(sorted(folders.items())),
        )
        archive.writestr(MANIFEST, json.dumps(manifest.as_json(), indent=2, ensure_ascii=False))
    return manifest


def _claim(taken: set[str], path: str) -> None:
    """A path inside the zip must be relative, without ``..`` or backslashes, and unique."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path or path != str(pure):
        raise ValueError(f"unsafe path in the export: {path!r}")
    if path in taken:
        raise ValueError(f"duplicate path in the export: {path!r}")
    taken.add(path)
