"""Agents that act, on every provider, selected by config alone, through `axoc run` as a real
process: for each provider kind a loopback server speaks its wire protocol as a model would — the
first agent is offered the `emit` tool and calls it, gets the tool's result correlated with its
call, then answers; the event it published activates a second agent (an activation expression
on it), whose answer is the run's output. The servers check every request as the provider's API
would (path, key header, tools offered, the result answering the call's id), and the key never
appears in what the run prints or writes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply

KEY = "sk-e2e-0123456789abcdef0123456789abcdef"
EVENT = {"event": "DraftReady", "payload": "draft v1"}


class Model:
    """A scripted model behind one wire protocol: calls `emit` when offered it and no result
    came back yet, else answers in words. Records what it was asked and what went wrong."""

    def __init__(self, wire: str) -> None:
        self.wire = wire
        self.requests: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        body = received.json()
        with self.lock:
            self.requests.append(body)
        try:
            return WIRES[self.wire](self, received, body)
        except Exception as exc:  # the test fails on it, with what the request held
            self.problems.append(f"{type(exc).__name__}: {exc}: {body}")
            return Reply(500, {"error": {"message": "the scripted model failed"}})

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.problems.append(what)


def _openai(model: Model, received: Received, body: dict[str, Any]) -> Reply:
    model.expect(received.path.endswith("/chat/completions"), f"path {received.path}")
    key = received.headers.get("authorization")
    model.expect(key == f"Bearer {KEY}" or model.wire == "openai_compatible", f"auth {key}")
    tools = [t["function"]["name"] for t in body.get("tools", [])]
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if "emit" in tools and not results:
        call = {"id": "call_e2e", "type": "function",
                "function": {"name": "emit", "arguments": json.dumps(EVENT)}}  # fmt: skip
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        if results:
            model.expect(results[0]["tool_call_id"] == "call_e2e", f"result {results[0]}")
        message, finish = {"role": "assistant", "content": _words(body["messages"])}, "stop"
    return Reply(200, {
        "id": "chatcmpl-e2e", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    })  # fmt: skip


def _ollama(model: Model, received: Received, body: dict[str, Any]) -> Reply:
    model.expect(received.path == "/api/chat", f"path {received.path}")
    tools = [t["function"]["name"] for t in body.get("tools", [])]
    results = [m for m in body["messages"] if m["role"] == "tool"]
    message: dict[str, Any]
    if "emit" in tools and not results:  # arguments as an object, no id: as Ollama sends them
        message = {"role": "assistant", "content": "",
                   "tool_calls": [{"function": {"name": "emit", "arguments": EVENT}}]}  # fmt: skip
    else:
        if results:
            model.expect(results[0].get("tool_name") == "emit", f"result {results[0]}")
        message = {"role": "assistant", "content": _words(body["messages"])}
    return Reply(200, {
        "model": body["model"], "created_at": "2026-12-02T12:00:00Z", "message": message,
        "done": True, "done_reason": "stop", "prompt_eval_count": 40, "eval_count": 12,
    })  # fmt: skip


def _anthropic(model: Model, received: Received, body: dict[str, Any]) -> Reply:
    model.expect(received.path == "/v1/messages", f"path {received.path}")
    model.expect(received.headers.get("x-api-key") == KEY, "x-api-key")
    model.expect("anthropic-version" in received.headers, "anthropic-version")
    model.expect(isinstance(body.get("max_tokens"), int), "max_tokens")
    tools = [t["name"] for t in body.get("tools", [])]
    blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    if "emit" in tools and not results:
        content = [{"type": "tool_use", "id": "toolu_e2e", "name": "emit", "input": EVENT}]
        stop = "tool_use"
    else:
        if results:
            model.expect(results[0]["tool_use_id"] == "toolu_e2e", f"result {results[0]}")
        system = str(body.get("system") or "")  # top-level, as Anthropic wants it
        content, stop = [{"type": "text", "text": _words([{"content": system}])}], "end_turn"
    return Reply(200, {
        "id": "msg_e2e", "type": "message", "role": "assistant", "model": body["model"],
        "content": content, "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 40, "output_tokens": 12},
    })  # fmt: skip


def _gemini(model: Model, received: Received, body: dict[str, Any]) -> Reply:
    model.expect(received.path == "/v1beta/models/m1:generateContent", f"path {received.path}")
    model.expect(received.headers.get("x-goog-api-key") == KEY, "x-goog-api-key")
    model.expect("key=" not in received.path, "key in the URL")
    declared = [f["name"] for t in body.get("tools", []) for f in t["functionDeclarations"]]
    parts = [p for c in body["contents"] for p in c["parts"]]
    results = [p["functionResponse"] for p in parts if "functionResponse" in p]
    if "emit" in declared and not results:
        answer: list[dict[str, Any]] = [{"functionCall": {"name": "emit", "args": EVENT}}]
    else:
        if results:
            model.expect(results[0]["name"] == "emit", f"result {results[0]}")
        system = body.get("systemInstruction", {}).get("parts", [])
        answer = [{"text": _words([{"content": p.get("text", "")} for p in system + parts])}]
    return Reply(200, {
        "candidates": [{"content": {"role": "model", "parts": answer}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12,
                          "totalTokenCount": 52},
    })  # fmt: skip


def _words(messages: list[dict[str, Any]]) -> str:
    """The answer: which agent answered, told by its system prompt."""
    text = " ".join(str(m.get("content") or "") for m in messages)
    return "critique of the draft" if "You critique" in text else "the draft, written"


WIRES: dict[str, Callable[[Model, Received, dict[str, Any]], Reply]] = {
    "openai": _openai,
    "mistral": _openai,
    "openrouter": _openai,
    "openai_compatible": _openai,
    "ollama": _ollama,
    "anthropic": _anthropic,
    "gemini": _gemini,
}
BASE = {"openai": "/v1", "mistral": "/v1", "openrouter": "/api/v1", "openai_compatible": "/v1"}


def config(tmp_path: Path, kind: str, url: str) -> Path:
    base = url + BASE.get(kind, "")
    if kind == "openai_compatible":
        provider, entry = "local", f"{{kind: openai_compatible, base_url: '{base}'}}"
    elif kind == "ollama":
        provider, entry = "ollama", f"{{base_url: '{base}'}}"
    else:
        provider, entry = kind, f"{{base_url: '{base}', api_key: '${{E2E_KEY}}'}}"
    path = tmp_path / f"{kind}.axoc.yaml"
    path.write_text(
        f"""\
