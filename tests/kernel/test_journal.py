"""The run journal: intact records read back; torn tails and corruption are detected and
dropped with a warning, never a crash; a writer killed with SIGKILL leaves a readable prefix."""

from __future__ import annotations

import json
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from axoc.kernel.journal import FORMAT, JournalError, Writer, read


def journal(tmp_path: Path, records: int = 5) -> Path:
    path = tmp_path / "journal.jsonl"
    writer = Writer(path, {"run_id": "r1", "digest": "sha256:abc"})
    for i in range(records):
        writer.append("completed", agent=f"a{i}", output=f"out {i} — ✓", tokens=i * 10)
    writer.commit()
    writer.close()
    return path


def test_records_read_back_in_order(tmp_path: Path) -> None:
    path = journal(tmp_path)
    contents = read(path)
    assert contents.header["format"] == FORMAT and contents.header["run_id"] == "r1"
    assert [r["agent"] for r in contents.records] == [f"a{i}" for i in range(5)]
    assert [r["n"] for r in contents.records] == [1, 2, 3, 4, 5]
    assert contents.records[3] == {
        "k": "completed",
        "n": 4,
        "agent": "a3",
        "output": "out 3 — ✓",
        "tokens": 30,
    }
    assert contents.warnings == [] and contents.valid_bytes == path.stat().st_size
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_torn_last_record_is_dropped_at_every_cut(tmp_path: Path) -> None:
    path = journal(tmp_path)
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last_start + 1, len(data)):
        path.write_bytes(data[:cut])
        contents = read(path)
        assert [r["n"] for r in contents.records] == [1, 2, 3, 4], cut
        assert contents.warnings == [f"{path}: the last record (line 6) is torn; it was dropped"]
        assert contents.valid_bytes == last_start


def test_corruption_in_the_middle_stops_reading_there(tmp_path: Path) -> None:
    path = journal(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b"out 2", b"out X")  # still JSON, wrong checksum
    path.write_bytes(b"".join(lines))
    contents = read(path)
    assert [r["n"] for r in contents.records] == [1, 2]
    assert contents.warnings == [
        f"{path}: record 3 (line 4) is corrupt; it and everything after it were ignored"
    ]


def test_a_record_written_out_another_way_is_checked_on_its_canonical_json(
    tmp_path: Path,
) -> None:
    """Lines are checked on their text as written; one spelt otherwise (keys in another order,
    spaces) is checked as it always was, on its record's canonical JSON."""
    path = journal(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[2])
    lines[2] = (
        json.dumps(dict(reversed(list(record.items()))), ensure_ascii=False) + "\n"
    ).encode()
    path.write_bytes(b"".join(lines))
    contents = read(path)
    assert [r["n"] for r in contents.records] == [1, 2, 3, 4, 5] and contents.warnings == []
    assert contents.records[1]["output"] == "out 1 — ✓"


@pytest.mark.parametrize("garbage", [b"\x00\x00\x00", b'{"n": 6}\n', b"not json\n", b"\xff\xfe\n"])
def test_garbage_after_the_records(tmp_path: Path, garbage: bytes) -> None:
    path = journal(tmp_path)
    path.write_bytes(path.read_bytes() + garbage)
    contents = read(path)
    assert len(contents.records) == 5 and len(contents.warnings) == 1


@pytest.mark.parametrize("content", [b"", b"hello\n", b'{"format": "axoc.journal/0", "n": 0}\n'])
def test_not_a_journal(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalError, match=r"is not an axoc\.journal/1 journal"):
        read(path)
    with pytest.raises(JournalError, match="no journal at"):
        read(tmp_path / "missing.jsonl")


def test_reopening_cuts_a_torn_tail_and_continues(tmp_path: Path) -> None:
    path = journal(tmp_path)
    path.write_bytes(path.read_bytes()[:-7])  # the last record torn
    writer = Writer(path)
    assert writer.count == 4
    assert writer.append("completed", agent="again") == 5
    writer.close()
    contents = read(path)
    assert [r["n"] for r in contents.records] == [1, 2, 3, 4, 5]
    assert contents.records[-1]["agent"] == "again" and contents.warnings == []


def test_reopening_after_contents_read_already_is_the_same(tmp_path: Path) -> None:
    path = journal(tmp_path)
    path.write_bytes(path.read_bytes()[:-7])
    writer = Writer(path, contents=read(path))
    assert writer.count == 4
    assert writer.append("completed", agent="again") == 5
    writer.close()
    contents = read(path)
    assert [r["n"] for r in contents.records] == [1, 2, 3, 4, 5] and contents.warnings == []


def test_a_new_journal_never_overwrites(tmp_path: Path) -> None:
    path = journal(tmp_path)
    with pytest.raises(JournalError, match="exists already"):
        Writer(path, {"run_id": "r2"})


WRITER = """
import sys
from pathlib import Path
from axoc.kernel.journal import Writer
path = Path(sys.argv[1])
writer = Writer(path, {"run_id": "crash"}) if not path.exists() else Writer(path)
print("ready", flush=True)
while True:
    writer.append("completed", agent="a" * 50, output="x" * (writer.count % 700))
"""


def test_a_writer_killed_at_random_instants_leaves_a_readable_prefix(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    path = tmp_path / "crash.jsonl"
    seen = 0
    for _ in range(12):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        contents = read(path)  # never raises: the header is always intact
        numbers = [r["n"] for r in contents.records]
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) >= seen  # nothing written before a kill is ever lost
        assert len(contents.warnings) <= 1
        seen = len(numbers)
    assert seen > 100
