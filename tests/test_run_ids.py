"""A run id is an id, not a path: `run --resume`, `runs show` and `tokens report --run` accept
only a run id (`20261124T081502.093311-3f2a9c`), and refuse anything else (exit 2) before any
file is looked at; `runs list` and `runs prune` see only folders named by a run id. A run in
another state directory, reached through `..`, an absolute path or a symbolic link, is never
resumed, shown or deleted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from axoc.statedir import RUN_ID_EXAMPLE, is_run_id, new_run_id
from tests.conftest import ROOT
from tests.helpers import axoc

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")


def interrupted_run(state: Path) -> str:
    """A run of hello-world in `state`, cut after its first tick: resumable."""
    assert axoc("run", HELLO, "--dry-run", "--state-dir", str(state)).code == 0
    (folder,) = state.glob("runs/*")
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    return folder.name


def hostile(other: Path, run_id: str) -> list[str]:
    """Ways to name the run `run_id` of the state directory `other` that are not its id."""
    return [
        f"../../other/runs/{run_id}",
        f"../other/runs/{run_id}",
        str(other / "runs" / run_id),  # absolute
        f"runs/{run_id}",
        f"{run_id}/",
        f"{run_id}/../{run_id}",
        f"./{run_id}",
        f"{run_id}\\x",
        "..",
        ".",
        "",
        f"{run_id}\n",
        f" {run_id}",
        f"{run_id}\x00",
        run_id.replace("T", "t"),  # upper() is the id itself when its hex part has no letter
        "２０２６" + run_id[4:],  # full-width digits: Unicode digits are not run-id digits
        "a" * 10_000,
    ]


def test_the_run_id_format() -> None:
    assert all(is_run_id(new_run_id()) for _ in range(50))
    assert is_run_id(RUN_ID_EXAMPLE)
    assert not is_run_id(RUN_ID_EXAMPLE + "\n")  # fullmatch: `$` would let a newline through
    assert not is_run_id(RUN_ID_EXAMPLE.replace("-", "/"))


def test_resume_show_and_report_refuse_what_is_not_a_run_id(tmp_path: Path) -> None:
    other = tmp_path / "other"
    victim = interrupted_run(other)
    journal = other / "runs" / victim / "journal.jsonl"
    before = journal.read_bytes()
    state = tmp_path / "state" / "deep"
    state.mkdir(parents=True)
    for name in hostile(other, victim):
        for argv in (
            ["run", HELLO, "--dry-run", "--resume", name],
            ["runs", "show", name],
            ["tokens", "report", "--run", name],
        ):
            result = axoc(*argv, "--state-dir", str(state))
            assert result.code == 2, (argv, result.err)
            assert "is not a run id: run ids look like 20261124T081502.093311-3f2a9c" in result.err
            assert result.out == "" and len(result.err) < 600, argv  # the id is shown cut short
    assert journal.read_bytes() == before  # the other run was neither resumed nor touched
    assert not (state / "runs").exists()  # nothing was created either
    # the same id, in its own state directory, is a run
    assert axoc("runs", "show", victim, "--state-dir", str(other)).code == 0
    assert axoc("run", HELLO, "--dry-run", "--resume", victim, "--state-dir", str(other)).code == 0


def test_from_a_subprocess_too(tmp_path: Path) -> None:
    """The console script: a refusal, exit 2, no traceback."""
    from tests.helpers import axoc_process

    result = axoc_process("run", HELLO, "--resume", "../../etc", "--state-dir", str(tmp_path))
    assert result.code == 2
    assert result.err == (
        "axoc run: '../../etc' is not a run id: run ids look like "
        f"{RUN_ID_EXAMPLE} (axoc runs list shows them), and name a run of the state directory "
        "(--state-dir picks another)\n"
    )


@pytest.mark.parametrize("command", [["runs", "list"], ["runs", "prune", "--keep", "0",
                                                         "--include-unfinished"]])  # fmt: skip
def test_list_and_prune_see_only_folders_named_by_a_run_id(
    tmp_path: Path, command: list[str]
) -> None:
    other = tmp_path / "other"
    victim = interrupted_run(other)
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    alias = "20200101T000000.000000-abcdef"  # a run id, but a link to another state's run
    os.symlink(other / "runs" / victim, state / "runs" / alias)
    os.symlink(other / "runs", state / "runs" / "elsewhere")
    stray = state / "runs" / "not-a-run"
    stray.mkdir()
    (stray / "journal.jsonl").write_bytes((other / "runs" / victim / "journal.jsonl").read_bytes())
    result = axoc(*command, "--state-dir", str(state))
    assert result.code == 0, result.err
    assert victim not in result.out and alias not in result.out and "not-a-run" not in result.out
    assert sorted(p.name for p in (state / "runs").iterdir()) == [alias, "elsewhere", "not-a-run"]
    assert (other / "runs" / victim / "journal.jsonl").is_file()
    for argv in (["runs", "show", alias], ["tokens", "report", "--run", alias],
                 ["run", HELLO, "--dry-run", "--resume", alias]):  # fmt: skip
        refused = axoc(*argv, "--state-dir", str(state))
        assert refused.code == 2 and alias in refused.err, argv  # a link is no run
    assert (
        axoc("runs", "show", victim, "--state-dir", str(other))
        .out.splitlines()[1]
        .startswith("status: interrupted")
    )  # not resumed through the link
