"""MCP tools through `axoc run` as a real process: a scripted model behind a loopback
OpenAI-compatible server calls MCP tools of real stdio servers (the shipped example and a
test server); the next request carries their results. Also: a server crashing mid-call (a tool
error, the run completes), a rug pull (the changed tool refused), a server that does not start
(exit 2, code `tool`, no traceback), a resume whose tool definitions changed (refused, code
`tool_changed`), SIGTERM stopping the run and its servers, secrets kept out of the plan, the
journal and the messages, the example config's dry run, and `axoc check` on such configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

HERE = Path(__file__).parent
SERVER = str(HERE / "mcp_test_server.py")
EXAMPLE = ROOT / "examples" / "tools" / "mcp_server.py"
SECRET = "sk-mcp-secret-7781"

Turn = list[tuple[str, dict[str, Any]]]  # the calls of one model turn: (tool, arguments)


class Model(ScriptedModel):
    """Makes the scripted turns of tool calls, one a request, then answers with every result it
    was sent. `hang_at`: the request number (from 1) that hangs instead (the run is killed)."""

    def __init__(self, turns: list[Turn], hang_at: int | None = None) -> None:
        self.turns = turns
        self.hang_at = hang_at
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, count = self.record(received)
        if count == self.hang_at:
            return Reply(200, b"", hang=60)
        results = [m for m in body["messages"] if m["role"] == "tool"]
        done = len({m["tool_call_id"].split("_")[1] for m in results})  # turns answered
        message: dict[str, Any]
        if done < len(self.turns):
            calls = [
                {"id": f"call_{done}_{n}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(arguments)}}
                for n, (name, arguments) in enumerate(self.turns[done])
            ]  # fmt: skip
            message, finish = (
                {"role": "assistant", "content": None, "tool_calls": calls},
                "tool_calls",
            )
        else:
            said = " | ".join(f"{m['tool_call_id']}: {m['content']}" for m in results)
            message, finish = {"role": "assistant", "content": f"results: {said}"}, "stop"
        return openai_reply(body["model"], message, finish)

    def results(self, request: int = -1) -> dict[str, str]:
        messages = self.requests[request]["messages"]
        return {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}


def errors(events: list[dict[str, Any]]) -> dict[str, bool]:
    """Call id → whether its result was an error, from the run's `tool` events."""
    return {e["id"]: e["error"] for e in events if e.get("event") == "tool"}


def config(folder: Path, url: str, tools: list[str], servers: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mcp.axoc.yaml"
    path.write_text(
        f"""\
providers:
  local: {{kind: openai_compatible, base_url: '{url}/v1'}}
agents:
  - id: user
    provider: local
    model: m1
    system_prompt: You use tools.
    tools: {json.dumps(tools)}
workflows:
  - {{id: use, agents: [user]}}
{extra}mcp_servers:
{servers}""",
        encoding="utf-8",
    )
    return path


def server(name: str, *args: str, env: str = "{}") -> str:
    listed = json.dumps([SERVER, *args] if not args or args[0] != "example" else [str(EXAMPLE)])
    return (f"  - {{name: {name}, transport: stdio, command: '{sys.executable}', "
            f"args: {listed}, env: {env}}}\n")  # fmt: skip


def run(path: Path, state: Path, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
    done = axoc_process(
        "run", str(path), "-i", "use the tools", "--state-dir", str(state), "--json", *extra,
        timeout=180, env={"MCP_SECRET": SECRET},
    )  # fmt: skip
    return done.code, [json.loads(line) for line in done.out.splitlines()], done.err


def test_mcp_tools_round_trip_and_secrets_stay_out(tmp_path: Path) -> None:
    model = Model([[("mcp__text__word_count", {"text": "the lattice decays"}),
                    ("add", {"a": 2, "b": 3}), ("mcp__t__ok", {"text": "hi"})]])  # fmt: skip
    tools = ["mcp__text__word_count", "add", "mcp__t__ok"]
    servers = server("text", "example") + server("t", env="{SECRET: '${MCP_SECRET}'}")
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path / "p", fake.url, tools, servers)
        code, events, err = run(path, tmp_path / "state")
    assert code == 0, err
    offered = sorted(t["function"]["name"] for t in model.requests[0]["tools"])
    assert offered == sorted(tools)
    assert model.results() == {
        "call_0_0": "3 words, 1 lines, 18 characters",
        "call_0_1": "5.0",
        "call_0_2": "ok: hi",
    }
    assert errors(events) == {"call_0_0": False, "call_0_1": False, "call_0_2": False}
    assert "ok: hi" in events[-1]["outputs"]["user"]
    assert "not executed by axoc run yet" not in err
    (folder,) = (tmp_path / "state" / "runs").iterdir()
    plan = (folder / "plan.json").read_text(encoding="utf-8")
    journal = (folder / "journal.jsonl").read_text(encoding="utf-8")
    assert '"env":{"SECRET":"${MCP_SECRET}"}' in plan
    assert SECRET not in plan + journal + err + json.dumps(events)
    (record,) = [json.loads(line) for line in journal.splitlines() if '"k":"tools"' in line]
    assert sorted(record["digests"]) == sorted(tools)
    assert all(d.startswith("sha256:") for d in record["digests"].values())


def test_a_server_crashing_mid_call_is_a_tool_error_and_the_run_completes(tmp_path: Path) -> None:
    model = Model([[("mcp__t__crash", {"text": "x"})], [("mcp__t__ok", {"text": "y"})]])
    servers = server("t", env="{SECRET: '${MCP_SECRET}'}")
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path, fake.url, ["mcp__t__crash", "mcp__t__ok"], servers)
        code, events, err = run(path, tmp_path / "state")
    assert code == 0, err
    results = model.results()
    assert "MCP server 't'" in results["call_0_0"]
    assert "dying with (redacted)" in results["call_0_0"]
    assert results["call_1_0"].startswith("MCP server 't' is not running")
    assert errors(events) == {"call_0_0": True, "call_1_0": True}
    assert events[-1]["stop_reason"] == "completed"
    assert SECRET not in json.dumps(model.requests) + err


