"""examples/tools/wasm-emit.axoc.yaml end to end: `axoc run` as a real process, its provider a
loopback OpenAI-compatible model (LLM_BASE_URL, as the example documents). The counter's model
calls word_count (examples/tools/word_count.wat, loaded as WAT by wasmtime) on the input, then
emit Counted with the count; the reporter is activated by that event and its request carries
the counter's answer. Also word_count itself, compiled at test time with wasmtime's wat2wasm
into a binary module, on texts with escapes, non-ASCII and many words."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from axoc.kernel.ports import ToolResult
from axoc.kernel.table import ToolLimits, ToolSpec
from axoc.tools import wasm
from tests.conftest import ROOT
from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply

EXAMPLE = ROOT / "examples" / "tools" / "wasm-emit.axoc.yaml"
WAT = ROOT / "examples" / "tools" / "word_count.wat"
TEXT = "the quick brown fox jumps over the lazy dog"


class Model(ScriptedModel):
    """The counter (offered tools): word_count, then emit with its result, then an answer.
    The reporter (no tools): an answer quoting what it was handed."""

    def __init__(self) -> None:
        super().__init__()

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "tool_calls"
        if not body.get("tools"):
            user = body["messages"][-1]["content"]
            message["content"], finish = f"report: {user}", "stop"
        elif not results:
            message["tool_calls"] = [self.call("word_count", {"text": TEXT})]
        elif len(results) == 1:
            payload = {"event": "Counted", "payload": results[0]}
            message["tool_calls"] = [self.call("emit", payload)]
        else:
            message["content"], finish = f"counted: {results[0]}", "stop"
        return openai_reply(body["model"], message, finish)

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        n = len(self.requests)
        return {"id": f"call_{n}", "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip


def test_the_example_counts_emits_and_the_reporter_reacts(tmp_path: Path) -> None:
    model = Model()
    with FakeServer() as server:
        server.respond = model
        done = axoc_process(
            "run", str(EXAMPLE), "-i", TEXT, "--state-dir", str(tmp_path / "state"), "--json",
            env={"LLM_BASE_URL": server.url + "/v1"}, timeout=60,
        )  # fmt: skip
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.out.splitlines()]
    tools = [(e["name"], e["error"]) for e in events if e.get("event") == "tool"]
    assert tools == [("word_count", False), ("emit", False)]
    published = [e["name"] for e in events if e.get("event") == "published"]
    assert "Counted" in published
    activated = [e["agent"] for e in events if e.get("event") == "activated"]
    assert activated == ["counter", "reporter"]
    word_count_result = [m["content"] for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert word_count_result == ['{"words": 9}']
    reporter = events[-1]["outputs"]["reporter"]
    assert reporter.startswith("report: ") and 'counted: {"words": 9}' in reporter


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("one", 1),
        ("  spaced   out  ", 2),
        ("lines\nand\ttabs\r\nmixed", 4),
        ('a "quoted" word and a \\ backslash', 7),
        ("héllo wörld — ünïcode", 4),
        ("w " * 50_000, 50_000),
    ],
)
def test_word_count_compiled_with_wat2wasm(tmp_path: Path, text: str, words: int) -> None:
    binary = tmp_path / "word_count.wasm"
    binary.write_bytes(wasmtime.wat2wasm(WAT.read_text(encoding="utf-8")))
    spec = ToolSpec(
        "word_count", "wasm", binary.name, "", {"type": "object"}, ToolLimits(10**8, 16, 5000)
    )
    tool = wasm.load(spec, tmp_path)

    async def go() -> ToolResult:
        return await tool.run({"text": text})

    result = asyncio.run(go())
    assert (json.loads(result.content), result.is_error) == ({"words": words}, False)
    assert len(text.split()) == words


def test_word_count_refuses_other_arguments(tmp_path: Path) -> None:
    spec = ToolSpec(
        "word_count", "wasm", str(WAT), "", {"type": "object"}, ToolLimits(10**8, 16, 5000)
    )
    tool = wasm.load(spec, Path("/"))

    async def go() -> ToolResult:
        return await tool.run({"count": 3})

    result = asyncio.run(go())
    assert result.is_error and "exited with code 2" in result.content


def test_check_accepts_the_wat_module_and_names_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "bad.wat").write_text("(module (func $f (unknown_instr)))", encoding="utf-8")
    config = tmp_path / "t.axoc.yaml"
    config.write_text(
        f"tools:\n  - {{id: good, module: '{WAT}'}}\n  - {{id: bad, module: bad.wat}}\n",
        encoding="utf-8",
    )
    done = axoc_process("check", str(config))
    assert done.code == 1
    assert "module 'bad.wat' of tool 'bad' is not a valid WAT (WebAssembly text) module" in done.out
    assert "'good'" not in done.out
