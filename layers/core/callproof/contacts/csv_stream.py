"""A large CSV read from a byte stream in chunks of rows, with a checkpoint after every row.

The checkpoint is the number of bytes and file lines consumed. ``csv.reader`` pulls one line at a
time and returns a record as soon as its last line is read, so after each record the bytes counted
so far end exactly at that record: reading again from that byte offset (an S3 ranged GET) continues
with the next record, and line numbers continue from the checkpoint's line. Memory is one network
chunk plus one chunk of rows, whatever the file's size.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from callproof.contacts.importer import header_columns, record_of
from callproof.errors import InvalidInput

MAX_LINE_BYTES = 1024 * 1024  # a "line" longer than this is not a contacts CSV
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    offset: int = 0  # bytes of the file consumed
    line: int = 0  # file lines consumed (the header row is line 1)


def byte_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines with their ``\\n`` (the last one may lack it) from a stream of byte chunks."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            yield buffer[start : end + 1]
            start = end + 1
        buffer = buffer[start:]
        if len(buffer) > MAX_LINE_BYTES:
            raise InvalidInput(f"a line longer than {MAX_LINE_BYTES} bytes", field="file")
    if buffer:
        yield buffer


class CsvChunks:
    """Rows of a contacts CSV from ``start`` on. At offset 0 the header row is read first (``header``);
    a later start needs the header read then (a job keeps it)."""

    def __init__(self, chunks: Iterable[bytes], start: Checkpoint, header: list[str] | None) -> None:
        self._lines = byte_lines(chunks)
        self._offset, self._line = start.offset, start.line
        self._reader = csv.reader(self._decoded())
        if header is None:
            if start.offset:
                raise ValueError("a resumed read needs the header")
            try:
                header = next(self._reader)
            except StopIteration:
                raise InvalidInput("the CSV file is empty", field="file") from None
            except csv.Error as exc:
                raise InvalidInput(f"unreadable CSV: {exc}", field="file") from None
        self.header = header
        self.columns, self.ignored = header_columns(header)

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self._offset, self._line)

    def _decoded(self) -> Iterator[str]:
        for raw in self._lines:
            text = raw[len(_BOM) :] if self._offset == 0 and raw.startswith(_BOM) else raw
            self._offset += len(raw)
            self._line += 1
            try:
                yield text.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"line {self._line} is not UTF-8", field="file") from None

    def read(self, rows: int) -> list[tuple[int, dict[str, object]]]:
        """Up to ``rows`` data rows (file line, record), blank lines skipped; [] at the end of the file."""
        records: list[tuple[int, dict[str, object]]] = []
        try:
            while len(records) < rows:
                row = next(self._reader, None)
                if row is None:
                    break
                if any(cell.strip() for cell in row):
                    records.append((self._line, record_of(self.columns, row)))
        except csv.Error as exc:
            raise InvalidInput(f"unreadable CSV at line {self._line}: {exc}", field="file") from None
        return records
