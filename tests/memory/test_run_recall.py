"""Semantic memory through `axoc run` as real processes, with the real model and no network but
a loopback OpenAI-compatible server: what an agent answered in one run is recalled in the next,
separate run — passively, under `## Relevant memory` in the first request's system prompt, and
through `recall_search` and `recall_timeframe` calls; `axoc memory show` counts the memories; a
run that needs semantic memory without the `axoc[memory]` extra is refused (exit 2), naming the
install command, before anything is sent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

CODE = "The launch code word is PERIWINKLE."


class Model(ScriptedModel):
    """With `calls`, calls each (name, arguments) once before answering; answers `answer`, or
    the tool results it got."""

    def __init__(self, answer: str = "", calls: tuple[tuple[str, dict[str, Any]], ...] = ()):
        self.answer, self.calls = answer, calls
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        if self.calls and not results:
            calls = [
                {"id": f"call_{n}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(arguments)}}
                for n, (name, arguments) in enumerate(self.calls)
            ]  # fmt: skip
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": self.answer or " || ".join(results)}
            finish = "stop"
        return openai_reply(body["model"], message, finish)


def config(folder: Path, url: str) -> Path:
    path = folder / "recall.axoc.yaml"
    path.write_text(
        f"""\
providers:
  local: {{kind: openai_compatible, base_url: '{url}/v1'}}
agents:
  - id: keeper
    provider: local
    model: m1
    tools: [recall_search, recall_timeframe]
workflows:
  - {{id: ask, agents: [keeper]}}
""",
        encoding="utf-8",
    )
    return path


def run(path: Path, state: Path, text: str) -> tuple[int, str]:
    done = axoc_process("run", str(path), "-i", text, "--state-dir", str(state), timeout=120)
    return done.code, done.err


def test_what_one_run_answered_is_recalled_in_the_next(tmp_path: Path) -> None:
    state = tmp_path / "state"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    with FakeServer() as server:
        first = Model(answer=f"Noted. {CODE}")
        server.respond = first
        path = config(tmp_path, server.url)
        code, err = run(path, state, "Please remember the launch code word: PERIWINKLE.")
        assert code == 0, err
        assert "## Relevant memory" not in json.dumps(first.requests[0])  # nothing stored yet
        calls = (("recall_search", {"query": "launch code word", "k": 50}),
                 ("recall_timeframe", {"date": today}))  # fmt: skip
        second = Model(calls=calls)
        server.respond = second
        code, err = run(path, state, "What was the launch code word?")
        assert code == 0, err
    system = second.requests[0]["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("## Relevant memory\n")
    assert CODE in system["content"]
    searched, listed = (m["content"] for m in second.requests[1]["messages"] if m["role"] == "tool")
    assert CODE in searched and "(score " in searched
    assert searched.count("\n") == 0  # one memory per line; one is stored (k 50 is clamped)
    assert CODE in listed and listed.startswith(f"[{today} ")
    shown = axoc_process("memory", "show", "--state-dir", str(state))
    assert shown.code == 0 and "agent keeper:\n  semantic memories: 2" in shown.out, shown.out


MISSING = """
import sys
sys.modules["onnxruntime"] = None  # as if the axoc[memory] extra were not installed
from axoc.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_run_needing_semantic_memory_without_the_extra_is_refused(tmp_path: Path) -> None:
    with FakeServer() as server:
        model = Model(answer="never")
        server.respond = model
        path = config(tmp_path, server.url)
        done = subprocess.run(
            [sys.executable, "-c", MISSING, "run", str(path), "--state-dir", str(tmp_path / "s")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'axoc[memory]'" in done.stderr and "Traceback" not in done.stderr
    assert model.requests == []
