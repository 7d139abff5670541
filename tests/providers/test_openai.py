"""The OpenAI chat-completions adapter (also Mistral, OpenRouter, local servers) against a real
loopback server: the exact request and headers, what it reads back, how failures map onto the
kernel's `ProviderError` tree, and that no message ever carries the API key."""

from __future__ import annotations

import email.utils
import time

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
from axoc.providers.openai import OpenAIProvider
from tests.providers.servers import (
    MISTRAL_EXTRA_FORBIDDEN,
    OPENAI_BAD_KEY,
    OPENAI_CHAT,
    OPENAI_REFUSAL,
    OPENAI_UNSUPPORTED_MAX_TOKENS,
    FakeServer,
    Reply,
    complete,
    make_request,
    unused_port,
)

KEY = "sk-test-4Xq9Lm2Vb7Nc1Zr8Tw3Ky6Hd5Jf0Ps9f2c"
MESSAGES = (Message("system", "You are a helpful assistant."), Message("user", "Hello!"))


def request(**changes: object) -> Request:
    return make_request(**{"agent": "greeter", "model": "gpt-4o", "messages": MESSAGES, **changes})


def provider(server: FakeServer, **options: object) -> OpenAIProvider:
    return OpenAIProvider(server.url + "/v1", **options)  # type: ignore[arg-type]


def failure(server: FakeServer, reply: Reply, **options: object) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(provider(server, api_key=KEY, **options), request())
    return caught.value


def assert_no_secret(error: BaseException) -> None:
    text = str(error)
    assert KEY not in text
    assert KEY[:12] not in text and KEY[-12:] not in text
    assert "***" not in text and "Bearer" not in text


def test_sends_the_documented_body_with_the_key_and_reads_the_answer(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT))
    response = complete(provider(server, api_key=KEY), request(temperature=0.7, top_p=1.0))
    [received] = server.received
    assert (received.method, received.path) == ("POST", "/v1/chat/completions")
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"},
        ],
        "max_tokens": 256,
        "temperature": 0.7,
        "top_p": 1.0,
    }
    assert response.text == "Hello! How can I assist you today?"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (19, 10)
    assert (response.model, response.finish_reason) == ("gpt-4o-2024-08-06", "stop")


def test_no_key_no_authorization_header_and_unset_values_left_out(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT))
    complete(provider(server), request(max_tokens=None))
    [received] = server.received
    assert "authorization" not in received.headers
    assert received.json() == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Hello!"},
        ],
    }


def test_json_mode_and_extra_headers(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT))
    headers = {"HTTP-Referer": "https://example.org/axoc", "X-Title": "axoc"}  # OpenRouter's
    complete(provider(server, api_key=KEY, extra_headers=headers), request(response_format="json"))
    [received] = server.received
    assert received.json()["response_format"] == {"type": "json_object"}
    assert received.headers["http-referer"] == "https://example.org/axoc"
    assert received.headers["x-title"] == "axoc"
    assert received.headers["authorization"] == f"Bearer {KEY}"


def test_max_completion_tokens_replaces_max_tokens_when_chosen(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT))
    complete(provider(server, max_tokens_field="max_completion_tokens"), request())
    body = server.received[0].json()
    assert body["max_completion_tokens"] == 256
    assert "max_tokens" not in body


def test_the_max_tokens_field_follows_the_host() -> None:
    openai = OpenAIProvider("https://api.openai.com/v1")
    mistral = OpenAIProvider("https://api.mistral.ai/v1")
    openrouter = OpenAIProvider("https://openrouter.ai/api/v1")
    assert openai._max_tokens_field == "max_completion_tokens"
    assert mistral._max_tokens_field == openrouter._max_tokens_field == "max_tokens"


def test_a_bad_key_is_fatal_and_its_message_names_no_key(server: FakeServer) -> None:
    error = failure(server, Reply(401, OPENAI_BAD_KEY))
    assert type(error) is FatalProviderError
    assert error.status == 401
    assert "Incorrect API key provided" in str(error)
    assert_no_secret(error)


def test_a_server_echoing_the_key_and_header_never_leaks_them(server: FakeServer) -> None:
    echo = {"error": {"message": f"bad header Authorization: Bearer {KEY} (key {KEY})"}}
    error = failure(server, Reply(403, echo))
    assert type(error) is FatalProviderError
    assert "bad header Authorization" in str(error)
    assert_no_secret(error)


