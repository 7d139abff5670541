"""Memory through `axoc run` as real processes, against a scripted model behind a loopback
OpenAI-compatible server: the first run's model stores a fact with `core_memory_append` and the
second, separate run's first request carries it under `## Core Memory` in its system prompt;
a tool call over a block's limit comes back to the model as an error naming the limit; a dry
run writes no block (what it sees: tests/memory/test_core.py); `axoc memory show|edit|export` read and fix the blocks
(limits enforced, exit codes as documented); a run killed (SIGKILL) in its tool loop resumes
from its checkpointed turn though memory changed its prompt."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

FACT = "The user's name is Ada and she prefers metric units."


class Model(ScriptedModel):
    """Stores `text` in block `block` with core_memory_append when offered the tool and its
    system prompt does not hold FACT yet; otherwise answers with the tool results it got."""

    def __init__(self, block: str = "human", text: str = FACT) -> None:
        self.block, self.text = block, text
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        offered = [t["function"]["name"] for t in body.get("tools", [])]
        if "core_memory_append" in offered and FACT not in system and not results:
            arguments = json.dumps({"block": self.block, "text": self.text})
            call = {"id": "call_1", "type": "function",
                    "function": {"name": "core_memory_append", "arguments": arguments}}  # fmt: skip
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": f"done: {results}"}, "stop"
        return openai_reply(body["model"], message, finish)


def config(folder: Path, url: str, limit: int = 2000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "memo.axoc.yaml"
    path.write_text(
        f"""\
providers:
  local: {{kind: openai_compatible, base_url: '{url}/v1'}}
agents:
  - id: helper
    provider: local
    model: m1
    system_prompt: You help.
    tools: [core_memory_append, core_memory_replace, core_memory_set]
    memory:
      core:
        blocks:
          - {{label: human, limit: {limit}, description: what you know of the user}}
          - {{label: rules, value: answer briefly, read_only: true}}
workflows:
  - {{id: chat, agents: [helper]}}
