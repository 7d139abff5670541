"""What `axoc run` shows and how it stops, as a user sees it: the `--json` stream of a run that
ends early (Ctrl-C, SIGTERM, a reader that goes away), warnings on stderr, the live status on a
real terminal, and clear refusals of bad input. Real processes, real pipes, a real pty, and a
loopback HTTP server where a slow provider is needed."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import axoc, axoc_process
from tests.providers.servers import OPENAI_CHAT, FakeServer, Reply

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")
SLOW = """
providers:
  lab: {{kind: openai_compatible, base_url: "{url}/v1"}}
agents:
  - {{id: researcher, provider: lab, model: m1}}
  - {{id: summarizer, provider: lab, model: m2, depends_on: [researcher]}}
workflows:
  - {{id: hello, agents: [researcher, summarizer]}}
"""


def chain(tmp_path: Path, n: int) -> str:
    agents = "".join(
        f"  - {{id: a{i}, provider: echo{', depends_on: [a' + str(i - 1) + ']' if i else ''}}}\n"
        for i in range(n)
    )
    path = tmp_path / "chain.axoc.yaml"
    path.write_text(
        f"agents:\n{agents}workflows:\n  - id: long\n    agents: [{', '.join(f'a{i}' for i in range(n))}]\n",
        encoding="utf-8",
    )
    return str(path)


def start(*args: str, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "axoc", "run", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options,
    )  # fmt: skip


def wait_for_request(server: FakeServer) -> None:
    deadline = time.monotonic() + 20
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.received, "the run never reached the provider"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_json_stream_ends_with_stopped_and_output(
    tmp_path: Path, server: FakeServer, how: signal.Signals
) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=60)
    path = tmp_path / "slow.axoc.yaml"
    path.write_text(SLOW.format(url=server.url), encoding="utf-8")
    state = tmp_path / "state"
    child = start(str(path), "--json", "-i", "x", "--state-dir", str(state))
    wait_for_request(server)
    child.send_signal(how)
    out, err = child.communicate(timeout=10)
    assert child.returncode == 130, err
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["event"] == "run"
    run_id = records[0]["run_id"]
    assert [r["event"] for r in records[-2:]] == ["stopped", "output"]
    assert records[-2]["reason"] == "interrupted" and records[-2]["t"] > 0
    assert records[-1] == {"event": "output", "run_id": run_id, "stop_reason": "interrupted",
                           "exit_code": 130, "outputs": {}}  # fmt: skip
    signal_name = "Ctrl-C" if how == signal.SIGINT else "SIGTERM"
    assert f"interrupted (exit 130) by {signal_name}" in err and f"--resume {run_id}" in err
    assert "Traceback" not in err
    listing = axoc("runs", "list", "--state-dir", str(state))
    assert re.search(rf"{run_id}\s+hello\s+interrupted", listing.out)  # resumable


def test_a_reader_that_goes_away_interrupts_the_run_resumably(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # 3 records of about 100 bytes per agent: far more than a pipe holds (64 KiB)
    child = start(chain(tmp_path, 1500), "--dry-run", "--json", "--state-dir", str(state))
    assert child.stdout is not None and child.stderr is not None
    first = json.loads(child.stdout.readline())
    child.stdout.close()  # like `| head -1`
    err = child.stderr.read()
    assert child.wait(timeout=30) == 130
    assert "stdout was closed" in err and f"--resume {first['run_id']}" in err
    assert "state directory" not in err and "Traceback" not in err
    listing = axoc("runs", "list", "--state-dir", str(state))
    assert re.search(rf"{first['run_id']}\s+long\s+interrupted", listing.out)
    resumed = axoc_process("run", chain(tmp_path, 1500), "--resume", first["run_id"],
                           "--state-dir", str(state))  # fmt: skip
    assert resumed.code == 0 and "completed (exit 0); 1500 activations" in resumed.err


def test_budget_warnings_are_logged_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "warn.axoc.yaml"
    path.write_text(
        "agents:\n  - {id: a, provider: echo, token_budget: {per_call: 40, overflow_policy: warn}}"
        "\nworkflows:\n  - {id: w, agents: [a]}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(path), "--dry-run", "-i", "x" * 100, "--state-dir", str(tmp_path))
    assert result.code == 0
    assert "axoc run: warning: budget: 'a' may exceed its per_call budget (40 left)" in result.err
    assert "1 activation," in result.err  # and the summary speaks English


def test_the_live_status_moves_during_a_long_call_and_names_who_runs(
    tmp_path: Path, server: FakeServer
) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=1.2)
    path = tmp_path / "slow.axoc.yaml"
    path.write_text(SLOW.format(url=server.url), encoding="utf-8")
    leader, follower = pty.openpty()  # stderr is a terminal: the live status is drawn
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", str(path), "-i", "x", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 20)
        assert ready, "no output for 20 s"
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    child.wait(timeout=20)
    os.close(leader)
    lines = shown.decode().replace("\x1b[2K", "").split("\r")
    during = [line for line in lines if "running 1 (researcher)" in line]
    clock = {float(m) for line in during for m in re.findall(r"t (\d+\.\d)s", line)}
    assert len(clock) >= 3, during  # redrawn while the first call was out, with the time moving
    assert max(clock) >= 0.8
    assert any("running 1 (summarizer)" in line and "done 1" in line for line in lines)
    assert child.returncode == 0


def test_a_timed_out_run_says_when_it_stopped(tmp_path: Path, server: FakeServer) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=60)
    path = tmp_path / "slow.axoc.yaml"
    path.write_text(
        SLOW.format(url=server.url).replace("summarizer]}", "summarizer], timeout: 0.6}"),
        encoding="utf-8",
    )
    result = axoc("run", str(path), "--json", "-i", "x", "--state-dir", str(tmp_path))
    assert result.code == 6
    stopped = [json.loads(line) for line in result.out.splitlines()][-2]
    assert stopped["event"] == "stopped" and stopped["reason"] == "timeout"
    assert 0.55 <= stopped["t"] < 3


def test_events_a_skill_emits_are_streamed(tmp_path: Path) -> None:
    skills = str(ROOT / "examples" / "skills-lattice.axoc.yaml")
    result = axoc("run", skills, "--fire", "write-code", "--dry-run", "--json", "-i", "x",
                  "--state-dir", str(tmp_path))  # fmt: skip
    assert result.code == 0, result.err
    published = [json.loads(line) for line in result.out.splitlines()]
    published = [(r["name"], r["source"]) for r in published if r["event"] == "published"]
    assert published[0] == ("SkillFired", "write-code")
    assert ("CodeReady", "coder") in published


def test_input_that_is_not_utf8_is_refused_before_any_record(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "run", HELLO, "--dry-run", "-i", b"bad\xffbyte",
         "--state-dir", str(state)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "axoc run: -i: the input is not valid UTF-8 (byte 0xff at character 4)" in done.stderr
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())


def test_a_plan_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    plan = tmp_path / "bin.json"
    plan.write_bytes(b"\xff\xfe{}")
    result = axoc("run", str(plan), "--state-dir", str(tmp_path))
    assert result.code == 2
    assert (
        f"{plan} is neither a saved plan nor a config: not UTF-8 text (byte 0xff at offset 0)"
        in result.err
    )


def test_a_config_of_skills_only_points_to_fire(tmp_path: Path) -> None:
    path = tmp_path / "skills.axoc.yaml"
    path.write_text(
        "agents:\n  - {id: a, provider: echo}\nskills:\n  - {id: s, agents: [a], prompt: p}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(path), "--dry-run", "--state-dir", str(tmp_path))
    assert result.code == 2
    assert "this config has no workflow: fire a skill with --fire (s)" in result.err


def test_an_unknown_option_shows_the_run_usage() -> None:
    result = axoc_process("run", HELLO, "--bogus")
    assert result.code == 2
    assert result.err.startswith("usage: axoc run ")
    assert "axoc run: error: unrecognized arguments: --bogus" in result.err


def test_the_state_directory_is_found_from_the_current_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {"AXOC_STATE_DIR": ""}
    assert axoc_process("run", HELLO, "--dry-run", cwd=str(work), env=env).code == 0
    report = axoc_process("tokens", "report", cwd=str(work), env=env)
    assert report.code == 0 and "researcher" in report.out
    assert (work / ".axoc" / "runs").is_dir()


def test_runs_list_columns_line_up(tmp_path: Path) -> None:
    for _ in range(2):
        assert axoc("run", HELLO, "--dry-run", "--state-dir", str(tmp_path)).code == 0
    lines = axoc("runs", "list", "--state-dir", str(tmp_path)).out.splitlines()
    header, rows = lines[0], lines[1:]
    assert len(rows) == 2
    for row in rows:
        assert row.index("hello-world") == header.index("target")
        assert row.index("completed") == header.index("status")


def test_a_run_stopped_by_max_activations_names_who_never_ran(tmp_path: Path) -> None:
    path = tmp_path / "capped.axoc.yaml"
    path.write_text(
        "agents:\n  - {id: a, provider: echo}\n  - {id: b, provider: echo, depends_on: [a]}\n"
        "  - {id: c, provider: echo, depends_on: [b]}\n"
        "workflows:\n  - {id: w, agents: [a, b, c], max_activations: 2}\n",
        encoding="utf-8",
    )
    result = axoc("run", str(path), "--dry-run", "--state-dir", str(tmp_path))
    assert result.code == 5
    assert "max_activations (exit 5); 2 activations" in result.err
    assert "  never ran, max_activations was reached: c" in result.err


def test_the_live_status_names_as_many_agents_as_fit() -> None:
    from axoc.runtime.terminal import fitting_names as _names

    assert _names(["researcher", "writer"], 80) == "researcher, writer"
    assert _names(["researcher", "writer", "critic"], 24) == "researcher, writer +1"
    assert _names(["researcher", "writer"], 5) == ""  # not even one: the count says it
    assert _names([], 10) == ""
