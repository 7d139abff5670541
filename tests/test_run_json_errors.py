"""`axoc run --json` refusals: whatever stops a run before it starts (exit 2) prints one JSON
error object on stdout — `{"event": "error", "code", "message", "exit_code": 2}`, with the
config's diagnostics or the message's details when there are any — besides the human message
on stderr. Without `--json`, stdout stays empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from axoc.runs import Lock
from tests.conftest import ROOT
from tests.helpers import Result, axoc

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")
BASE = {"event", "code", "message", "exit_code"}


def config(tmp_path: Path, text: str, name: str = "c.axoc.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_error(result: Result) -> dict[str, object]:
    assert result.code == 2, result.err
    (line,) = result.out.splitlines()
    record = json.loads(line)
    assert isinstance(record, dict) and BASE <= set(record) <= BASE | {"diagnostics", "details"}
    assert record["event"] == "error" and record["exit_code"] == 2
    assert result.err.startswith(("axoc run: ", "usage: axoc run"))
    assert str(record["message"]) in result.err  # the same words as for people
    return record


def ended_run(tmp_path: Path) -> list[str]:
    state = str(tmp_path / "state")
    assert axoc("run", HELLO, "--dry-run", "--state-dir", state).code == 0
    (folder,) = (tmp_path / "state").glob("runs/*")
    return [HELLO, "--resume", folder.name, "--state-dir", state]


def live_run(tmp_path: Path) -> list[str]:
    argv = ended_run(tmp_path)
    folder = tmp_path / "state" / "runs" / argv[2]
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    HELD.append(Lock(folder))  # as another process running it would
    return argv


def broken_journal(tmp_path: Path) -> list[str]:
    argv = ended_run(tmp_path)
    (tmp_path / "state" / "runs" / argv[2] / "journal.jsonl").write_text("not a journal\n")
    return argv


UNKNOWN = "20000101T000000.000000-000000"  # a run id no run has
HELD: list[Lock] = []  # runs held live by the test
CASES: dict[str, tuple[str, Callable[[Path], list[str]], str]] = {
    "unknown workflow": (
        "unknown_workflow", lambda _: [HELLO, "-w", "helo-world"],
        "no workflow 'helo-world' (did you mean 'hello-world'? workflows: hello-world)",
    ),
    "unknown agent": (
        "unknown_agent", lambda _: [HELLO, "--agent", "reseacher"],
        "no agent 'reseacher' (did you mean 'researcher'? agents: researcher, summarizer)",
    ),
    "unknown skill": (
        "unknown_skill", lambda _: [HELLO, "--fire", "x"], "no skill 'x' (skills: none)",
    ),
    "no workflow chosen": (
        "no_target",
        lambda p: [config(p, "agents: [{id: a, provider: echo}]\nworkflows: [{id: one, agents: [a]},"
                             " {id: two, agents: [a]}]\n")],
        "choose a workflow with -w (workflows: one, two)",
    ),
    "missing api key": (
        "missing_api_key",
        lambda p: [config(p, "agents: [{id: a, provider: openai, model: m}]\n"
                             "workflows: [{id: w, agents: [a]}]\n"), "--state-dir", str(p)],
        "provider 'openai' needs an API key: set OPENAI_API_KEY",
    ),
    "input not utf-8": (
        "bad_input", lambda _: [HELLO, "-i", "ab\udcffc"],
        "-i: the input is not valid UTF-8 (byte 0xff at character 3)",
    ),
    "neither plan nor config": (
        "not_runnable", lambda p: [config(p, "[1]", "x.json")],
        "is neither a saved plan nor a config: its top level is not a JSON object",
    ),
    "tampered plan": (
        "bad_plan", lambda p: [config(p, '{"format": "axoc.signal-table/1"}', "p.json")],
        "is not a signal table: ",
    ),
    "unknown run": (
        "unknown_run", lambda p: [HELLO, "--resume", UNKNOWN, "--state-dir", str(p)],
        f"no run '{UNKNOWN}'",
    ),
    "not a run id": (
        "bad_run_id", lambda p: [HELLO, "--resume", "../x", "--state-dir", str(p)],
        "'../x' is not a run id",
    ),
    "ended run": ("run_ended", ended_run, "already ended: completed"),
    "bad provider settings": (
        "provider",
        lambda p: [config(p, "providers: {lab: {kind: openai_compatible, base_url: 'not a url'}}\n"
                             "agents: [{id: a, provider: lab, model: m}]\n"
                             "workflows: [{id: w, agents: [a]}]\n")],
        "",
    ),
    "unreadable plan": (
        "unreadable", lambda p: [str(p / "missing.json")], "cannot read",
    ),
    "live run": ("run_live", live_run, "is still live in another process"),
    "unusable journal": ("bad_journal", broken_journal, "journal"),
    "unusable state directory": (
        "state_dir", lambda p: [HELLO, "--state-dir", config(p, "a file", "state")],
        "cannot write the run record in",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_refusal_prints_one_json_error(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, args, words = CASES[case]
    dry = [] if code in ("missing_api_key", "provider") else ["--dry-run"]  # echo needs nothing
    argv = ["run", *args(tmp_path), *dry]
    record = one_error(axoc(*argv, "--json"))
    assert record["code"] == code
    assert words in str(record["message"])
    assert "diagnostics" not in record and "details" not in record
    quiet = axoc(*argv)
    assert quiet.code == 2 and quiet.out == ""  # without --json: stdout stays empty
    while HELD:
        HELD.pop().release()


def test_config_errors_come_with_their_diagnostics(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "agents:\n  - {id: a, provider: echo, depends_on: [zz]}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
    )
    record = one_error(axoc("run", path, "--dry-run", "--json"))
    assert record["code"] == "config_errors"
    assert record["message"] == f"{path} cannot run"
    (found,) = record["diagnostics"]  # type: ignore[misc]
    assert (found["code"], found["severity"], found["line"], found["column"]) == (
        "AX302", "error", 2, 42,
    )  # fmt: skip
    assert found["file"] == path and found["path"] == "agents[0].depends_on[0]"
    unset = config(
        tmp_path,
        "agents:\n  - {id: a, provider: echo, system_prompt: '${AXOC_UNSET_X}'}\n"
        "workflows:\n  - {id: w, agents: [a]}\n",
        "unset.axoc.yaml",
    )
    record = one_error(axoc("run", unset, "--dry-run", "--json"))
    assert record["code"] == "config_errors"
    assert record["message"] == f"{unset} cannot run (an unset variable is an error at run time)"
    (found,) = record["diagnostics"]  # type: ignore[misc]
    assert (found["code"], found["severity"]) == ("AX303", "error")  # an error at run time


def test_config_drift_comes_with_what_changed(tmp_path: Path) -> None:
    path = config(tmp_path, Path(HELLO).read_text(encoding="utf-8"))
    state = str(tmp_path / "state")
    assert axoc("run", path, "--dry-run", "--state-dir", state).code == 0
    (folder,) = (tmp_path / "state").glob("runs/*")
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    Path(path).write_text(Path(path).read_text().replace("per_call: 1000", "per_call: 1500"))
    record = one_error(
        axoc("run", path, "--dry-run", "--json", "--resume", folder.name, "--state-dir", state)
    )
    assert record["code"] == "config_drift"
    assert record["details"] == [
        "~ agent researcher: budget.per_call 1000 → 1500",
        "~ agent summarizer: budget.per_call 1000 → 1500",
    ]


def test_a_usage_error_of_run_json_is_a_json_error_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "run", HELLO, "--json", "--bogus"],
        capture_output=True, text=True, timeout=30, env={**os.environ}, check=False,
    )  # fmt: skip
    record = one_error(Result(done.returncode, done.stdout, done.stderr))
    assert record == {"event": "error", "code": "usage", "exit_code": 2,
                      "message": "unrecognized arguments: --bogus"}  # fmt: skip
    plain = subprocess.run(
        [sys.executable, "-m", "axoc", "run", HELLO, "--bogus"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert plain.returncode == 2 and plain.stdout == ""
