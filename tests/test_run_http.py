"""`axoc run` against real HTTP servers on loopback speaking the providers' protocols: a server
is targeted by config alone; errors, Ctrl-C and timeouts end runs cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import axoc
from tests.providers.servers import (
    OLLAMA_CHAT,
    OPENAI_BAD_KEY,
    OPENAI_CHAT,
    FakeServer,
    Received,
    Reply,
)

CHAIN = """
agents:
  - {{id: researcher, provider: {provider}, model: m1, system_prompt: "Research."}}
  - {{id: summarizer, provider: {provider}, model: m2, depends_on: [researcher]}}
workflows:
  - {{id: hello, agents: [researcher, summarizer]{extra}}}
"""


def config(tmp_path: Path, providers: str, provider: str, extra: str = "") -> str:
    path = tmp_path / "http.axoc.yaml"
    path.write_text(providers + CHAIN.format(provider=provider, extra=extra), encoding="utf-8")
    return str(path)


def test_an_openai_compatible_server_targeted_by_config_alone(
    tmp_path: Path, server: FakeServer
) -> None:
    server.script(Reply(200, OPENAI_CHAT), Reply(200, OPENAI_CHAT))
    providers = f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
    state = str(tmp_path / "state")
    result = axoc("run", config(tmp_path, providers, "lab"), "-i", "Why?", "--state-dir", state)
    answer = OPENAI_CHAT["choices"][0]["message"]["content"]  # type: ignore[index]
    assert result.code == 0, result.err
    assert result.out == answer + "\n"
    first, second = server.received
    assert first.path == second.path == "/v1/chat/completions"
    assert "authorization" not in first.headers  # no key configured, none sent
    assert first.json()["model"] == "m1" and second.json()["model"] == "m2"
    assert first.json()["messages"] == [
        {"role": "system", "content": "Research."},
        {"role": "user", "content": "Why?"},
    ]
    handoff = second.json()["messages"][-1]["content"]
    assert handoff == f"Previous agent outputs:\n[researcher]: {answer}\n\nOriginal task: Why?"
    assert all(isinstance(r.json()["max_tokens"], int) for r in server.received)
    report = json.loads(axoc("tokens", "report", "--format", "json", "--state-dir", state).out)
    assert report["usage"]["researcher"] == {"input": 19, "output": 10, "total": 29}


def test_ollama_targeted_by_config_alone(tmp_path: Path, server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT), Reply(200, OLLAMA_CHAT))
    providers = f"providers:\n  ollama:\n    base_url: {server.url}\n"
    result = axoc(
        "run", config(tmp_path, providers, "ollama"), "-i", "Hi", "--state-dir", str(tmp_path)
    )
    assert result.code == 0, result.err
    assert result.out == "Hello! How are you today?\n"
    assert [r.path for r in server.received] == ["/api/chat", "/api/chat"]
    assert server.received[0].json()["stream"] is False


def test_a_provider_error_fails_the_run_without_leaking_the_key(
    tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_KEY", "sk-test-4d8c2a9b1f7e9f2c")
    server.script(Reply(401, OPENAI_BAD_KEY))
    providers = (
        f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
        "    api_key: ${LAB_KEY}\n"
    )
    path = config(tmp_path, providers, "lab")
    result = axoc("run", path, "-i", "x", "--json", "--state-dir", str(tmp_path))
    assert result.code == 1
    assert server.received[0].headers["authorization"] == "Bearer sk-test-4d8c2a9b1f7e9f2c"
    failed = [json.loads(line) for line in result.out.splitlines() if '"failed"' in line]
    assert failed[0]["agent"] == "researcher" and "FatalProviderError" in failed[0]["error"]
    skipped = [json.loads(line)["agent"] for line in result.out.splitlines() if '"skipped"' in line]
    assert skipped == ["summarizer"]
    assert "sk-test-4d8c2a9b1f7e9f2c" not in result.out + result.err
    assert len(server.received) == 1


def test_ctrl_c_ends_the_run_with_130(tmp_path: Path, server: FakeServer) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=60)
    providers = f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", config(tmp_path, providers, "lab"), "-i", "x",
         "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not server.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.received, "the run never reached the provider"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=10)
    assert child.returncode == 130
    assert "interrupted" in err and "Traceback" not in err


def test_a_workflow_timeout_exits_6(tmp_path: Path, server: FakeServer) -> None:
    server.default = Reply(200, OPENAI_CHAT, hang=60)
    providers = f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
    started = time.monotonic()
    result = axoc(
        "run",
        config(tmp_path, providers, "lab", ", timeout: 0.5"),
        "-i",
        "x",
        "--state-dir",
        str(tmp_path),
    )
    assert result.code == 6
    assert time.monotonic() - started < 5
    assert "timeout (exit 6)" in result.err


def test_a_failed_run_says_which_agent_failed_and_why(tmp_path: Path, server: FakeServer) -> None:
    server.script(Reply(401, OPENAI_BAD_KEY))
    providers = f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
    result = axoc(
        "run", config(tmp_path, providers, "lab"), "-i", "x", "--state-dir", str(tmp_path)
    )
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[1].startswith("  researcher failed: FatalProviderError: ")
    assert lines[2] == "  skipped, as they could no longer run: summarizer"


def lab(tmp_path: Path, server: FakeServer) -> str:
    server.respond = lambda received: Reply(200, OPENAI_CHAT)
    providers = f"providers:\n  lab:\n    kind: openai_compatible\n    base_url: {server.url}/v1\n"
    return config(tmp_path, providers, "lab")


def test_every_turn_is_checkpointed_privately_in_its_run_until_it_ends(
    tmp_path: Path, server: FakeServer
) -> None:
    """Other runs of the state directory leave a run's checkpoints alone; a run killed after
    the researcher answered has its checkpoint, private, in its own folder; resumed, it asks
    only the summarizer, and once it ends its checkpoints are gone."""
    import stat

    from axoc.kernel.checkpoint import CheckpointStore

    path, state = lab(tmp_path, server), tmp_path / "state"
    for n in range(3):
        assert axoc("run", path, "-i", f"q{n}", "--state-dir", str(state)).code == 0
    ended = sorted(state.glob("runs/*"))
    assert [sorted(p.name for p in f.iterdir()) for f in ended] == [
        ["journal.jsonl", "lock", "plan.json"]
    ] * 3  # each run's checkpoints went when it ended
    server.respond = lambda received: Reply(
        200, OPENAI_CHAT, hang=60 if received.json()["model"] == "m2" else 0
    )
    before = len(server.received)
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", path, "-i", "q3", "--state-dir", str(state)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while [r.json()["model"] for r in server.received[before:]] != ["m1", "m2"]:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    (folder,) = set(state.glob("runs/*")) - set(ended)
    root = folder / "checkpoints"
    store = CheckpointStore(root)
    loaded = store.load("researcher")
    assert loaded.warnings == [] and [c.version for c in loaded.checkpoints] == [1]
    latest = loaded.checkpoints[0]
    answer = OPENAI_CHAT["choices"][0]["message"]["content"]  # type: ignore[index]
    assert (latest.run, latest.seq, latest.turn, latest.final) == (folder.name, 1, 1, True)
    assert [(m.role, m.content) for m in latest.transcript] == [
        ("system", "Research."), ("user", "q3"), ("assistant", answer)
    ]  # fmt: skip
    assert latest.state["status"] == "done" and latest.state["kind"] == "entry"
    assert latest.usage == latest.cumulative  # the agent's one turn in this run
    assert stat.S_IMODE((store.folder("researcher") / f"{1:016}.json").stat().st_mode) == 0o600
    for directory in (store.folder("researcher"), root, folder):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert store.load("summarizer").checkpoints == []  # its call was in flight
    assert not (state / "agents").exists()  # nothing is shared between runs any more

    server.respond = lambda received: Reply(200, OPENAI_CHAT)
    calls = len(server.received)
    resumed = axoc("run", path, "--resume", folder.name, "--state-dir", str(state))
    assert resumed.code == 0, resumed.err
    assert [r.json()["model"] for r in server.received[calls:]] == ["m2"]  # summarizer only
    assert not root.exists()
    report = axoc("tokens", "report", "--run", folder.name, "--format", "json",
                  "--state-dir", str(state))  # fmt: skip
    usage = json.loads(report.out)["usage"]["researcher"]
    assert list(latest.usage) == [usage["input"], usage["output"]]  # charged once, as answered


def test_a_checkpoint_refused_mid_run_stops_the_run_and_loses_nothing(
    tmp_path: Path, server: FakeServer
) -> None:
    path, state = lab(tmp_path, server), tmp_path / "state"

    def block(received: Received) -> Reply:
        if received.json()["model"] == "m2":  # the run's folder exists by now
            (folder,) = state.glob("runs/*")
            BLOCKED.append(folder / "checkpoints" / "summarizer")
            BLOCKED[0].write_text("a file where summarizer's checkpoints go", encoding="utf-8")
        return Reply(200, OPENAI_CHAT)

    BLOCKED: list[Path] = []
    server.respond = block
    result = axoc("run", path, "-i", "q", "--state-dir", str(state))
    (folder,) = state.glob("runs/*")
    blocked = BLOCKED[0]
    assert result.code == 1, result.err
    assert result.err.startswith(f"axoc run {folder.name}: stopped, the state directory refused")
    assert "cannot write a checkpoint" in result.err and f"--resume {folder.name}" in result.err
    assert "Traceback" not in result.err and result.out == ""
    shown = axoc("runs", "show", folder.name, "--state-dir", str(state))
    assert "status: interrupted" in shown.out and "researcher: completed" in shown.out
    blocked.unlink()
    server.respond = lambda received: Reply(200, OPENAI_CHAT)
    calls = len(server.received)
    resumed = axoc("run", path, "--resume", folder.name, "--state-dir", str(state))
    assert resumed.code == 0, resumed.err
    assert [r.json()["model"] for r in server.received[calls:]] == ["m2"]  # summarizer only
