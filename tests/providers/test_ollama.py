"""The Ollama adapter against a real loopback server speaking `/api/chat`: the exact request it
sends, what it reads back, and how every failure maps onto the kernel's `ProviderError` tree."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    Message,
    RateLimited,
    Request,
    TransientProviderError,
)
from axoc.providers.ollama import OllamaProvider
from tests.providers.servers import (
    OLLAMA_BUSY,
    OLLAMA_CACHED_PROMPT_BUG,
    OLLAMA_CHAT,
    OLLAMA_CHAT_JSON,
    OLLAMA_LOAD,
    OLLAMA_NOT_FOUND,
    FakeServer,
    Reply,
    complete,
    make_request,
    unused_port,
)

MESSAGES = (Message("system", "You are terse."), Message("user", "why is the sky blue?"))


def request(**changes: object) -> Request:
    """The documented answers report up to 298 output tokens: a request must allow them."""
    fields = {"agent": "writer", "model": "llama3.2", "messages": MESSAGES, "max_tokens": 512}
    return make_request(**{**fields, **changes})


def test_sends_the_documented_body_and_reads_text_usage_and_model(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT))
    response = complete(OllamaProvider(server.url), request(temperature=0.2, top_p=0.9))
    [received] = server.received
    assert (received.method, received.path) == ("POST", "/api/chat")
    assert received.headers["content-type"] == "application/json"
    assert "authorization" not in received.headers
    assert received.json() == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "why is the sky blue?"},
        ],
        "stream": False,
        "options": {"num_predict": 512, "temperature": 0.2, "top_p": 0.9},
    }
    assert response.text == "Hello! How are you today?"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (26, 298)
    assert response.model == "llama3.2"
    assert response.finish_reason is None  # this documented answer has no done_reason


def test_json_mode_sends_format_json_and_reads_done_reason(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT_JSON))
    response = complete(
        OllamaProvider(server.url + "/"), request(response_format="json", max_tokens=None)
    )
    body = server.received[0].json()
    assert body["format"] == "json"
    assert "options" not in body  # nothing to set: no max_tokens, no sampling
    assert server.received[0].path == "/api/chat"  # the trailing slash of base_url is dropped
    assert response.text == '{"age": 22, "available": false}'
    assert response.usage.total == 46
    assert response.finish_reason == "stop"


def test_text_mode_sends_no_format(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT))
    complete(OllamaProvider(server.url), request(response_format="text"))
    assert "format" not in server.received[0].json()


def test_absent_counts_mean_zero_where_zero_is_possible(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_LOAD))
    response = complete(OllamaProvider(server.url), request(messages=()))
    assert (response.text, response.usage.total, response.finish_reason) == ("", 0, "load")


def test_a_dropped_prompt_count_is_an_invalid_response_not_zero(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CACHED_PROMPT_BUG))
    with pytest.raises(InvalidResponse, match="prompt_eval_count"):
        complete(OllamaProvider(server.url), request())


def test_a_dropped_output_count_for_a_non_empty_answer_is_invalid(server: FakeServer) -> None:
    body = {k: v for k, v in OLLAMA_CHAT.items() if k != "eval_count"}
    server.script(Reply(200, body))
    with pytest.raises(InvalidResponse, match="eval_count"):
        complete(OllamaProvider(server.url), request())


def test_unknown_model_is_fatal_with_ollamas_words(server: FakeServer) -> None:
    server.script(Reply(404, OLLAMA_NOT_FOUND))
    with pytest.raises(FatalProviderError) as caught:
        complete(OllamaProvider(server.url), request())
    assert type(caught.value) is FatalProviderError
    assert caught.value.status == 404
    assert 'model "llama3.2" not found, try pulling it first' in str(caught.value)


def test_429_is_rate_limited_with_retry_after_seconds(server: FakeServer) -> None:
    server.script(Reply(429, {"error": "too many requests"}, {"Retry-After": "7"}))
    with pytest.raises(RateLimited) as caught:
        complete(OllamaProvider(server.url), request())
    assert caught.value.retry_after == 7.0
    assert caught.value.status == 429


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient(server: FakeServer, status: int) -> None:
    server.script(Reply(status, OLLAMA_BUSY))
    with pytest.raises(TransientProviderError) as caught:
        complete(OllamaProvider(server.url), request())
    assert type(caught.value) is TransientProviderError
    assert caught.value.status == status
    assert "server busy" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b'{"model": "llama3.2", "message": {"ro', b"[]"],
    ids=["html", "truncated", "array"],
)
def test_a_200_that_is_not_the_protocol_is_invalid(server: FakeServer, body: bytes) -> None:
    server.script(Reply(200, body, {"Content-Type": "application/json"}))
    with pytest.raises(InvalidResponse):
        complete(OllamaProvider(server.url), request())


def test_a_body_its_content_encoding_does_not_describe_is_invalid(server: FakeServer) -> None:
    server.script(Reply(200, b"plainly not gzip", {"Content-Encoding": "gzip"}))
    with pytest.raises(InvalidResponse, match="undecodable answer"):
        complete(OllamaProvider(server.url), request())


def test_a_redirect_is_not_followed_and_says_where_to(server: FakeServer) -> None:
    server.script(Reply(308, b"", {"Location": "https://ollama.example.org/api/chat"}))
    with pytest.raises(FatalProviderError, match=r"redirected to https://ollama\.example\.org"):
        complete(OllamaProvider(server.url), request())
    assert len(server.received) == 1


def test_a_200_carrying_an_error_is_invalid_with_its_words(server: FakeServer) -> None:
    server.script(Reply(200, {"error": "unexpected EOF"}))
    with pytest.raises(InvalidResponse, match="unexpected EOF"):
        complete(OllamaProvider(server.url), request())


def test_a_hanging_server_fails_within_the_timeout(server: FakeServer) -> None:
    server.script(Reply(200, OLLAMA_CHAT, hang=5))
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=r"did not answer within 0\.3 s"):
        complete(OllamaProvider(server.url), request(timeout=0.3))
    assert time.monotonic() - started < 1.5


def test_a_trickling_answer_is_cut_off_at_the_deadline(server: FakeServer) -> None:
    # Every byte arrives well within httpx's read timeout; only the whole-call deadline stops it.
    server.script(Reply(200, OLLAMA_CHAT, trickle=0.05))
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=r"did not answer within 0\.5 s"):
        complete(OllamaProvider(server.url), request(timeout=0.5))
    assert time.monotonic() - started < 1.5


def test_a_reset_connection_is_transient(server: FakeServer) -> None:
    server.script(Reply(reset=True))
    with pytest.raises(TransientProviderError, match=r"failed: ConnectionResetError"):
        complete(OllamaProvider(server.url), request())


def test_a_refused_connection_is_transient() -> None:
    with pytest.raises(TransientProviderError, match=r"failed: ConnectionRefusedError"):
        complete(OllamaProvider(f"http://127.0.0.1:{unused_port()}"), request())


def test_concurrent_calls_share_one_provider(server: FakeServer) -> None:
    server.default = Reply(200, OLLAMA_CHAT, hang=0.2)
    provider = OllamaProvider(server.url)

    async def go() -> list[int]:
        try:
            answers = await asyncio.gather(*(provider.complete(request()) for _ in range(5)))
        finally:
            await provider.aclose()
        return [a.usage.input_tokens for a in answers]

    started = time.monotonic()
    assert asyncio.run(go()) == [26] * 5
    assert time.monotonic() - started < 0.9  # in parallel, not 5 × 0.2 s in a row
    assert len(server.received) == 5


def test_aclose_closes_its_own_client_but_not_an_injected_one() -> None:
    async def go() -> tuple[bool, bool]:
        injected = httpx.AsyncClient()
        own, shared = OllamaProvider(), OllamaProvider(client=injected)
        await own.aclose()
        await shared.aclose()
        closed = (own._client.is_closed, injected.is_closed)
        await injected.aclose()
        return closed

    assert asyncio.run(go()) == (True, False)
