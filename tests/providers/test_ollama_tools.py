"""Tool calling on the Ollama `/api/chat` adapter against a real loopback server: arguments arrive
as objects and without ids (made up, unique per answer), results go back as `tool` messages
with `tool_name`; sampling in `options`; list_models from `/api/tags`; bad answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    ProviderError,
    Request,
    TransientProviderError,
)
from axoc.providers.ollama import OllamaProvider
from tests.providers.recorded import (
    OLLAMA_TAGS,
    OLLAMA_TOOL_CALLS,
    QUESTION,
    TOOLS,
    copied,
    round_two,
)
from tests.providers.servers import (
    OLLAMA_CHAT,
    OLLAMA_NOT_FOUND,
    FakeServer,
    Reply,
    complete,
    make_request,
    unused_port,
)


def request(**changes: object) -> Request:
    return make_request(**{"agent": "a", "model": "llama3.2", "messages": QUESTION,
                           "tools": TOOLS, "max_tokens": 512, **changes})  # fmt: skip


def provider(server: FakeServer) -> OllamaProvider:
    return OllamaProvider(server.url)


def with_calls(*calls: dict[str, Any], **message: Any) -> dict[str, Any]:
    answer = copied(OLLAMA_TOOL_CALLS)
    answer["message"]["tool_calls"] = list(calls)
    answer["message"].update(message)
    return answer


def failure(server: FakeServer, reply: Reply) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(provider(server), request())
    return caught.value


def test_two_rounds_of_parallel_tool_calls(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_TOOL_CALLS), Reply(200, OLLAMA_CHAT))
    first = complete(provider(server), request(temperature=0.0, top_p=0.5))
    assert (first.text, first.finish_reason) == ("", "tool_calls")
    assert first.usage == (122, 33, 0, 0)
    weather, clock = first.tool_calls
    assert len({weather.id, clock.id}) == 2  # made up: Ollama sent none
    assert json.loads(weather.arguments) == {"location": "Paris, FR", "unit": "celsius"}
    assert (clock.name, json.loads(clock.arguments)) == ("get_time", {"timezone": "Europe/Pari"})
    sent = server.received[0].json()
    assert sent["options"] == {"num_predict": 512, "temperature": 0.0, "top_p": 0.5}
    assert sent["tools"] == [
        {"type": "function",
         "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in TOOLS
    ]  # fmt: skip
    complete(provider(server), request(messages=round_two("", first.tool_calls)))
    assert server.received[1].json()["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What's the weather like in Paris, and what time is it there?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather",
                          "arguments": {"location": "Paris, FR", "unit": "celsius"}}},
            {"function": {"name": "get_time", "arguments": {"timezone": "Europe/Pari"}}},
        ]},
        {"role": "tool", "content": '{"temperature": 14, "unit": "celsius"}',
         "tool_name": "get_weather"},
        {"role": "tool", "content": "unknown time zone: Europe/Pari", "tool_name": "get_time"},
    ]  # fmt: skip


def test_json_mode_is_format_json(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT))
    complete(provider(server), request(response_format="json", tools=(), max_tokens=None,
                                       temperature=None))  # fmt: skip
    sent = server.received[0].json()
    assert sent["format"] == "json"
    assert "options" not in sent and "tools" not in sent


def test_ids_ollama_sends_are_kept(server: FakeServer) -> None:
    calls = [{"id": "call_x1", "function": {"name": "get_time", "arguments": {}}},
             {"id": "call_x2", "function": {"name": "get_time", "arguments": {}}}]  # fmt: skip
    server.script(Reply(200, with_calls(*calls)))
    assert [c.id for c in complete(provider(server), request()).tool_calls] == [
        "call_x1",
        "call_x2",
    ]


def test_a_call_without_arguments_has_an_empty_object(server: FakeServer) -> None:
    server.script(Reply(200, with_calls({"function": {"name": "get_time"}})))
    [call] = complete(provider(server), request()).tool_calls
    assert call.arguments == "{}"


@pytest.mark.parametrize(
    ("calls", "words"),
    [(({"id": "a", "function": {"name": "f", "arguments": {}}},
       {"id": "a", "function": {"name": "g", "arguments": {}}}), "tool call 2 repeats the id"),
     (({"function": {"arguments": {}}},), "is missing, not a string"),
     (({"function": {"name": "f", "arguments": [1, 2]}},), "is not an object")],
    ids=["duplicate-id", "no-name", "arguments-a-list"],
)  # fmt: skip
def test_bad_tool_calls_are_invalid(
    server: FakeServer, calls: tuple[dict[str, Any], ...], words: str
) -> None:
    error = failure(server, Reply(200, with_calls(*calls)))
    assert isinstance(error, InvalidResponse) and words in str(error), error


def test_a_length_answer_mid_tool_call_is_refused(server: FakeServer) -> None:
    answer = copied(OLLAMA_TOOL_CALLS, done_reason="length")
    error = failure(server, Reply(200, answer))
    assert type(error) is FatalProviderError and "in the middle of tool call" in str(error)


def test_list_models(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_TAGS))
    assert asyncio.run(list_models(provider(server))) == ["deepseek-r1:latest", "llama3.2:latest"]
    assert (server.received[0].method, server.received[0].path) == ("GET", "/api/tags")
    server.script(Reply(404, OLLAMA_NOT_FOUND))
    with pytest.raises(FatalProviderError, match="not found"):
        asyncio.run(list_models(provider(server)))
    port = unused_port()
    with pytest.raises(TransientProviderError, match=f"127.0.0.1:{port}/api/tags") as caught:
        asyncio.run(list_models(OllamaProvider(f"http://127.0.0.1:{port}")))
    assert "ConnectionRefusedError" in str(caught.value)


async def list_models(adapter: OllamaProvider) -> list[str]:
    try:
        return await adapter.list_models()
    finally:
        await adapter.aclose()


def test_unknown_fields_beside_calls_are_ignored(server: FakeServer) -> None:
    call = {"function": {"index": 0, "name": "get_time", "arguments": {}}, "brand_new": 1}
    server.script(Reply(200, with_calls(call, thinking="hmm")))
    [found] = complete(provider(server), request()).tool_calls
    assert (found.name, found.arguments) == ("get_time", "{}")
