"""`runs.Summaries`, what `axoc serve`'s `GET /runs` lists from: a run that has ended is read
once and again only when its journal changes; a run that has not ended is read every time."""

from __future__ import annotations

import os
from pathlib import Path

from axoc import runs
from tests.helpers import axoc_process

HELLO = Path(__file__).resolve().parents[1] / "examples" / "hello-world.axoc.yaml"


def test_ended_runs_are_read_once_until_their_journal_changes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for text in ("one", "two"):
        done = axoc_process("run", str(HELLO), "--dry-run", "-i", text, "--state-dir", str(state))
        assert done.code == 0, done.err
    summaries = runs.Summaries()
    first = summaries.all(state)
    assert [s.status for s in first] == ["completed", "completed"]
    again = summaries.all(state)
    assert [a is f for a, f in zip(again, first, strict=True)] == [True, True]
    # a journal that changed (here: its modification time) is read again
    journal = state / "runs" / first[0].run_id / "journal.jsonl"
    stat = journal.stat()
    os.utime(journal, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = summaries.all(state)
    assert changed[0] is not first[0] and changed[1] is first[1]
    assert changed[0].run_id == first[0].run_id and changed[0].status == "completed"
    # a run that has not ended (no `stopped` record, no process holds it) is read every time
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]))
    unended = summaries.all(state)
    assert unended[0].status == "interrupted"
    assert summaries.all(state)[0] is not unended[0]
    # a run pruned is no longer listed
    for path in sorted((state / "runs" / first[1].run_id).rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (state / "runs" / first[1].run_id).rmdir()
    assert [s.run_id for s in summaries.all(state)] == [first[0].run_id]
