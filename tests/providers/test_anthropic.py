"""The Anthropic Messages adapter against a real loopback server: the exact request and headers,
a two-round conversation with parallel tool calls, usage with cache tokens, every error class,
timeouts, a 429 then a success, list_models, bad answers; no message ever carries the key."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    Message,
    ProviderError,
    RateLimited,
    Request,
    TransientProviderError,
)
from axoc.providers import body
from axoc.providers.anthropic import (
    DEFAULT_MAX_TOKENS,
    JSON_INSTRUCTION,
    AnthropicProvider,
)
from tests.providers.recorded import (
    ANTHROPIC_CACHE_READ,
    ANTHROPIC_CACHE_WRITE,
    ANTHROPIC_CHAT,
    ANTHROPIC_ERRORS,
    ANTHROPIC_MODELS_PAGE_1,
    ANTHROPIC_MODELS_PAGE_2,
    ANTHROPIC_TOOL_USE,
    QUESTION,
    TOOLS,
    copied,
    round_two,
)
from tests.providers.servers import FakeServer, Reply, complete, make_request, unused_port

KEY = "sk-ant-api03-Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7"


def request(**changes: object) -> Request:
    """The reference example's request: 1,024 output tokens at most."""
    return make_request(**{"agent": "a", "model": "claude-3-7-sonnet-20250219",
                           "messages": QUESTION, "max_tokens": 1024, **changes})  # fmt: skip


def provider(server: FakeServer) -> AnthropicProvider:
    return AnthropicProvider(server.url, api_key=KEY)


def failure(server: FakeServer, reply: Reply, call: Request | None = None) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(provider(server), call or request())
    assert_no_secret(caught.value)
    return caught.value


def assert_no_secret(error: BaseException) -> None:
    text = str(error)
    assert KEY not in text and KEY[:14] not in text and KEY[-12:] not in text


def test_sends_the_documented_request_and_reads_the_answer(server: FakeServer) -> None:
    server.script(Reply(200, ANTHROPIC_CHAT))
    response = complete(provider(server), request(temperature=0.5, top_p=0.9))
    [received] = server.received
    assert (received.method, received.path) == ("POST", "/v1/messages")
    assert received.headers["x-api-key"] == KEY
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert received.headers["content-type"] == "application/json"
    assert "authorization" not in received.headers
    assert received.json() == {
        "model": "claude-3-7-sonnet-20250219",
        "max_tokens": 1024,
        "system": "You are a helpful assistant.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text",
                 "text": "What's the weather like in Paris, and what time is it there?"}]},
        ],
        "temperature": 0.5,
        "top_p": 0.9,
    }  # fmt: skip
    assert response.text == "Hi! My name is Claude."
    assert response.usage == (2095, 503, 0, 0)
    assert (response.model, response.finish_reason) == ("claude-3-7-sonnet-20250219", "stop")
    assert response.tool_calls == ()


def test_max_tokens_defaults_and_json_mode_is_a_system_instruction(server: FakeServer) -> None:
    server.script(Reply(200, ANTHROPIC_CHAT))
    only_user = (Message("user", "List three colours as JSON."),)
    call = request(messages=only_user, max_tokens=None, response_format="json",
                   input_estimate=4000)  # fmt: skip
    complete(provider(server), call)
    sent = server.received[0].json()
    assert sent["max_tokens"] == DEFAULT_MAX_TOKENS
    assert sent["system"] == JSON_INSTRUCTION
    assert "temperature" not in sent and "top_p" not in sent and "tools" not in sent


def test_two_rounds_of_parallel_tool_calls(server: FakeServer) -> None:
    server.script(Reply(200, ANTHROPIC_TOOL_USE), Reply(200, ANTHROPIC_CHAT))
    first = complete(provider(server), request(tools=TOOLS))
    assert first.finish_reason == "tool_calls"
    assert first.text == "I'll check the weather and the time in Paris."
    assert [(c.id, c.name, json.loads(c.arguments), c.signature) for c in first.tool_calls] == [
        ("toolu_01A09q90qw90lq917835lq9", "get_weather",
         {"location": "Paris, FR", "unit": "celsius"}, None),
        ("toolu_01B2c3D4e5F6g7H8i9J0kLmN", "get_time", {"timezone": "Europe/Pari"}, None),
    ]  # fmt: skip
    assert server.received[0].json()["tools"] == [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in TOOLS
    ]
    transcript = (*round_two(first.text, first.tool_calls), Message("user", "Thanks!"))
    second = complete(provider(server), request(tools=TOOLS, messages=transcript))
    assert second.text == "Hi! My name is Claude."
    sent = server.received[1].json()
    assert sent["system"] == "You are a helpful assistant."
    assert sent["messages"] == [
        {"role": "user", "content": [
            {"type": "text",
             "text": "What's the weather like in Paris, and what time is it there?"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "I'll check the weather and the time in Paris."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"location": "Paris, FR", "unit": "celsius"}},
            {"type": "tool_use", "id": "toolu_01B2c3D4e5F6g7H8i9J0kLmN", "name": "get_time",
             "input": {"timezone": "Europe/Pari"}},
        ]},
        # every result of the turn in ONE user message, before the text that follows
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
             "content": '{"temperature": 14, "unit": "celsius"}', "is_error": False},
            {"type": "tool_result", "tool_use_id": "toolu_01B2c3D4e5F6g7H8i9J0kLmN",
             "content": "unknown time zone: Europe/Pari", "is_error": True},
            {"type": "text", "text": "Thanks!"},
        ]},
    ]  # fmt: skip


