"""A state directory that cannot be written — read-only, or another user's — can be inspected:
`runs list`, `runs show` and `tokens report` read it (the liveness check opens the lock
read-only), tell live runs from interrupted ones, and write nothing. Run as real processes that
file permissions bind (tests/readers.py), even when the suite runs as root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from axoc.runs import Lock, live
from tests.conftest import ROOT
from tests.helpers import axoc
from tests.readers import as_reader, chmod_tree, give_back, may_write

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")


def cut(folder: Path, keep: int = 3) -> None:
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:keep]))


@pytest.fixture
def state(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A state directory with a completed, an interrupted and a live run (its lock held by
    this process, as the process running it would); status by run id."""
    root = tmp_path / "state"
    for _ in range(3):
        assert axoc("run", HELLO, "--dry-run", "-i", "q", "--state-dir", str(root)).code == 0
    done, interrupted, running = sorted(p.name for p in (root / "runs").iterdir())
    cut(root / "runs" / interrupted)
    cut(root / "runs" / running)
    held = Lock(root / "runs" / running)
    try:
        yield root, {done: "completed", interrupted: "interrupted", running: "live"}
    finally:
        held.release()
        give_back(root)


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*")
    }


def inspect(root: Path, statuses: dict[str, str]) -> None:
    """Every inspection command works on `root` and says what each run is."""
    before = snapshot(root)
    listed = as_reader("runs", "list", "--state-dir", str(root))
    assert listed.code == 0, listed.err
    rows = {line.split()[0]: line.split()[2] for line in listed.out.splitlines()[1:]}
    assert rows == statuses
    for run_id, status in statuses.items():
        shown = as_reader("runs", "show", run_id, "--state-dir", str(root))
        assert shown.code == 0, shown.err
        assert shown.out.splitlines()[1].startswith(f"status: {status};")
        report = as_reader("tokens", "report", "--run", run_id, "--state-dir", str(root))
        assert report.code == 0, report.err
        assert report.out.splitlines()[0].endswith(f": {status}")
    latest = as_reader("tokens", "report", "--format", "json", "--state-dir", str(root))
    assert latest.code == 0, latest.err
    assert snapshot(root) == before  # nothing was written, not even a lock file


def test_a_read_only_state_directory_can_be_inspected(
    state: tuple[Path, dict[str, str]],
) -> None:
    root, statuses = state
    chmod_tree(root, 0o222)  # chmod -R a-w
    assert not may_write(root / "runs" / next(iter(statuses)))  # the permissions bind
    inspect(root, statuses)
    pruned = as_reader("runs", "prune", "--keep", "0", "--state-dir", str(root))
    assert pruned.code == 1  # nothing can be deleted, and it says so (not "live")
    assert pruned.err.splitlines() == [
        f"axoc runs prune: cannot delete {run_id}: Permission denied" for run_id in sorted(statuses)
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a tree to another user takes root")
def test_another_users_readable_state_directory_can_be_inspected(
    state: tuple[Path, dict[str, str]],
) -> None:
    """Owned by `nobody`, readable by all (as one would share it), writable only by its owner."""
    root, statuses = state
    for path in [root, *root.rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert not may_write(root / "runs")
    inspect(root, statuses)


def test_liveness_is_asked_without_writing(
    state: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process too: the check opens nothing for writing, and creates no lock file."""
    root, statuses = state
    opened: list[int] = []
    real_open = os.open

    def spy(path: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        opened.append(flags)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    for run_id, status in statuses.items():
        assert live(root / "runs" / run_id) is (status == "live")
    assert live(root / "nothing-here") is False
    assert opened and all(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) == 0 for flags in opened)
    assert not (root / "nothing-here").exists()
