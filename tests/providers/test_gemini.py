"""The Gemini generateContent adapter against a real loopback server: the exact request (the key
in a header, never in the URL), a two-round conversation with parallel calls and their thought
signature echoed back, usage with cached tokens, schema conversion, every error class, blocked
prompts and answers, timeouts, a 429 then a success, list_models, bad answers."""

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
    ToolDefinition,
    TransientProviderError,
)
from axoc.providers import body
from axoc.providers.gemini import GeminiProvider, gemini_schema, retry_delay
from tests.providers.recorded import (
    GEMINI_BLOCKED_PROMPT,
    GEMINI_CACHED,
    GEMINI_CHAT,
    GEMINI_ERRORS,
    GEMINI_MODELS_PAGE_1,
    GEMINI_MODELS_PAGE_2,
    GEMINI_PARALLEL_CALLS,
    GEMINI_QUOTA,
    QUESTION,
    TOOLS,
    copied,
    round_two,
)
from tests.providers.servers import FakeServer, Reply, complete, make_request, unused_port

KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
PATH = "/v1beta/models/gemini-2.0-flash:generateContent"


def request(**changes: object) -> Request:
    return make_request(**{"agent": "a", "model": "gemini-2.0-flash", "messages": QUESTION,
                           **changes})  # fmt: skip


def provider(server: FakeServer) -> GeminiProvider:
    return GeminiProvider(server.url, api_key=KEY)


def failure(server: FakeServer, reply: Reply, call: Request | None = None) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(provider(server), call or request())
    assert KEY not in str(caught.value) and KEY[8:20] not in str(caught.value)
    return caught.value


def test_sends_the_documented_request_and_reads_the_answer(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_CHAT))
    response = complete(provider(server), request(temperature=0.5, top_p=0.9))
    [received] = server.received
    assert (received.method, received.path) == ("POST", PATH)  # no key in the URL
    assert received.headers["x-goog-api-key"] == KEY
    assert received.json() == {
        "contents": [
            {"role": "user", "parts": [
                {"text": "What's the weather like in Paris, and what time is it there?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
        "generationConfig": {"temperature": 0.5, "topP": 0.9, "maxOutputTokens": 256},
    }  # fmt: skip
    assert response.text == "A mind that learns, a circuit that thinks."
    assert response.usage == (8, 11, 0, 0)
    assert (response.model, response.finish_reason) == ("gemini-2.0-flash", "stop")


def test_json_mode_unset_values_left_out_and_model_prefix(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_CHAT))
    only_user = (Message("user", "Three colours as JSON"),)
    call = request(model="models/gemini-2.0-flash", messages=only_user, max_tokens=None,
                   response_format="json")  # fmt: skip
    complete(provider(server), call)
    [received] = server.received
    assert received.path == PATH
    assert received.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Three colours as JSON"}]}],
        "generationConfig": {"responseMimeType": "application/json"},
    }


def test_two_rounds_of_parallel_calls_echo_the_signature(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_PARALLEL_CALLS), Reply(200, GEMINI_CHAT))
    first = complete(provider(server), request(tools=TOOLS))
    assert first.finish_reason == "tool_calls" and first.text == ""
    assert first.usage == (120, 30 + 64, 0, 0)  # thoughts count as output
    weather, clock = first.tool_calls
    assert weather.id != clock.id  # made up: Gemini sent none
    assert (weather.name, json.loads(weather.arguments)) == (
        "get_weather", {"location": "Paris, FR", "unit": "celsius"})  # fmt: skip
    assert weather.signature == "CiwBVKhc7nQ0mR1kOgH5t1dHwDfh3G4qTZ+Sig_A=="
    assert (clock.name, clock.signature) == ("get_time", None)
    assert server.received[0].json()["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Get the current weather in a given location",
         "parameters": WEATHER_SCHEMA},
        {"name": "get_time", "description": "Get the current time in a given time zone",
         "parameters": CLOCK_SCHEMA},
    ]}]  # fmt: skip
    transcript = (*round_two("", first.tool_calls), Message("user", "Thanks!"))
    complete(provider(server), request(tools=TOOLS, messages=transcript))
    assert server.received[1].json()["contents"] == [
        {"role": "user", "parts": [
            {"text": "What's the weather like in Paris, and what time is it there?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather",
                              "args": {"location": "Paris, FR", "unit": "celsius"}},
             "thoughtSignature": "CiwBVKhc7nQ0mR1kOgH5t1dHwDfh3G4qTZ+Sig_A=="},
            {"functionCall": {"name": "get_time", "args": {"timezone": "Europe/Pari"}}},
        ]},
        # both responses in ONE content, objects as Gemini requires, then the next text
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather",
                                  "response": {"temperature": 14, "unit": "celsius"}}},
            {"functionResponse": {"name": "get_time",
                                  "response": {"error": "unknown time zone: Europe/Pari"}}},
            {"text": "Thanks!"},
        ]},
    ]  # fmt: skip


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. Paris, FR"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}
CLOCK_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "description": "IANA time zone name"}},
    "required": ["timezone"],
}


