"""Tool calling on the OpenAI chat-completions adapter against a real loopback server: a two-round
conversation with parallel calls (one `tool` message per call id), cached-token usage,
list_models, and the bad answers a server can send beside tool calls."""

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
from axoc.providers import body
from axoc.providers.openai import OpenAIProvider
from tests.providers.recorded import (
    OPENAI_CACHED_USAGE,
    OPENAI_MODELS,
    OPENAI_TOOL_CALLS,
    QUESTION,
    TOOLS,
    copied,
    round_two,
)
from tests.providers.servers import (
    OPENAI_BAD_KEY,
    OPENAI_CHAT,
    FakeServer,
    Reply,
    complete,
    make_request,
    unused_port,
)
from tests.providers.test_openai import KEY, assert_no_secret

CALLS = "choices.0.message.tool_calls"


def request(**changes: object) -> Request:
    return make_request(**{"agent": "a", "model": "gpt-4o-mini", "messages": QUESTION,
                           "tools": TOOLS, **changes})  # fmt: skip


def provider(server: FakeServer) -> OpenAIProvider:
    return OpenAIProvider(server.url + "/v1", api_key=KEY)


def with_calls(*calls: dict[str, Any], **message: Any) -> dict[str, Any]:
    answer = copied(OPENAI_TOOL_CALLS)
    answer["choices"][0]["message"]["tool_calls"] = list(calls)
    answer["choices"][0]["message"].update(message)
    return answer


def a_call(call_id: str | None, name: str = "get_time", arguments: Any = "{}") -> dict[str, Any]:
    found: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        found["id"] = call_id
    return found  # fmt: skip


def failure(server: FakeServer, reply: Reply) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(provider(server), request())
    assert_no_secret(caught.value)
    return caught.value


def test_two_rounds_of_parallel_tool_calls(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_TOOL_CALLS), Reply(200, OPENAI_CHAT))
    first = complete(provider(server), request())
    assert (first.text, first.finish_reason) == ("", "tool_calls")
    assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
        ("call_abc123", "get_weather", '{\n"location": "Paris, FR",\n"unit": "celsius"\n}'),
        ("call_def456", "get_time", '{"timezone": "Europe/Pari"}'),
    ]
    assert server.received[0].json()["tools"] == [
        {"type": "function",
         "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in TOOLS
    ]  # fmt: skip
    complete(provider(server), request(messages=round_two("", first.tool_calls)))
    assert server.received[1].json()["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What's the weather like in Paris, and what time is it there?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_abc123", "type": "function", "function": {
                "name": "get_weather",
                "arguments": '{\n"location": "Paris, FR",\n"unit": "celsius"\n}'}},
            {"id": "call_def456", "type": "function", "function": {
                "name": "get_time", "arguments": '{"timezone": "Europe/Pari"}'}},
        ]},
        # ONE tool message per call id, in the order of the calls
        {"role": "tool", "tool_call_id": "call_abc123",
         "content": '{"temperature": 14, "unit": "celsius"}'},
        {"role": "tool", "tool_call_id": "call_def456",
         "content": "unknown time zone: Europe/Pari"},
    ]  # fmt: skip


def test_text_beside_calls_is_kept_both_ways(server: FakeServer) -> None:
    answer = with_calls(a_call("c1"), a_call("c2"), content="Checking.")
    server.script(Reply(200, answer), Reply(200, OPENAI_CHAT))
    first = complete(provider(server), request())
    assert first.text == "Checking."
    complete(provider(server), request(messages=round_two(first.text, first.tool_calls)))
    assert server.received[1].json()["messages"][2]["content"] == "Checking."


def test_empty_content_beside_a_call_is_no_text(server: FakeServer) -> None:
    server.script(Reply(200, with_calls(a_call("c1"), content="")))
    response = complete(provider(server), request())
    assert response.text == "" and [c.id for c in response.tool_calls] == ["c1"]


def test_cached_tokens_are_read(server: FakeServer) -> None:
    server.script(Reply(200, copied(OPENAI_CHAT, usage=OPENAI_CACHED_USAGE)))
    response = complete(provider(server), request(max_tokens=300, input_estimate=2100))
    assert response.usage == (2006, 300, 1920, 0)


def test_more_cached_than_input_tokens_is_impossible(server: FakeServer) -> None:
    usage = {**OPENAI_CACHED_USAGE, "prompt_tokens_details": {"cached_tokens": 3000}}
    error = failure(server, Reply(200, copied(OPENAI_CHAT, usage=usage)))
    assert isinstance(error, InvalidResponse) and "impossible usage" in str(error)


