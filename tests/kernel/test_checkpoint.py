"""Agent checkpoints of a run: atomic, versioned, all kept until the run ends (then discarded
whole), and a bad file never breaks a reload.

The killed-writer test kills a real process writing checkpoints in a loop, at random (seeded)
instants: every reload must give the last state the writer reported written, or the one it was
writing.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import (
    FORMAT,
    Checkpoint,
    Checkpointer,
    CheckpointError,
    CheckpointStore,
    encode,
)
from tests.conftest import ROOT


def checkpoint(agent: str = "coder", n: int = 1, size: int = 10) -> Checkpoint:
    return Checkpoint(
        agent=agent, run="r1", seq=n, turn=1, final=True,
        transcript=(("user", f"task {n}"), ("assistant", f"answer {n} " + "x" * size)),
        usage=(10, n), cumulative=(10 * n, n), state={"status": "done", "n": n},
    )  # fmt: skip


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_round_trip_versions_and_modes(tmp_path: Path) -> None:
    root = tmp_path / "runs" / "r1" / "checkpoints"
    store = CheckpointStore(root)
    written = [store.write(checkpoint(n=n)) for n in (1, 2)]
    assert [c.version for c in written] == [1, 2]
    loaded = store.load("coder")
    assert loaded.warnings == []
    assert loaded.latest == written[1]
    assert loaded.checkpoints == [written[1], written[0]]
    folder = root / "coder"
    assert store.folder("coder") == folder
    assert names(folder) == ["0000000000000001.json", "0000000000000002.json"]
    assert stat.S_IMODE((folder / "0000000000000002.json").stat().st_mode) == 0o600
    for directory in (root, folder):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_every_checkpoint_is_kept_until_the_run_ends(tmp_path: Path) -> None:
    """Until the run's journal is on disk, any of its answers may be needed again."""
    store = CheckpointStore(tmp_path / "run")
    for n in range(1, 8):
        store.write(checkpoint(n=n))
    assert names(store.folder("coder")) == [f"{v:016}.json" for v in range(1, 8)]
    assert [c.state["n"] for c in store.load("coder").checkpoints] == [7, 6, 5, 4, 3, 2, 1]
    # a new store (another process: the run resumed) continues the numbering
    assert CheckpointStore(tmp_path / "run").write(checkpoint(n=8)).version == 8
    store.discard()  # the run ended
    assert not (tmp_path / "run").exists()
    assert store.load("coder").checkpoints == []


def test_the_layout_of_earlier_versions_is_read_nested_and_never_discarded(
    tmp_path: Path,
) -> None:
    shared = CheckpointStore(tmp_path / "agents", nested=True)
    assert shared.folder("coder") == tmp_path / "agents" / "coder" / "checkpoints"
    written = shared.write(checkpoint(n=1))
    assert shared.load("coder").latest == written
    with pytest.raises(ValueError, match="not a run's own"):
        shared.discard()
    assert shared.load("coder").latest == written