def test_ids_gemini_sends_are_kept_and_sent_back(server: FakeServer) -> None:
    answer = copied(GEMINI_PARALLEL_CALLS)
    for number, part in enumerate(answer["candidates"][0]["content"]["parts"]):
        part["functionCall"]["id"] = f"fc-{number}"
    server.script(Reply(200, answer), Reply(200, GEMINI_CHAT))
    first = complete(provider(server), request(tools=TOOLS))
    assert [c.id for c in first.tool_calls] == ["fc-0", "fc-1"]
    complete(provider(server), request(tools=TOOLS, messages=round_two("", first.tool_calls)))
    model, results = server.received[1].json()["contents"][1:]
    assert [p["functionCall"]["id"] for p in model["parts"]] == ["fc-0", "fc-1"]
    assert [p["functionResponse"]["id"] for p in results["parts"]] == ["fc-0", "fc-1"]


def test_results_that_are_not_objects_are_wrapped(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_PARALLEL_CALLS), Reply(200, GEMINI_CHAT))
    calls = complete(provider(server), request(tools=TOOLS)).tool_calls
    transcript = (
        *QUESTION,
        Message("assistant", "Let me look.", calls),
        Message("tool", "[1, 2]", tool_call_id=calls[0].id, name=calls[0].name),
        Message("tool", "14 degrees", tool_call_id=calls[1].id, name=calls[1].name),
    )
    complete(provider(server), request(tools=TOOLS, messages=transcript))
    model, results = server.received[1].json()["contents"][1:]
    assert model["parts"][0] == {"text": "Let me look."}
    assert [p["functionResponse"]["response"] for p in results["parts"]] == [
        {"result": "[1, 2]"}, {"result": "14 degrees"}]  # fmt: skip


def test_json_schema_is_converted_to_geminis_subset() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "when": {"type": ["string", "null"], "format": "date-time"},
            "kind": {"const": "fixed"},
            "size": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
            "tags": {"type": "array", "items": {"type": "string", "examples": ["a"]},
                     "minItems": 1},
            "level": {"type": "integer", "enum": [1, 2, 3]},
            "ref": {"$ref": "#/$defs/thing"},
        },
        "$defs": {"thing": {"type": "string"}},
        "required": ["kind"],
    }  # fmt: skip
    assert gemini_schema(schema) == {
        "type": "object",
        "properties": {
            "when": {"type": "string", "nullable": True, "format": "date-time"},
            "kind": {"type": "string", "enum": ["fixed"]},
            "size": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "level": {"type": "integer"},
            "ref": {},
        },
        "required": ["kind"],
    }
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(500):
        deep = {"type": "array", "items": deep}
    converted = json.dumps(gemini_schema(deep))  # cut, not a RecursionError
    assert converted.count('"items"') <= 66


def test_a_tool_with_an_odd_schema_is_still_sent(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_CHAT))
    odd = ToolDefinition("t", "d", {"type": "object", "additionalProperties": True})
    complete(provider(server), request(tools=(odd,)))
    [declaration] = server.received[0].json()["tools"][0]["functionDeclarations"]
    assert declaration == {"name": "t", "description": "d", "parameters": {"type": "object"}}