def test_arguments_that_are_not_json_pass_through_as_they_are(server: FakeServer) -> None:
    server.script(Reply(200, with_calls(a_call("c1", arguments='{"timezone": "Eur'))))
    [cut] = complete(provider(server), request()).tool_calls
    assert cut.arguments == '{"timezone": "Eur'  # the session reports it to the model


def test_arguments_sent_as_an_object_are_serialized(server: FakeServer) -> None:
    server.script(Reply(200, with_calls(a_call("c1", arguments={"timezone": "UTC"}))))
    [call] = complete(provider(server), request()).tool_calls
    assert json.loads(call.arguments) == {"timezone": "UTC"}


@pytest.mark.parametrize(
    ("calls", "words"),
    [((a_call(None), a_call("c2")), "tool call 1 has no id"),
     ((a_call(""), a_call("c2")), "tool call 1 has no id"),
     ((a_call("c1"), a_call("c1")), "tool call 2 repeats the id"),
     ((a_call("c1", name=""),), "tool call 1 has no name"),
     ((a_call("c1", arguments=7),), "is not a string"),
     ((a_call("c1", arguments="x" * (body.MAX_ARGUMENTS + 1)),), "tool call 1 has arguments of"),
     ((a_call("i" * (body.MAX_TOOL_ID + 1)),), "tool call 1 has id of"),
     (tuple(a_call(f"c{n}") for n in range(body.MAX_TOOL_CALLS + 1)), "129 tool calls")],
    ids=["missing-id", "empty-id", "duplicate-id", "no-name", "arguments-a-number",
         "huge-arguments", "huge-id", "too-many-calls"],
)  # fmt: skip
def test_bad_tool_calls_are_invalid(
    server: FakeServer, calls: tuple[dict[str, Any], ...], words: str
) -> None:
    error = failure(server, Reply(200, with_calls(*calls)))
    assert isinstance(error, InvalidResponse) and words in str(error), error
    assert len(str(error)) <= body.MAX_MESSAGE


def test_huge_arguments_within_the_bound_are_accepted(server: FakeServer) -> None:
    arguments = json.dumps({"blob": "z" * (body.MAX_ARGUMENTS - 20)})
    server.script(Reply(200, with_calls(a_call("c1", arguments=arguments))))
    [call] = complete(provider(server), request()).tool_calls
    assert call.arguments == arguments


def test_a_length_answer_mid_tool_call_is_refused(server: FakeServer) -> None:
    answer = with_calls(a_call("c1", arguments='{"timezone": "Eu'))
    answer["choices"][0]["finish_reason"] = "length"
    error = failure(server, Reply(200, answer))
    assert type(error) is FatalProviderError
    assert "cut at max_tokens (256 tokens) in the middle of tool call 'get_time'" in str(error)


def test_the_key_in_arguments_is_redacted(server: FakeServer) -> None:
    server.script(Reply(200, with_calls(a_call("c1", arguments=json.dumps({"k": KEY})))))
    [call] = complete(provider(server), request()).tool_calls
    assert KEY not in call.arguments and "[redacted]" in call.arguments


def test_list_models(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_MODELS), Reply(401, OPENAI_BAD_KEY))
    assert asyncio.run(list_models(provider(server))) == ["model-id-0", "model-id-1", "model-id-2"]
    [received] = server.received
    assert (received.method, received.path) == ("GET", "/v1/models")
    assert received.headers["authorization"] == f"Bearer {KEY}"
    with pytest.raises(FatalProviderError, match="Incorrect API key provided") as caught:
        asyncio.run(list_models(provider(server)))
    assert caught.value.status == 401
    assert_no_secret(caught.value)
    port = unused_port()
    with pytest.raises(TransientProviderError, match=f"127.0.0.1:{port}/v1/models"):
        asyncio.run(list_models(OpenAIProvider(f"http://127.0.0.1:{port}/v1", api_key=KEY)))


async def list_models(adapter: OpenAIProvider) -> list[str]:
    try:
        return await adapter.list_models()
    finally:
        await adapter.aclose()


def test_unknown_fields_beside_calls_are_ignored(server: FakeServer) -> None:
    call = {**a_call("c1"), "index": 0, "brand_new": {"x": 1}}
    answer = with_calls(call, annotations=[], audio=None)
    answer["system_fingerprint"] = "fp_44709d6fcb"
    server.script(Reply(200, answer))
    [found] = complete(provider(server), request()).tool_calls
    assert (found.id, found.name, found.arguments) == ("c1", "get_time", "{}")