def test_an_assistant_turn_with_no_text_sends_only_its_calls(server: FakeServer) -> None:
    calls = complete_calls(server)
    server.script(Reply(200, ANTHROPIC_CHAT))
    transcript = round_two("", calls)
    complete(provider(server), request(tools=TOOLS, messages=transcript))
    assistant = server.received[-1].json()["messages"][1]
    assert [block["type"] for block in assistant["content"]] == ["tool_use", "tool_use"]


def complete_calls(server: FakeServer) -> Any:
    server.script(Reply(200, ANTHROPIC_TOOL_USE))
    return complete(provider(server), request(tools=TOOLS)).tool_calls


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(ANTHROPIC_CACHE_WRITE, (21 + 188086, 393, 0, 188086)),
     (ANTHROPIC_CACHE_READ, (21 + 188086, 393, 188086, 0))],
    ids=["cache-write", "cache-read"],
)  # fmt: skip
def test_cache_tokens_are_summed_into_input(
    server: FakeServer, answer: dict[str, Any], expected: tuple[int, ...]
) -> None:
    server.script(Reply(200, answer))
    response = complete(provider(server), request(max_tokens=400, input_estimate=190_000))
    assert response.usage == expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, FatalProviderError), (401, FatalProviderError), (403, FatalProviderError),
     (404, FatalProviderError), (500, TransientProviderError), (529, TransientProviderError)],
)  # fmt: skip
def test_error_statuses_map_onto_the_error_tree(
    server: FakeServer, status: int, kind: type[ProviderError]
) -> None:
    error = failure(server, Reply(status, ANTHROPIC_ERRORS[status]))
    assert type(error) is kind and error.status == status
    message = ANTHROPIC_ERRORS[status]["error"]["message"]
    assert f"{ANTHROPIC_ERRORS[status]['error']['type']}: {message}" in str(error)
    assert str(error).startswith("anthropic: ")


def test_429_is_rate_limited_then_the_retry_succeeds(server: FakeServer) -> None:
    server.script(Reply(429, ANTHROPIC_ERRORS[429], {"retry-after": "0.2"}),
                  Reply(200, ANTHROPIC_CHAT))  # fmt: skip

    async def go() -> tuple[ProviderError, str]:
        adapter = provider(server)
        try:
            with pytest.raises(RateLimited) as caught:
                await adapter.complete(request())
            await asyncio.sleep(caught.value.retry_after or 0)
            return caught.value, (await adapter.complete(request())).text
        finally:
            await adapter.aclose()

    error, text = asyncio.run(go())
    assert isinstance(error, RateLimited) and error.retry_after == 0.2
    assert "rate_limit_error" in str(error)
    assert text == "Hi! My name is Claude."
    assert server.received[0].body == server.received[1].body


@pytest.mark.parametrize(
    "answer",
    [b"{not json", {"type": "message", "content": []},
     copied(ANTHROPIC_CHAT, usage={"input_tokens": 10}),
     copied(ANTHROPIC_CHAT, content=[{"type": "text"}]),
     copied(ANTHROPIC_CHAT, content=[{"type": "tool_use", "id": "t", "name": "n",
                                      "input": "[1]"}]),
     copied(ANTHROPIC_CHAT, usage={"input_tokens": 10, "output_tokens": 5,
                                   "cache_read_input_tokens": -1}),
     {"type": "error", "error": {"type": "api_error", "message": "boom"}}],
    ids=["not-json", "no-usage", "no-output-count", "text-block-without-text",
         "input-not-an-object", "negative-cache-count", "error-in-a-200"],
)  # fmt: skip
def test_answers_outside_the_protocol_are_invalid(server: FakeServer, answer: Any) -> None:
    error = failure(server, Reply(200, answer))
    assert isinstance(error, InvalidResponse), error