def test_cached_tokens_are_read(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_CACHED))
    response = complete(provider(server), request(input_estimate=4000))
    assert response.usage == (3000, 11, 2048, 0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, FatalProviderError), (401, FatalProviderError), (403, FatalProviderError),
     (404, FatalProviderError), (500, TransientProviderError), (503, TransientProviderError)],
)  # fmt: skip
def test_error_statuses_map_onto_the_error_tree(
    server: FakeServer, status: int, kind: type[ProviderError]
) -> None:
    error = failure(server, Reply(status, GEMINI_ERRORS[status]))
    assert type(error) is kind and error.status == status
    detail = GEMINI_ERRORS[status]["error"]
    assert f"{detail['status']}: {detail['message']}" in str(error)
    assert str(error).startswith("gemini: ")


def test_429_is_rate_limited_then_the_retry_succeeds(server: FakeServer) -> None:
    server.script(Reply(429, GEMINI_ERRORS[429], {"Retry-After": "0.2"}), Reply(200, GEMINI_CHAT))

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
    assert error.retry_after == 0.2 and "RESOURCE_EXHAUSTED" in str(error)  # type: ignore[attr-defined]
    assert text == "A mind that learns, a circuit that thinks."
    assert server.received[0].body == server.received[1].body


def test_a_blocked_prompt_is_fatal_and_says_so(server: FakeServer) -> None:
    error = failure(server, Reply(200, GEMINI_BLOCKED_PROMPT))
    assert type(error) is FatalProviderError
    assert "blocked the prompt (SAFETY)" in str(error)