def test_a_rug_pull_is_refused_and_the_run_goes_on(tmp_path: Path) -> None:
    model = Model([[("greet", {"name": "Ada"})], [("greet", {"name": "Ada"})]])
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path, fake.url, ["greet"], server("rug", "rug"))
        code, events, err = run(path, tmp_path / "state")
    assert code == 0, err
    assert model.results() == {
        "call_0_0": "hello Ada",
        "call_1_0": "the MCP tool 'greet' is refused: its definition changed since the run "
                    "started (server 'rug' now describes it differently)",
    }  # fmt: skip
    assert errors(events) == {"call_0_0": False, "call_1_0": True}


def test_a_server_that_does_not_start_refuses_the_run(tmp_path: Path) -> None:
    model = Model([])
    servers = server("broken", "fail", env="{SECRET: '${MCP_SECRET}'}")
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path, fake.url, ["mcp__broken__ok"], servers)
        code, events, err = run(path, tmp_path / "state")
    assert code == 2
    assert events[-1]["event"] == "error" and events[-1]["code"] == "tool"
    assert events[-1]["message"].startswith(f"MCP server 'broken' ('{sys.executable}'): ")
    assert "cannot start: the token (redacted) was refused" in err
    assert "Traceback" not in err and SECRET not in err + json.dumps(events)
    assert model.requests == []  # nothing was sent


def wait_for(condition: Callable[[], bool], what: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert child.poll() is None, (child.stderr.read() if child.stderr else b"").decode()
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_resume_whose_tool_definitions_changed_is_refused(tmp_path: Path) -> None:
    description = tmp_path / "description.txt"
    description.write_text("Describe.", encoding="utf-8")
    model = Model([[("mcp__t__ok", {"text": "a"})], [("mcp__t__describe", {})]], hang_at=2)
    state = tmp_path / "state"
    servers = server("t", env=f"{{DESCRIPTION_FILE: '{description}'}}")  # a literal value
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path / "p", fake.url, ["mcp__t__ok", "mcp__t__describe"], servers)
        command = [sys.executable, "-m", "axoc", "run", str(path), "-i", "x", "--state-dir",
                   str(state)]  # fmt: skip
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: len(model.requests) >= 2, "the run never asked its second turn", child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        (run_id,) = [p.name for p in (state / "runs").iterdir()]
        plan = (state / "runs" / run_id / "plan.json").read_text(encoding="utf-8")
        assert '"env":{"DESCRIPTION_FILE":"(redacted)"}' in plan  # written without a ${VAR}
        description.write_text("Describe, and more.", encoding="utf-8")
        code, events, err = run(path, state, "--resume", run_id)
        assert code == 2 and events[-1]["code"] == "tool_changed"
        assert f"cannot resume {run_id}: the definition of MCP tool 'mcp__t__describe' " in err
        description.write_text("Describe.", encoding="utf-8")
        code, events, err = run(path, state, "--resume", run_id)
    assert code == 0, err
    assert model.results()["call_1_0"] == "described"
    assert errors(events) == {"call_1_0": False}  # the resumed turn: call_0_0 was replayed