def test_secret_extra_headers_are_redacted_too(server: FakeServer) -> None:
    token = "azure-style-api-key-0123456789"
    error = failure(
        server,
        Reply(401, {"error": {"message": f"api-key {token} is not valid"}}),
        extra_headers={"api-key": token},
    )
    assert token not in str(error)
    assert "[redacted]" in str(error)


def test_unsupported_max_tokens_is_fatal_with_openais_words(server: FakeServer) -> None:
    error = failure(server, Reply(400, OPENAI_UNSUPPORTED_MAX_TOKENS))
    assert type(error) is FatalProviderError
    assert error.status == 400
    assert "Use 'max_completion_tokens' instead" in str(error)


def test_mistral_validation_error_is_fatal_with_its_detail(server: FakeServer) -> None:
    error = failure(server, Reply(422, MISTRAL_EXTRA_FORBIDDEN))
    assert type(error) is FatalProviderError
    assert error.status == 422
    assert "Extra inputs are not permitted" in str(error)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after-ms": "1500", "Retry-After": "2"}, 1.5),
        ({}, None),
    ],
    ids=["seconds", "milliseconds-first", "absent"],
)
def test_429_is_rate_limited_with_retry_after(
    server: FakeServer, headers: dict[str, str], expected: float | None
) -> None:
    body = {"error": {"message": "Rate limit reached for gpt-4o", "code": "rate_limit_exceeded"}}
    error = failure(server, Reply(429, body, headers))
    assert isinstance(error, RateLimited)
    assert (error.status, error.retry_after) == (429, expected)
    assert "Rate limit reached" in str(error)


def test_429_retry_after_as_an_http_date(server: FakeServer) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = failure(server, Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": when}))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 28 <= error.retry_after <= 31


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(server: FakeServer, status: int) -> None:
    body = {"error": {"message": "The server had an error while processing your request."}}
    error = failure(server, Reply(status, body))
    assert type(error) is TransientProviderError
    assert error.status == status
    assert "The server had an error" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        {"id": "x", "object": "chat.completion", "choices": []},
        {k: v for k, v in OPENAI_CHAT.items() if k != "usage"},
        {**OPENAI_CHAT, "usage": {"prompt_tokens": "19", "completion_tokens": 10}},
        {"error": {"message": "upstream provider failed", "code": 502}},
    ],
    ids=["not-json", "no-choices", "no-usage", "string-count", "in-band-error"],
)
def test_a_200_outside_the_protocol_is_invalid(server: FakeServer, body: object) -> None:
    error = failure(server, Reply(200, body))  # type: ignore[arg-type]
    assert isinstance(error, InvalidResponse)


def test_a_refusal_is_fatal_not_invalid(server: FakeServer) -> None:
    error = failure(server, Reply(200, OPENAI_REFUSAL))
    assert type(error) is FatalProviderError
    assert "can't assist" in str(error)


def test_a_hanging_server_fails_within_the_timeout(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT, hang=5))
    started = time.monotonic()
    with pytest.raises(TransientProviderError, match=r"did not answer within 0\.3 s") as caught:
        complete(provider(server, api_key=KEY), request(timeout=0.3))
    assert time.monotonic() - started < 1.5
    assert_no_secret(caught.value)


def test_a_reset_connection_is_transient(server: FakeServer) -> None:
    error = failure(server, Reply(reset=True))
    assert type(error) is TransientProviderError
    assert "ConnectionResetError" in str(error)
    assert_no_secret(error)


def test_a_refused_connection_is_transient() -> None:
    refused = OpenAIProvider(f"http://127.0.0.1:{unused_port()}/v1", api_key=KEY)
    with pytest.raises(TransientProviderError, match="ConnectionRefusedError") as caught:
        complete(refused, request())
    assert_no_secret(caught.value)


def test_a_key_read_with_a_trailing_newline_is_stripped(server: FakeServer) -> None:
    server.script(Reply(200, OPENAI_CHAT))
    complete(provider(server, api_key=KEY + "\n"), request())
    assert server.received[0].headers["authorization"] == f"Bearer {KEY}"


def test_bad_configuration_is_refused_up_front_without_echoing_the_key() -> None:
    with pytest.raises(ValueError, match="whitespace or control") as caught:
        OpenAIProvider(api_key=KEY[:10] + "\n" + KEY[10:])
    assert KEY[:10] not in str(caught.value)
    with pytest.raises(ValueError, match="http:// or https://"):
        OpenAIProvider("ftp://example.org/v1")
    with pytest.raises(ValueError, match="invalid base_url"):
        OpenAIProvider("http://[::zz")