providers:
  {provider}: {entry}
agents:
  - id: writer
    provider: {provider}
    model: m1
    system_prompt: You write drafts.
    tools: [emit]
    emits: [DraftReady]
  - id: critic
    provider: {provider}
    model: m1
    system_prompt: You critique drafts.
    activation: DraftReady(writer)
workflows:
  - {{id: review, agents: [writer, critic], entry_point: writer}}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("kind", sorted(WIRES))
def test_an_agent_calls_a_tool_and_its_event_drives_another(tmp_path: Path, kind: str) -> None:
    model = Model(kind)
    with FakeServer() as server:
        server.respond = model
        path = config(tmp_path, kind, server.url)
        state = tmp_path / "state"
        done = axoc_process(
            "run", str(path), "-i", "write about lattices", "--state-dir", str(state), "--json",
            env={"E2E_KEY": KEY}, timeout=60,
        )  # fmt: skip
    assert model.problems == []
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.out.splitlines()]
    published = [e for e in events if e.get("event") == "published"]
    assert ("DraftReady", "writer") in [(e["name"], e.get("source")) for e in published]
    output = next(e for e in events if e.get("event") == "output")
    assert "critique of the draft" in json.dumps(output)
    # the writer: offered emit, called it, got its result back; the critic: no tools offered
    assert len(model.requests) == 3
    first, second, third = model.requests
    assert "tools" in first and "tools" in second
    assert "tools" not in third or not third["tools"]
    # the key is nowhere: not in what the run printed, not in the state directory
    assert KEY not in done.out + done.err
    for file in state.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file