def test_sigterm_stops_the_run_and_its_servers(tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    model = Model([[("mcp__t__ok", {"text": "a"})]], hang_at=1)
    with FakeServer() as fake:
        fake.respond = model
        path = config(tmp_path, fake.url, ["mcp__t__ok"],
                      server("t", env=f"{{PID_FILE: '{pid_file}'}}"))  # fmt: skip
        command = [sys.executable, "-m", "axoc", "run", str(path), "-i", "x", "--state-dir",
                   str(tmp_path / "state")]  # fmt: skip
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: len(model.requests) >= 1, "the run never asked the model", child)
        pid = int(pid_file.read_text(encoding="utf-8"))
        os.kill(pid, 0)  # the server runs
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=60) == 130
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the MCP server {pid} outlived the run")


def test_the_example_config_runs_dry_with_its_server(tmp_path: Path) -> None:
    path = ROOT / "examples" / "tools" / "mcp.axoc.yaml"
    venv = str(Path(sys.executable).parent)  # `command: python3` is this Python
    done = axoc_process(
        "run", str(path), "--dry-run", "--json", "--state-dir", str(tmp_path / "state"),
        "-i", "count", timeout=180, env={"PATH": f"{venv}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.out.splitlines()]
    called = {e["name"]: e["error"] for e in events if e.get("event") == "tool"}
    assert called == {"mcp__text__word_count": False, "mcp__text__add": False}


def test_check_warns_on_bare_names_only(tmp_path: Path) -> None:
    path = config(tmp_path, "http://127.0.0.1:9", ["word_count", "mcp__text__add"],
                  server("text", "example"))  # fmt: skip
    done = axoc_process("check", str(path))
    assert done.code == 0
    assert "[AX302]" in done.out and "tool 'word_count' of agent 'user'" in done.out
    assert "AX208" not in done.out and done.out.endswith("0 errors, 1 warning in 1 file\n")


def test_one_agent_calls_a_wasm_an_mcp_and_a_file_tool_in_one_run(tmp_path: Path) -> None:
    import wasmtime

    project = tmp_path / "p"
    project.mkdir()
    wat = (ROOT / "examples" / "tools" / "echo.wat").read_text(encoding="utf-8")
    (project / "echo.wasm").write_bytes(wasmtime.wat2wasm(wat))
    (project / "notes.txt").write_text("theta is 0.5\n", encoding="utf-8")
    wasm = (
        "tools:\n  - {id: echo, kind: wasm, module: echo.wasm, description: Echo.,\n"
        "     parameters: {type: object}}\n"
    )
    model = Model([[("echo", {"text": "hi"}), ("mcp__text__add", {"a": 1, "b": 2}),
                    ("read_file", {"path": "notes.txt"})]])  # fmt: skip
    with FakeServer() as fake:
        fake.respond = model
        tools = ["echo", "mcp__text__add", "read_file"]
        path = config(project, fake.url, tools, server("text", "example"), wasm)
        code, events, err = run(path, tmp_path / "state")
    assert code == 0, err
    offered = sorted(t["function"]["name"] for t in model.requests[0]["tools"])
    assert offered == sorted(tools)
    results = model.results()
    assert json.loads(results["call_0_0"]) == {"echo": {"text": "hi"}}
    assert results["call_0_1"] == "3.0"
    assert results["call_0_2"] == "theta is 0.5\n"
    assert errors(events) == {"call_0_0": False, "call_0_1": False, "call_0_2": False}


def test_an_unset_variable_of_a_server_refuses_the_run_before_its_record(tmp_path: Path) -> None:
    servers = server("t", env="{SECRET: '${MCP_NEVER_SET_VARIABLE}'}")
    path = config(tmp_path, "http://127.0.0.1:9", ["mcp__t__ok"], servers)
    code, events, err = run(path, tmp_path / "state")
    assert code == 2 and events[-1]["code"] == "tool" and "Traceback" not in err
    assert events[-1]["message"] == (
        "MCP server 't': env SECRET: the environment variable MCP_NEVER_SET_VARIABLE is not set"
    )
    runs = tmp_path / "state" / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # nothing to undo