def test_a_batch_is_committed_together(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    batch = [checkpoint(agent, n) for n, agent in enumerate(["a", "b", "c", "a"], start=1)]
    written = store.commit(batch)
    assert [(c.agent, c.version) for c in written] == [("a", 1), ("b", 1), ("c", 1), ("a", 2)]
    assert store.load("a").latest == written[3]
    assert store.load("c").latest == written[2]
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_two_writers_never_overwrite_each_other(tmp_path: Path) -> None:
    first, second = CheckpointStore(tmp_path), CheckpointStore(tmp_path)
    first.write(checkpoint(n=1))
    second.write(checkpoint(n=2))  # learns the numbering: version 2
    mine = first.write(checkpoint(n=3))  # first still thinks 2 is free: takes 3 instead
    assert mine.version == 3
    assert [c.state["n"] for c in first.load("coder").checkpoints] == [3, 2, 1]
    assert first.load("coder").latest == mine  # the file says version 3, too


BAD = {
    "truncated": lambda good: good[: len(good) // 2],
    "zero-length": lambda good: b"",
    "garbage": lambda good: os.urandom(200),
    "wrong version": lambda good: good.replace(FORMAT.encode(), b"axoc.checkpoint/99"),
    "altered": lambda good: good.replace(b"answer 2", b"answer 9"),  # valid JSON, bad checksum
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_latest_checkpoint_is_skipped_for_the_previous(tmp_path: Path, kind: str) -> None:
    store = CheckpointStore(tmp_path)
    store.write(checkpoint(n=1))
    store.write(checkpoint(n=2))
    latest = store.folder("coder") / "0000000000000002.json"
    latest.write_bytes(BAD[kind](latest.read_bytes()))
    loaded = store.load("coder")
    assert loaded.latest is not None and loaded.latest.state["n"] == 1
    assert len(loaded.warnings) == 1
    assert str(latest) in loaded.warnings[0]
    assert "using 0000000000000001.json instead" in loaded.warnings[0]


def test_every_checkpoint_bad_gives_none_and_says_so(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.write(checkpoint(n=1))
    (store.folder("coder") / "0000000000000001.json").write_bytes(b"{")
    loaded = store.load("coder")
    assert loaded.latest is None
    assert loaded.warnings == [
        f"{store.folder('coder')}/0000000000000001.json: skipped, it is truncated or not JSON; "
        "no earlier checkpoint to use"
    ]


def test_a_checkpoint_of_another_agent_is_not_used(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.write(checkpoint("other", 1))
    folder = store.folder("coder")
    folder.mkdir(parents=True)
    (folder / "0000000000000001.json").write_bytes(encode(checkpoint("other", 1)))
    loaded = store.load("coder")
    assert loaded.latest is None and "belongs to agent 'other'" in loaded.warnings[0]


def test_no_checkpoints_is_not_an_error(tmp_path: Path) -> None:
    assert CheckpointStore(tmp_path).load("nobody").checkpoints == []
    assert CheckpointStore(tmp_path).load("nobody").warnings == []


def test_an_unsafe_agent_id_gets_a_safe_folder(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints")
    store.write(checkpoint("../../etc"))
    assert store.folder("../../etc").parent == tmp_path / "checkpoints"
    assert store.load("../../etc").latest is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints"]


def test_temporary_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, unnamed=False)  # where O_TMPFILE is missing
    store.write(checkpoint(n=1))
    folder = store.folder("coder")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = folder / f".0000000000000002.{dead.stdout.strip()}.1.tmp"
    live = folder / f".0000000000000002.{os.getppid()}.1.tmp"
    stale.write_bytes(b"half a chec")
    live.write_bytes(b"being writ")
    assert store.load("coder").warnings == []  # temporary files are not checkpoints
    CheckpointStore(tmp_path, unnamed=False).write(checkpoint(n=2))  # the next process
    assert not stale.exists() and live.exists()
    assert [c.state["n"] for c in store.load("coder").checkpoints] == [2, 1]


def test_the_checkpointer_writes_behind_and_reports_failures(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    writer = Checkpointer(store)
    futures = [writer.submit(checkpoint(f"a{n % 3}", n)) for n in range(30)]
    writer.flush()
    assert all(f.done() and f.exception() is None for f in futures)
    assert store.load("a0").latest == futures[27].result()
    writer.close()

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the agents directory should be")
    failing = Checkpointer(CheckpointStore(blocked))
    future = failing.submit(checkpoint())
    with pytest.raises(CheckpointError, match=r"cannot write a checkpoint in .*blocked"):
        future.result(timeout=10)
    with pytest.raises(CheckpointError):
        failing.flush()
    assert failing.error is not None
    failing.close()


WRITER = """
import sys
from pathlib import Path
from axoc.kernel.checkpoint import Checkpoint, CheckpointStore
store = CheckpointStore(Path(sys.argv[1]), unnamed=sys.argv[3] == "unnamed")
n = int(sys.argv[2])
while True:
    n += 1
    sys.stdout.write(f"writing {n}\\n"); sys.stdout.flush()
    store.write(Checkpoint(agent="coder", run="r", seq=n, turn=1, final=True,
        transcript=(("user", "q" * 50_000), ("assistant", str(n) * 1000)),
        usage=(n, n), cumulative=(n, n), state={"n": n}))
    sys.stdout.write(f"written {n}\\n"); sys.stdout.flush()
"""


@pytest.mark.parametrize("temporary", ["unnamed", "named"])
def test_a_writer_killed_at_random_instants_leaves_the_old_or_the_new_state(
    tmp_path: Path, temporary: str
) -> None:
    chance = random.Random(20261124)
    acknowledged = torn = 0
    for kill in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(acknowledged), temporary],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert child.stdout is not None
        line = child.stdout.readline()
        while not line.startswith("written"):  # at least one write done
            assert line, f"writer {kill} died before writing"
            line = child.stdout.readline()
        time.sleep(chance.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        complete = child.stdout.read().split("\n")[:-1]  # a killed print may leave half a line
        what, n = [line, *complete][-1].split()
        acknowledged = int(n) - (what == "writing")  # the last write that returned
        torn += what == "writing"  # killed in the middle of a write
        loaded = CheckpointStore(tmp_path).load("coder")
        assert loaded.warnings == [], loaded.warnings
        assert loaded.latest is not None
        assert loaded.latest.state["n"] in (acknowledged, acknowledged + 1), kill
        assert loaded.latest.answer == str(loaded.latest.state["n"]) * 1000
        acknowledged = loaded.latest.state["n"]
        # every checkpoint written is there, whole: the killed writer's own at most added
        kept = CheckpointStore(tmp_path).load("coder").checkpoints
        assert [c.state["n"] for c in kept] == list(range(acknowledged, 0, -1)), kill
    assert torn >= 1  # some kills did land in the middle of a write (about half of them do)


def test_a_failed_write_takes_no_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import axoc.kernel.checkpoint as module

    store = CheckpointStore(tmp_path)
    for n in (1, 2, 3):
        store.write(checkpoint(n=n))
    real = module._write_all

    def disk_full(fd: int, data: bytes, at: int | None = None) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "_write_all", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        store.commit([checkpoint(n=4), checkpoint("other", 4)])
    monkeypatch.setattr(module, "_write_all", real)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "other" in str(p)]
    store.write(checkpoint(n=5))
    assert [(c.version, c.state["n"]) for c in store.load("coder").checkpoints] == [
        (4, 5), (3, 3), (2, 2), (1, 1),
    ]  # fmt: skip
