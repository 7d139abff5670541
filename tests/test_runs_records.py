"""`axoc runs show` tells where a run came from and what it produced; `axoc runs prune` deletes
old finished runs, and never a live one (nor an unfinished one unless asked)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from axoc.runs import Lock
from tests.conftest import ROOT
from tests.helpers import Result, axoc

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")
SKILLS = str(ROOT / "examples" / "skills-lattice.axoc.yaml")


def run(state: Path, *args: str) -> str:
    """A run's id, from its --json stream."""
    result = axoc("run", *args, "--json", "--state-dir", str(state))
    assert result.code == 0, result.err
    return str(json.loads(result.out.splitlines()[0])["run_id"])


def show(state: Path, run_id: str) -> list[str]:
    result = axoc("runs", "show", run_id, "--state-dir", str(state))
    assert result.code == 0, result.err
    return result.out.splitlines()


def cut(state: Path, run_id: str, keep: int) -> None:
    """As if the run was killed after its first `keep` records (the header counts)."""
    journal = state / "runs" / run_id / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:keep]))


# --- runs show ------------------------------------------------------------------------------


def test_show_says_where_a_run_came_from_and_what_it_produced(tmp_path: Path) -> None:
    run_id = run(tmp_path, HELLO, "--dry-run", "-i", "Why is the sky blue?")
    lines = show(tmp_path, run_id)
    assert lines[2:8] == [
        f"config: {HELLO}",
        "dry run: yes",
        "input: Why is the sky blue?",
        "output:",
        "  [summarizer]",
        "    summarizer <- Previous agent outputs: [researcher]: researcher <- Why is the sky "
        "blue? Original task: Why is the sky blue?",
    ]


def test_show_a_real_run_with_a_multi_line_input(tmp_path: Path) -> None:
    config = tmp_path / "echo.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo}\n  - {id: b, provider: echo}\n"
        "workflows:\n  - {id: w, agents: [a, b]}\n",
        encoding="utf-8",
    )
    run_id = run(tmp_path, str(config), "-i", "line one\nline two")
    lines = show(tmp_path, run_id)
    at = lines.index("dry run: no")
    assert lines[at + 1 : at + 8] == [
        "input:", "  line one", "  line two",
        "output:", "  [a]", "    a <- line one line two", "  [b]",
    ]  # fmt: skip


def test_show_the_output_of_a_skill_fire_as_the_run_printed_it(tmp_path: Path) -> None:
    result = axoc("run", SKILLS, "--fire", "write-code", "--dry-run", "-i", "x", "--json",
                  "--state-dir", str(tmp_path))  # fmt: skip
    records = [json.loads(line) for line in result.out.splitlines()]
    outputs = records[-1]["outputs"]
    assert outputs  # the leaves of the fire
    lines = show(tmp_path, records[0]["run_id"])
    shown = lines[lines.index("output:") + 1 : lines.index("tokens by agent:")]
    expected = [row for agent, text in outputs.items() for row in (f"  [{agent}]", f"    {text}")]
    assert shown == expected


def test_show_an_interrupted_run_says_output_so_far(tmp_path: Path) -> None:
    run_id = run(tmp_path, HELLO, "--dry-run", "-i", "q")
    cut(tmp_path, run_id, 3)  # header, started, the researcher's tick: the sink has not run
    assert "output so far: none" in show(tmp_path, run_id)
    run_id = run(tmp_path, HELLO, "--dry-run", "-i", "q")
    cut(tmp_path, run_id, 5)  # ... and the summarizer's tick: only `stopped` is missing
    lines = show(tmp_path, run_id)
    assert lines[1].startswith("status: interrupted")
    at = lines.index("output so far:")
    assert lines[at + 1] == "  [summarizer]" and lines[at + 2].startswith("    summarizer <- ")


# --- runs prune -----------------------------------------------------------------------------


def prune(state: Path, *args: str) -> Result:
    return axoc("runs", "prune", *args, "--state-dir", str(state))


def listed(state: Path) -> list[str]:
    return [line.split()[0] for line in axoc("runs", "list", "--state-dir", str(state)).out.splitlines()[1:]]  # fmt: skip


def aged(state: Path, run_id: str, year: int) -> str:
    """The run, renamed as if it had started in `year`."""
    old = f"{year}0101T000000.000000{run_id[22:]}"
    (state / "runs" / run_id).rename(state / "runs" / old)
    return old