""",
        encoding="utf-8",
    )
    return path


def run(path: Path, state: Path, *extra: str) -> tuple[int, str]:
    done = axoc_process(
        "run", str(path), "-i", "hello", "--state-dir", str(state), *extra, timeout=60
    )
    return done.code, done.err


def test_a_fact_stored_in_one_run_is_in_the_next_runs_system_prompt(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        first, second = Model(), Model()
        server.respond = first
        path = config(tmp_path, server.url)
        code, err = run(path, state)
        assert code == 0, err
        assert len(first.requests) == 2
        system = first.requests[0]["messages"][0]["content"]
        assert system.startswith("You help.\n\n## Core Memory\n")
        assert "<human 0/2000 characters>\n(what you know of the user)\n\n</human>" in system
        assert "block 'human' updated" in first.requests[1]["messages"][-1]["content"]
        server.respond = second
        code, err = run(path, state)
        assert code == 0, err
    system = second.requests[0]["messages"][0]["content"]
    assert (
        f"<human {len(FACT)}/2000 characters>\n(what you know of the user)\n{FACT}\n</human>"
        in system
    )
    assert len(second.requests) == 1  # it knew already: no tool call
    shown = axoc_process("memory", "show", "--state-dir", str(state))
    assert shown.code == 0 and FACT in shown.out and "agent helper:" in shown.out


def test_an_append_over_the_limit_is_an_error_the_model_sees(tmp_path: Path) -> None:
    with FakeServer() as server:
        model = Model()
        server.respond = model
        code, err = run(config(tmp_path, server.url, limit=10), tmp_path / "state")
    assert code == 0, err
    result = model.requests[1]["messages"][-1]
    assert result["role"] == "tool"
    assert (
        f"would hold {len(FACT)} characters, over its limit of 10 (it holds 0 now)"
        in result["content"]
    )
    assert not (tmp_path / "state" / "memory" / "agents" / "helper.json").exists()


def test_a_dry_run_writes_no_block(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        path = config(tmp_path, server.url)
    edited = axoc_process("memory", "edit", str(path), "--agent", "helper", "--block", "human",
                          "--value", "Ada", "--state-dir", str(state))  # fmt: skip
    assert edited.code == 0, edited.err
    before = (state / "memory" / "agents" / "helper.json").read_bytes()
    done = axoc_process(
        "run", str(path), "-i", "hi", "--dry-run", "--json", "--state-dir", str(state)
    )
    assert done.code == 0, done.err
    assert json.loads(done.out.splitlines()[-1])["outputs"]["helper"] == "helper <- hi"
    assert (state / "memory" / "agents" / "helper.json").read_bytes() == before


def test_memory_edit_enforces_limits_and_export_is_json(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = config(tmp_path, "http://127.0.0.1:9", limit=5)
    base = ("--state-dir", str(state))
    over = axoc_process("memory", "edit", str(path), "--agent", "helper", "--block", "human",
                        "--value", "too long", *base)  # fmt: skip
    assert over.code == 1 and "over its limit of 5" in over.err and "holds 0" in over.err
    value = tmp_path / "v.txt"
    value.write_text("Ada", encoding="utf-8")
    ok = axoc_process("memory", "edit", str(path), "--agent", "helper", "--block", "human",
                      "--file", str(value), *base)  # fmt: skip
    assert ok.code == 0 and "3/5 characters" in ok.out
    unknown = axoc_process("memory", "edit", str(path), "--agent", "nobody", "--block", "human",
                           "--value", "x", *base)  # fmt: skip
    assert (
        unknown.code == 2 and "no agent 'nobody'" in unknown.err and "Traceback" not in unknown.err
    )
    missing = axoc_process("memory", "edit", "--agent", "helper", "--block", "mystery",
                           "--value", "x", *base)  # fmt: skip
    assert missing.code == 2 and "give the config" in missing.err
    exported = axoc_process("memory", "export", str(path), *base)
    assert exported.code == 0, exported.err
    document = json.loads(exported.out)
    assert document["agents"]["helper"]["core"]["human"]["value"] == "Ada"
    assert document["agents"]["helper"]["core"]["rules"]["read_only"] is True
    stored = json.loads(axoc_process("memory", "export", *base).out)
    assert stored["agents"]["helper"]["core"]["human"]["limit"] == 5
    shown = axoc_process("memory", "show", str(path), "--agent", "helper", *base)
    assert "human (3/5 characters):\n    Ada" in shown.out
    assert "rules (14/2000 characters, read-only):\n    answer briefly" in shown.out


class Hangs(Model):
    """Model's first turn (the core_memory_append call); then holds every later request until
    `release` is set — the run is killed while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.waiting = threading.Event()

    def __call__(self, received: Received) -> Reply:
        if self.requests:
            with self.lock:
                self.requests.append(received.json())
            self.waiting.set()
            self.release.wait(30)
            return Reply(500, {"error": {"message": "released"}})
        return super().__call__(received)


def test_a_run_killed_mid_tool_loop_resumes_from_its_checkpointed_turn(tmp_path: Path) -> None:
    """The second turn's prompt has the memory's context in its system prompt; the resumed run
    finds that turn although the block changed since (the first turn's edit), and goes on from
    it: the tool is not called again, and the one request it sends holds the tool's result."""
    state = tmp_path / "state"
    with FakeServer() as server:
        hangs = Hangs()
        server.respond = hangs
        path = config(tmp_path, server.url)
        child = subprocess.Popen(
            [sys.executable, "-m", "axoc", "run", str(path), "-i", "hello", "--json",
             "--state-dir", str(state)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert hangs.waiting.wait(30), "the second turn was never asked"
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        finally:
            hangs.release.set()
        assert child.stdout is not None
        run_id = json.loads(child.stdout.readline())["run_id"]
        resumed = Model()
        server.respond = resumed
        code, err = run(path, state, "--resume", run_id)
        assert code == 0, err
    assert len(resumed.requests) == 1
    messages = resumed.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert "block 'human' updated" in messages[-1]["content"]
    assert "<human 0/2000 characters>" in messages[0]["content"]  # the prompt it was sent with
    stored = json.loads((state / "memory" / "agents" / "helper.json").read_text(encoding="utf-8"))
    assert stored["blocks"]["human"]["value"] == FACT  # appended once, not again on resume
