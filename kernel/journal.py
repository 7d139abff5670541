"""An append-only run journal that a crash at any instant leaves readable.

In: records (JSON objects) appended by one writer. Out: on reading, every intact record in
order, and warnings for what was dropped. Format (`axoc.journal/1`): UTF-8 JSON lines; the first
is the header `{"format", ...}`; every line carries `"n"` (1, 2, 3... with the header as 0) and
`"c"`, the CRC-32 of the line's canonical JSON without `"c"`.

Guarantees:
- Each record is written with a single `os.write` of a whole line to a file opened with
  O_APPEND, so a process killed at any instant leaves every earlier record intact and at worst a
  prefix of the last one. Records written are in the kernel's page cache and survive `kill -9`;
  `commit()` fsyncs them (and the directory, when the file was created) to survive power loss.
- The reader checks every line's CRC and sequence number. A bad last line is a torn write: it is
  dropped with a warning. A bad line followed by good ones is corruption: reading stops there,
  with a warning naming the line, and nothing after it is trusted.
- Reopening a journal for appending first cuts a torn tail off, so the next record does not
  continue a broken line.
Standard library only.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axoc.kernel.files import fsync_dir

FORMAT = "axoc.journal/1"


class JournalError(Exception):
    """The journal cannot be used at all: missing, not a journal, or another version."""


@dataclass
class Contents:
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    valid_bytes: int = 0  # length of the intact prefix of the file


def _line(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    crc = zlib.crc32(body.encode("utf-8"))
    return (body[:-1] + f',"c":{crc}}}\n').encode("utf-8")


def _check(raw: bytes, expected: int) -> dict[str, Any] | None:
    """The record on this line, or None when it is torn, corrupt or out of sequence."""
    if not raw.endswith(b"\n"):
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a 4,301-digit number, nesting
        return None
    if not isinstance(record, dict) or not isinstance(record.get("c"), int):
        return None
    crc = record.pop("c")
    if record.get("n") != expected or not _intact(raw, record, crc):
        return None
    return record


def _intact(raw: bytes, record: dict[str, Any], crc: int) -> bool:
    """Whether `crc` is the checksum of the record's canonical JSON. A line as `_line` wrote it
    is that JSON followed by the checksum, so its text is checked as it is, without writing the
    record out again (a resume reads megabytes of journal); any other line is checked on its
    canonical JSON, as it always was."""
    written = f',"c":{crc}}}\n'.encode()
    if raw.endswith(written) and zlib.crc32(raw[: -len(written)] + b"}") == crc:
        return True
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return zlib.crc32(body.encode("utf-8")) == crc


def read(path: Path) -> Contents:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise JournalError(f"no journal at {path}") from exc
    lines = data.splitlines(keepends=True)
    header = _check(lines[0], 0) if lines else None
    if header is None or header.get("format") != FORMAT:
        found = header.get("format") if header else None
        what = f"format {found!r}" if found else "no valid header"
        raise JournalError(f"{path} is not an {FORMAT} journal ({what})")
    contents = Contents(header, valid_bytes=len(lines[0]))
    for number, raw in enumerate(lines[1:], start=1):
        record = _check(raw, number)
        if record is None:
            contents.warnings.append(_problem(path, number, last=number == len(lines) - 1))
            break
        contents.records.append(record)
        contents.valid_bytes += len(raw)
    return contents


def _problem(path: Path, number: int, *, last: bool) -> str:
    if last:
        return f"{path}: the last record (line {number + 1}) is torn; it was dropped"
    return (
        f"{path}: record {number} (line {number + 1}) is corrupt; it and everything after it "
        "were ignored"
    )


class Writer:
    """Appends records to a journal; one writer per journal at a time."""

    def __init__(
        self, path: Path, header: dict[str, Any] | None = None, contents: Contents | None = None
    ) -> None:
        """Create the journal with `header`, or (header None) reopen it for appending, after
        `contents` when the caller has just read it (and holds the run's lock, so it cannot
        have changed since), else after reading it again."""
        self.path = path
        created = header is not None
        if created:
            if path.exists():
                raise JournalError(f"{path} exists already")
            self.count = 0
            self._size = 0
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._write({"format": FORMAT, **(header or {}), "n": 0})
            self.commit(directory=True)
        else:
            contents = contents or read(path)
            self.count = len(contents.records)
            self._size = contents.valid_bytes
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            if contents.valid_bytes < path.stat().st_size:
                os.ftruncate(self._fd, contents.valid_bytes)  # cut the torn tail off
                os.fsync(self._fd)

    def append(self, kind: str, **fields: Any) -> int:
        """Write one record (durable against kill -9 once this returns); its number."""
        self.count += 1
        self._write({**fields, "k": kind, "n": self.count})
        return self.count

    def commit(self, *, directory: bool = False) -> None:
        """Make everything appended so far durable against power loss too."""
        os.fsync(self._fd)
        if directory:
            fsync_dir(self.path.parent)

    def close(self) -> None:
        os.close(self._fd)

    def _write(self, record: dict[str, Any]) -> None:
        line = _line(record)
        try:
            written = os.write(self._fd, line)
        except OSError:
            os.ftruncate(self._fd, self._size)  # nothing half-written stays behind
            raise
        if written != len(line):  # a full disk: never leave a half line to be extended
            os.ftruncate(self._fd, self._size)
            raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
        self._size += written