@pytest.mark.parametrize("reason", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT"])
def test_a_blocked_answer_is_fatal_and_says_so(server: FakeServer, reason: str) -> None:
    answer = copied(GEMINI_CHAT)
    answer["candidates"][0] = {"finishReason": reason, "index": 0}
    error = failure(server, Reply(200, answer))
    assert type(error) is FatalProviderError and f"finishReason {reason}" in str(error)


def test_max_tokens_is_length_and_mid_call_is_refused(server: FakeServer) -> None:
    answer = copied(GEMINI_CHAT)
    answer["candidates"][0]["finishReason"] = "MAX_TOKENS"
    server.script(Reply(200, answer))
    assert complete(provider(server), request()).finish_reason == "length"
    cut = copied(GEMINI_PARALLEL_CALLS)
    cut["candidates"][0]["finishReason"] = "MAX_TOKENS"
    error = failure(server, Reply(200, cut), request(tools=TOOLS))
    assert type(error) is FatalProviderError and "in the middle of tool call" in str(error)


def test_thoughts_are_not_text_and_unknown_fields_are_ignored(server: FakeServer) -> None:
    answer = copied(GEMINI_CHAT, brandNew={"x": 1}, responseId="abc")
    answer["candidates"][0]["content"]["parts"].insert(
        0, {"text": "Let me think", "thought": True, "thoughtSignature": "c2ln"}
    )
    server.script(Reply(200, answer))
    assert (
        complete(provider(server), request()).text == "A mind that learns, a circuit that thinks."
    )


@pytest.mark.parametrize(
    "answer",
    [b"<html>proxy error</html>", {"candidates": []},
     {k: v for k, v in GEMINI_CHAT.items() if k != "usageMetadata"},
     copied(GEMINI_CHAT, usageMetadata={"candidatesTokenCount": 11}),
     copied(GEMINI_CHAT, candidates=[{"content": {"parts": [{"functionCall": {"args": {}}}]},
                                      "finishReason": "STOP"}]),
     copied(GEMINI_CHAT, candidates=[{"content": {"parts": [
         {"functionCall": {"name": "f", "args": [1]}}]}, "finishReason": "STOP"}]),
     copied(GEMINI_CHAT, candidates=[{"finishReason": "MALFORMED_FUNCTION_CALL"}]),
     {"error": {"code": 500, "message": "in-band", "status": "INTERNAL"}}],
    ids=["not-json", "no-candidate", "no-usage", "no-prompt-count", "call-without-name",
         "args-not-an-object", "malformed-call", "error-in-a-200"],
)  # fmt: skip
def test_answers_outside_the_protocol_are_invalid(server: FakeServer, answer: Any) -> None:
    error = failure(server, Reply(200, answer))
    assert isinstance(error, InvalidResponse), error


def test_duplicate_ids_and_too_many_calls_are_invalid(server: FakeServer) -> None:
    answer = copied(GEMINI_PARALLEL_CALLS)
    for part in answer["candidates"][0]["content"]["parts"]:
        part["functionCall"]["id"] = "same"
    error = failure(server, Reply(200, answer), request(tools=TOOLS))
    assert isinstance(error, InvalidResponse) and "repeats the id" in str(error)
    many = copied(GEMINI_PARALLEL_CALLS)
    part = {"functionCall": {"name": "get_time", "args": {}}}
    many["candidates"][0]["content"]["parts"] = [part] * (body.MAX_TOOL_CALLS + 1)
    error = failure(server, Reply(200, many), request(tools=TOOLS))
    assert isinstance(error, InvalidResponse) and "129 tool calls" in str(error)


def test_a_slow_server_hits_the_timeout(server: FakeServer) -> None:
    started = time.monotonic()
    error = failure(server, Reply(200, GEMINI_CHAT, hang=5), request(timeout=0.3))
    assert type(error) is TransientProviderError and "within 0.3 s" in str(error)
    assert time.monotonic() - started < 2


def test_a_server_echoing_the_key_never_leaks_it(server: FakeServer) -> None:
    error = failure(
        server,
        Reply(
            400,
            {
                "error": {
                    "code": 400,
                    "status": "INVALID_ARGUMENT",
                    "message": f"API key {KEY} not valid",
                }
            },
        ),
    )
    assert "[redacted]" in str(error)  # fmt: skip


def test_list_models_follows_the_pages(server: FakeServer) -> None:
    server.script(Reply(200, GEMINI_MODELS_PAGE_1), Reply(200, GEMINI_MODELS_PAGE_2))
    names = asyncio.run(list_models(provider(server)))
    assert names == ["gemini-2.0-flash", "gemini-2.5-pro"]
    first, second = server.received
    assert (first.method, first.path) == ("GET", "/v1beta/models?pageSize=1000")
    assert second.path == (
        "/v1beta/models?pageSize=1000&pageToken=Ch5tb2RlbHMvZ2VtaW5pLTIuMC1mbGFzaA%3D%3D"
    )
    assert first.headers["x-goog-api-key"] == KEY


def test_list_models_failures(server: FakeServer) -> None:
    server.script(Reply(403, GEMINI_ERRORS[403]))
    with pytest.raises(FatalProviderError, match="PERMISSION_DENIED"):
        asyncio.run(list_models(provider(server)))
    port = unused_port()
    with pytest.raises(TransientProviderError, match=f"127.0.0.1:{port}/v1beta/models"):
        asyncio.run(list_models(GeminiProvider(f"http://127.0.0.1:{port}", api_key=KEY)))


async def list_models(adapter: GeminiProvider) -> list[str]:
    try:
        return await adapter.list_models()
    finally:
        await adapter.aclose()


def test_a_429_without_a_header_waits_what_its_retry_info_says(server: FakeServer) -> None:
    error = failure(server, Reply(429, GEMINI_QUOTA))
    assert isinstance(error, RateLimited) and error.retry_after == 37.0
    header_first = failure(server, Reply(429, GEMINI_QUOTA, {"Retry-After": "3"}))
    assert isinstance(header_first, RateLimited) and header_first.retry_after == 3.0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                              "retryDelay": "1.5s"}]}}, 1.5),
     ({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                              "retryDelay": "nans"}]}}, None),
     ({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                              "retryDelay": "-4s"}]}}, None),
     ({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                              "retryDelay": "9" * 100 + "s"}]}}, None),
     ({"error": {"details": "junk"}}, None), ([1], None)],
    ids=["fraction", "nan", "negative", "too-long", "junk", "not-an-object"],
)  # fmt: skip
def test_retry_delay_reads_only_sane_durations(payload: object, expected: float | None) -> None:
    assert retry_delay(payload) == expected
