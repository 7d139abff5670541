"""The turn after an agent's last tool round (`tool_choice` "none"): each wire format says the
model may call no tool while the tools stay defined — the transcript holds calls of theirs, and
Anthropic refuses `tool_use` blocks in a request without tools —, except Ollama, which has no
such setting and gets no tools. A turn that may call tools says nothing of the kind."""

from __future__ import annotations

from typing import Any

import pytest

from axoc.kernel.ports import Message, Request, ToolCall, ToolDefinition
from axoc.providers import anthropic, echo, gemini, ollama, openai

TOOL = ToolDefinition("add", "Adds.", {"type": "object", "properties": {"a": {"type": "integer"}}})
TRANSCRIPT = (
    Message("user", "add 1"),
    Message("assistant", "", (ToolCall("c1", "add", '{"a": 1}'),)),
    Message("tool", "2", tool_call_id="c1", name="add"),
)


def request(choice: str) -> Request:
    return Request("a", "m", TRANSCRIPT, 100, tools=(TOOL,), tool_choice=choice)


def bodies(choice: str) -> dict[str, dict[str, Any]]:
    r = request(choice)
    return {
        "openai": dict(openai.request_body(r, "max_tokens")),
        "anthropic": dict(anthropic.request_body(r)),
        "gemini": dict(gemini.request_body(r)),
        "ollama": dict(ollama.request_body(r)),
    }


def test_none_keeps_the_tools_and_forbids_a_call() -> None:
    sent = bodies("none")
    assert sent["openai"]["tool_choice"] == "none" and sent["openai"]["tools"]
    assert sent["anthropic"]["tool_choice"] == {"type": "none"} and sent["anthropic"]["tools"]
    config = sent["gemini"]["toolConfig"]["functionCallingConfig"]
    assert config == {"mode": "NONE"} and sent["gemini"]["tools"]
    assert "tools" not in sent["ollama"]


@pytest.mark.parametrize("wire", ["openai", "anthropic", "gemini", "ollama"])
def test_auto_says_nothing_of_a_choice(wire: str) -> None:
    sent = bodies("auto")[wire]
    assert sent["tools"]
    assert "tool_choice" not in sent and "toolConfig" not in sent


def test_echo_answers_in_words_when_it_may_call_nothing() -> None:
    fresh = Request("a", "m", (Message("user", "go"),), 100, tools=(TOOL,), tool_choice="none")
    answer = echo.EchoProvider().complete_now(fresh)
    assert answer.tool_calls == () and answer.text.startswith("a <- go")
    assert echo.EchoProvider().complete_now(fresh._replace(tool_choice="auto")).tool_calls