def test_keep_n_deletes_all_but_the_newest_finished_runs(tmp_path: Path) -> None:
    ids = [run(tmp_path, HELLO, "--dry-run") for _ in range(3)]
    result = prune(tmp_path, "--keep", "1")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"deleted {ids[0]} (completed)",
        f"deleted {ids[1]} (completed)",
        f"deleted 2 of 3 runs in {tmp_path}",
    ]
    assert listed(tmp_path) == [ids[2]]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [ids[2]]  # nothing left over
    assert prune(tmp_path, "--keep", "1").out == f"deleted 0 of 1 run in {tmp_path}\n"


def test_older_than_deletes_runs_started_before(tmp_path: Path) -> None:
    new = run(tmp_path, HELLO, "--dry-run")
    old = aged(tmp_path, run(tmp_path, HELLO, "--dry-run"), 2020)
    result = prune(tmp_path, "--older-than", "30d")
    assert result.code == 0
    assert result.out.splitlines()[0] == f"deleted {old} (completed)"
    assert listed(tmp_path) == [new]
    assert prune(tmp_path, "--older-than", "1h30m").out.startswith("deleted 0 of 1 run")


def test_a_live_run_is_never_deleted_and_an_unfinished_one_only_when_asked(
    tmp_path: Path,
) -> None:
    live = aged(tmp_path, run(tmp_path, HELLO, "--dry-run"), 2019)
    cut(tmp_path, live, 3)
    unfinished = aged(tmp_path, run(tmp_path, HELLO, "--dry-run"), 2020)
    cut(tmp_path, unfinished, 3)
    held = Lock(tmp_path / "runs" / live)  # another process is running it
    try:
        kept = prune(tmp_path, "--keep", "0")
        assert kept.code == 0
        assert kept.out.splitlines() == [
            f"kept {live}: live in another process",
            f"kept {unfinished}: unfinished (resumable; --include-unfinished deletes it)",
            f"deleted 0 of 2 runs in {tmp_path}; kept 2 old runs (1 live, 1 unfinished)",
        ]
        forced = prune(tmp_path, "--keep", "0", "--include-unfinished")
        assert forced.out.splitlines()[:2] == [
            f"kept {live}: live in another process",
            f"deleted {unfinished} (unfinished)",
        ]
        assert [p.name for p in (tmp_path / "runs").iterdir()] == [live]
    finally:
        held.release()
    resumed = axoc("run", HELLO, "--dry-run", "--resume", live, "--state-dir", str(tmp_path))
    assert resumed.code == 0  # the live run was left whole


def test_dry_run_deletes_nothing(tmp_path: Path) -> None:
    ids = [run(tmp_path, HELLO, "--dry-run") for _ in range(2)]
    result = prune(tmp_path, "--keep", "0", "--dry-run")
    assert result.out.splitlines() == [
        f"would delete {ids[0]} (completed)",
        f"would delete {ids[1]} (completed)",
        f"would delete 2 of 2 runs in {tmp_path}",
    ]
    assert listed(tmp_path) == ids


def test_what_a_killed_prune_left_is_never_listed_and_is_cleaned_up(tmp_path: Path) -> None:
    run_id = run(tmp_path, HELLO, "--dry-run")
    shutil.copytree(tmp_path / "runs" / run_id, tmp_path / "runs" / f".pruning-{run_id}x")
    assert listed(tmp_path) == [run_id]
    assert prune(tmp_path, "--keep", "5").code == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [run_id]


def test_a_run_that_cannot_be_deleted_exits_1_and_the_others_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [run(tmp_path, HELLO, "--dry-run") for _ in range(2)]
    real_rename = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        if Path(src).name == ids[0]:
            raise PermissionError(13, "Permission denied")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    result = prune(tmp_path, "--keep", "0")
    assert result.code == 1
    assert result.err == f"axoc runs prune: cannot delete {ids[0]}: Permission denied\n"
    assert listed(tmp_path) == [ids[0]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--older-than", "3x"), "axoc runs prune: --older-than: '3x' is not a duration"),
        (("--older-than", "d"), "axoc runs prune: --older-than: 'd' is not a duration"),
        (("--keep", "-1"), "axoc runs prune: --keep: -1 is negative"),
        ((), "one of the arguments --older-than --keep is required"),
        (("--keep", "1", "--older-than", "1d"), "not allowed with argument"),
    ],
)
def test_prune_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    run_id = run(tmp_path, HELLO, "--dry-run")
    result = prune(tmp_path, *args)
    assert result.code == 2 and message in result.err
    assert listed(tmp_path) == [run_id]
