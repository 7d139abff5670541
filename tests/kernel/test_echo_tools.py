"""echo calls the tools it is offered, once each, with arguments built from their schemas, then
answers as it always has; with no tools its answers do not change."""

from __future__ import annotations

import json

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Message, Request, ToolCall, ToolDefinition
from axoc.kernel.toolcalls import emit_definition
from axoc.providers.echo import EchoProvider, example

LOOKUP = ToolDefinition("lookup", "Look up.", {
    "type": "object",
    "properties": {
        "query": {"type": "string"}, "limit": {"type": "integer"}, "exact": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "slow"]}, "tags": {"type": "array"},
        "where": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
        "optional": {"type": "string"},
    },
    "required": ["query", "limit", "exact", "mode", "tags", "where"],
})  # fmt: skip


def request(messages: tuple[Message, ...], tools: tuple[ToolDefinition, ...]) -> Request:
    return Request("scout", "m", messages, 4000, input_estimate=estimate_input(messages, tools),
                   tools=tools)  # fmt: skip


def test_echo_calls_each_offered_tool_once_then_answers() -> None:
    echo = EchoProvider()
    asked = (Message("user", "find it"),)
    tools = (emit_definition(("Found", "Lost")), LOOKUP)
    first = echo.complete_now(request(asked, tools))
    assert first.text == "" and first.finish_reason == "tool_calls"
    assert [(c.id, c.name) for c in first.tool_calls] == [("call_1", "emit"), ("call_2", "lookup")]
    assert json.loads(first.tool_calls[0].arguments) == {"event": "Found"}
    assert json.loads(first.tool_calls[1].arguments) == {
        "query": "echo", "limit": 0, "exact": False, "mode": "fast", "tags": [],
        "where": {"x": 0},
    }  # fmt: skip
    assert first.usage.output_tokens == sum(
        len(c.name) + len(c.arguments) for c in first.tool_calls
    )
    results = tuple(Message("tool", "ok", (), c.id, c.name) for c in first.tool_calls)
    turn = (*asked, Message("assistant", "", first.tool_calls), *results)
    second = echo.complete_now(request(turn, tools))
    assert second.tool_calls == () and second.text == "scout <- find it"
    again = (*turn, Message("assistant", "scout <- find it"), Message("user", "more"))
    assert echo.complete_now(request(again, tools)).tool_calls  # a new user turn: calls again


def test_without_tools_echo_answers_as_it_always_did() -> None:
    echo = EchoProvider()
    asked = (Message("user", "find it"),)
    plain = echo.complete_now(request(asked, ()))
    assert (plain.text, plain.finish_reason, plain.tool_calls) == ("scout <- find it", "stop", ())


def test_calls_that_do_not_fit_max_tokens_are_not_made() -> None:
    asked = (Message("user", "find it"),)
    small = request(asked, (LOOKUP,))._replace(max_tokens=10)
    answer = EchoProvider().complete_now(small)
    assert answer.tool_calls == () and answer.text == "scout <- f"


def test_example_values() -> None:
    assert example({"type": ["integer", "null"]}) == 0
    assert example({"enum": [3, 4]}) == 3
    assert example({"properties": {"a": {"type": "string"}}, "required": ["a"]}) == {"a": "echo"}
    assert example("not a schema") is None
    assert isinstance(ToolCall("i", "n", "{}"), tuple)