def test_unknown_fields_and_blocks_are_ignored(server: FakeServer) -> None:
    answer = copied(ANTHROPIC_TOOL_USE, container=None, brand_new={"x": 1})
    answer["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "sig"})
    answer["content"][1]["citations"] = []
    server.script(Reply(200, answer))
    response = complete(provider(server), request(tools=TOOLS))
    assert response.text == "I'll check the weather and the time in Paris."
    assert len(response.tool_calls) == 2


@pytest.mark.parametrize(
    ("change", "words"),
    [({"id": ""}, "tool call 2 has no id"),
     ({"id": "toolu_01A09q90qw90lq917835lq9"}, "tool call 2 repeats the id"),
     ({"name": "x" * (body.MAX_TOOL_NAME + 1)}, "tool call 2 has name of"),
     ({"input": {"blob": "y" * body.MAX_ARGUMENTS}}, "tool call 2 has arguments of")],
    ids=["no-id", "duplicate-id", "huge-name", "huge-arguments"],
)  # fmt: skip
def test_bad_tool_calls_are_invalid(server: FakeServer, change: dict[str, Any], words: str) -> None:
    answer = copied(ANTHROPIC_TOOL_USE)
    answer["content"][2].update(change)
    error = failure(server, Reply(200, answer), request(tools=TOOLS))
    assert isinstance(error, InvalidResponse) and words in str(error)
    assert len(str(error)) <= body.MAX_MESSAGE


def test_a_refusal_is_fatal(server: FakeServer) -> None:
    error = failure(server, Reply(200, copied(ANTHROPIC_CHAT, stop_reason="refusal")))
    assert type(error) is FatalProviderError and "refused" in str(error)


def test_an_answer_cut_at_max_tokens_mid_call_is_not_run(server: FakeServer) -> None:
    error = failure(server, Reply(200, copied(ANTHROPIC_TOOL_USE, stop_reason="max_tokens")),
                    request(tools=TOOLS))  # fmt: skip
    assert type(error) is FatalProviderError
    assert "cut at max_tokens (1,024 tokens) in the middle of tool call" in str(error)
    # a text answer cut at max_tokens is an answer
    server.script(Reply(200, copied(ANTHROPIC_CHAT, stop_reason="max_tokens")))
    response = complete(provider(server), request(max_tokens=600, input_estimate=2000))
    assert response.finish_reason == "length"


def test_a_server_echoing_the_key_never_leaks_it(server: FakeServer) -> None:
    echo = anthropic_error("authentication_error", f"invalid x-api-key: {KEY}")
    error = failure(server, Reply(401, echo))
    assert "[redacted]" in str(error)
    answer = copied(ANTHROPIC_TOOL_USE)
    answer["content"][1]["input"] = {"location": KEY}
    server.script(Reply(200, answer))
    response = complete(provider(server), request(tools=TOOLS))
    assert KEY not in response.tool_calls[0].arguments


def test_a_slow_server_hits_the_timeout(server: FakeServer) -> None:
    started = time.monotonic()
    error = failure(server, Reply(200, ANTHROPIC_CHAT, hang=5), request(timeout=0.3))
    assert type(error) is TransientProviderError and "within 0.3 s" in str(error)
    assert time.monotonic() - started < 2


def test_list_models_follows_the_pages(server: FakeServer) -> None:
    server.script(Reply(200, ANTHROPIC_MODELS_PAGE_1), Reply(200, ANTHROPIC_MODELS_PAGE_2))
    names = asyncio.run(list_models(provider(server)))
    assert names == ["claude-3-7-sonnet-20250219", "claude-3-5-haiku-20241022"]
    first, second = server.received
    assert (first.method, first.path) == ("GET", "/v1/models?limit=1000")
    assert second.path == "/v1/models?limit=1000&after_id=claude-3-7-sonnet-20250219"
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"]


def test_list_models_failures(server: FakeServer) -> None:
    server.script(Reply(401, ANTHROPIC_ERRORS[401]))
    with pytest.raises(FatalProviderError, match="invalid x-api-key") as caught:
        asyncio.run(list_models(provider(server)))
    assert caught.value.status == 401
    port = unused_port()
    with pytest.raises(TransientProviderError, match=f"127.0.0.1:{port}/v1/models") as refused:
        asyncio.run(list_models(AnthropicProvider(f"http://127.0.0.1:{port}", api_key=KEY)))
    assert "ConnectionRefusedError" in str(refused.value)
    assert_no_secret(refused.value)


async def list_models(adapter: AnthropicProvider) -> list[str]:
    try:
        return await adapter.list_models()
    finally:
        await adapter.aclose()


def test_bad_configuration_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="whitespace or control") as caught:
        AnthropicProvider(api_key=KEY[:10] + "\n" + KEY[10:])
    assert KEY[:10] not in str(caught.value)
    with pytest.raises(ValueError, match="http:// or https://"):
        AnthropicProvider("ftp://example.org")


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}
