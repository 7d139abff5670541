"""Everything a provider controls is bounded before it is processed (`axoc.providers.body`):
bodies, error messages, headers, labels and token counts, through a real loopback server. Before,
a 40 KB `error.message` in a 400 took 36 s, and a 50 MB one never ended."""

from __future__ import annotations

import gzip
import json
import time
import zlib
from typing import Any

import pytest

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    ProviderError,
    RateLimited,
    Request,
    Response,
    TransientProviderError,
)
from axoc.kernel.usage import SERVER_PROMPT_ALLOWANCE
from axoc.providers.body import MAX_ANSWER, MAX_ERROR, MAX_LABEL, MAX_MESSAGE, MAX_WORDS
from axoc.providers.ollama import OllamaProvider
from axoc.providers.openai import OpenAIProvider
from tests.providers.servers import OLLAMA_CHAT, OPENAI_CHAT, FakeServer, Reply, complete
from tests.providers.test_openai import KEY, request


def openai(server: FakeServer) -> OpenAIProvider:
    return OpenAIProvider(server.url + "/v1", api_key=KEY)


def answer(**usage: object) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.dumps(OPENAI_CHAT))
    body["usage"].update(usage)
    return body


def failure(server: FakeServer, reply: Reply, call: Request | None = None) -> ProviderError:
    server.script(reply)
    with pytest.raises(ProviderError) as caught:
        complete(openai(server), call or request())
    return caught.value


def timed_failure(server: FakeServer, reply: Reply) -> tuple[ProviderError, float]:
    started = time.monotonic()
    error = failure(server, reply)
    return error, time.monotonic() - started


@pytest.mark.parametrize("size", [40_000, 80_000, 50_000_000], ids=["40KB", "80KB", "50MB"])
def test_a_huge_error_message_fails_at_once_with_a_bounded_message(
    server: FakeServer, size: int
) -> None:
    reply = Reply(400, {"error": {"message": "Invalid " + "a" * size + " end"}})
    error, took = timed_failure(server, reply)
    assert type(error) is FatalProviderError and error.status == 400
    assert took < 2.0
    assert len(str(error)) <= MAX_MESSAGE
    assert str(error).startswith("127.0.0.1:") and "HTTP 400 Bad Request: " in str(error)


def test_a_long_readable_error_message_shows_its_first_words(server: FakeServer) -> None:
    words = " ".join(f"word{i}" for i in range(20_000))
    error = failure(server, Reply(400, {"error": {"message": words}}))
    shown = str(error).split("HTTP 400 Bad Request: ", 1)[1]
    assert shown.startswith("word0 word1 word2") and shown.endswith(" …")
    assert MAX_WORDS - 10 <= len(shown) <= MAX_WORDS + 2


def test_an_error_body_is_read_no_further_than_its_bound(server: FakeServer) -> None:
    # The key sits just past the bound: it is never read, so its start cannot show either.
    body = b"x " * (MAX_ERROR // 2 - 5) + b"sk-" + KEY.encode() + b" " + b"y" * 100_000
    error = failure(server, Reply(503, body))
    assert "sk-" not in str(error) and KEY[:8] not in str(error)
    assert len(str(error)) <= MAX_MESSAGE


def test_the_word_cut_at_the_bound_is_dropped(server: FakeServer) -> None:
    # Readable words up to the bound, the key starting just before it: not a prefix shown.
    body = b"\n" * (MAX_ERROR - 20) + KEY.upper().encode() + b" more"
    error = failure(server, Reply(500, body))
    assert KEY[:10].upper() not in str(error) and KEY[:10] not in str(error)


def test_a_huge_answer_is_invalid_and_not_read_to_its_end(server: FakeServer) -> None:
    body = answer()
    body["choices"][0]["message"]["content"] = "a" * (4 * MAX_ANSWER)
    error, took = timed_failure(server, Reply(200, body))
    assert type(error) is InvalidResponse
    assert "larger than 8 MiB" in str(error)
    assert took < 3.0


def test_a_compression_bomb_is_cut_at_the_bound(server: FakeServer) -> None:
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 1024 * 1024
    error, took = timed_failure(server, Reply(200, bomb, {"Content-Encoding": "gzip"}))
    assert type(error) is InvalidResponse and "larger than 8 MiB" in str(error)
    assert took < 3.0


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress),
     ("deflate", lambda data: zlib.compress(data)[2:-4])],  # raw deflate, as some servers send
    ids=["gzip", "deflate", "raw-deflate"],
)  # fmt: skip
def test_a_compressed_answer_is_read(server: FakeServer, encoding: str, compress: Any) -> None:
    server.script(
        Reply(200, compress(json.dumps(OPENAI_CHAT).encode()), {"Content-Encoding": encoding})
    )
    response = complete(openai(server), request())
    assert response.text == "Hello! How can I assist you today?"
    assert server.received[0].headers["accept-encoding"] == "identity"


def test_an_encoding_axoc_does_not_read_is_invalid(server: FakeServer) -> None:
    error = failure(server, Reply(200, b"\x1b\x00", {"Content-Encoding": "br"}))
    assert type(error) is InvalidResponse and "'br' is not read" in str(error)
    error = failure(server, Reply(200, b"\xff" * 64, {"Content-Encoding": "deflate"}))
    assert type(error) is InvalidResponse and "undecodable answer" in str(error)
    cut_short = gzip.compress(json.dumps(OPENAI_CHAT).encode())[:-12]
    error = failure(server, Reply(200, cut_short, {"Content-Encoding": "gzip"}))
    assert type(error) is InvalidResponse and "ends before its end" in str(error)
    error = failure(server, Reply(500, b"\xff" * 64, {"Content-Encoding": "gzip"}))
    assert type(error) is TransientProviderError and "a body that cannot be read" in str(error)


def test_deep_nesting_is_invalid_not_a_crash(server: FakeServer) -> None:
    error = failure(server, Reply(200, b"[" * 200_000 + b"]" * 200_000))
    assert type(error) is InvalidResponse and "not JSON" in str(error)
    error = failure(server, Reply(400, b'{"error": ' + b"[" * 200_000))
    assert type(error) is FatalProviderError


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "9" * 10_000}, None), ({"Retry-After": "1" * 65}, None),
     ({"Retry-After": "nan"}, None), ({"Retry-After": "inf"}, None),
     ({"Retry-After": "-5"}, None), ({"retry-after-ms": "1e400"}, None),
     ({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, 253402300799.0),
     ({"Retry-After": "Fri, 31 Dec 99999 23:59:59 GMT"}, None),
     ({"Retry-After": "1e308"}, 1e308)],
    ids=["10k-digits", "65-chars", "nan", "inf", "negative", "ms-overflow", "year-9999",
         "year-99999", "1e308"],
)  # fmt: skip
def test_a_retry_after_is_read_only_within_bounds(
    server: FakeServer, headers: dict[str, str], expected: float | None
) -> None:
    error, took = timed_failure(server, Reply(429, {"error": {"message": "slow down"}}, headers))
    assert isinstance(error, RateLimited)
    if expected is not None and expected > 1e11:  # an HTTP date: seconds from now
        assert error.retry_after is not None and error.retry_after > 1e11
    else:
        assert error.retry_after == expected
    assert took < 2.0  # the driver waits at most 60 s, whatever the header says


@pytest.mark.parametrize("size", [1_000, 3_000, 100_000])
def test_a_redirect_location_is_bounded(server: FakeServer, size: int) -> None:
    where = f"https://elsewhere.example/?api-key={KEY}&p=" + "p" * size
    error, took = timed_failure(server, Reply(307, b"", {"Location": where}))
    assert len(str(error)) <= MAX_MESSAGE and took < 2.0
    assert KEY not in str(error) and KEY[:8] not in str(error)
    if size < 2_000:
        assert type(error) is FatalProviderError
        assert "redirected to https://elsewhere.example/?api-key=[redacted]&p=ppp" in str(error)
    elif size < 10_000:
        assert "redirected to an address longer than 2,048 characters" in str(error)
    # longer still, httpx itself refuses the header (a protocol error): any ProviderError


def test_labels_are_bounded_and_texts_stay_utf8(server: FakeServer) -> None:
    body = answer()
    body["model"] = "m" * 1_000_000
    body["choices"][0]["finish_reason"] = "stop" * 100_000
    body["choices"][0]["message"]["content"] = "half a pair: \ud83d!"
    server.script(Reply(200, json.dumps(body).encode()))
    response = complete(openai(server), request())
    assert response.model is not None and len(response.model) <= MAX_LABEL
    assert response.finish_reason is not None and len(response.finish_reason) <= MAX_LABEL
    assert response.text == "half a pair: \N{REPLACEMENT CHARACTER}!"
    response.text.encode("utf-8")  # what the journal and stdout will do with it


def test_control_characters_in_an_error_never_reach_a_terminal(server: FakeServer) -> None:
    message = "bad\x1b]0;pwned\x07 request\x1b[2J\x00 here\x9b31m"
    error = failure(server, Reply(400, {"error": {"message": message}}))
    assert str(error).isprintable()
    assert "bad\N{REPLACEMENT CHARACTER}]0;pwned" in str(error)


# --- token counts ----------------------------------------------------------------------------

IMPOSSIBLE = {
    "negative": {"prompt_tokens": -1},
    "float": {"completion_tokens": 10.0},
    "float-nan": {"completion_tokens": float("nan")},
    "bool": {"prompt_tokens": True},
    "string": {"completion_tokens": "10"},
    "null": {"completion_tokens": None},
    "10^30": {"completion_tokens": 10**30},
    "4300-digits": {"completion_tokens": int("9" * 4300)},
    "4301-digits": {},  # written into the body below: Python refuses to print it
    "over-max_tokens": {"completion_tokens": 257},
    "over-the-prompt": {"prompt_tokens": 58 + SERVER_PROMPT_ALLOWANCE + 1},
}


@pytest.mark.parametrize("case", list(IMPOSSIBLE), ids=list(IMPOSSIBLE))
def test_impossible_counts_are_an_invalid_response(server: FakeServer, case: str) -> None:
    body = json.dumps(answer(**IMPOSSIBLE[case])).encode()
    if case == "4301-digits":
        body = body.replace(b'"completion_tokens": 10', b'"completion_tokens": ' + b"9" * 4301)
    error, took = timed_failure(server, Reply(200, body))
    assert type(error) is InvalidResponse, error
    assert len(str(error)) < 400 and took < 2.0


def test_the_largest_possible_counts_are_accepted(server: FakeServer) -> None:
    # 58: the kernel's estimate of `request()`'s two messages
    server.script(
        Reply(200, answer(prompt_tokens=58 + SERVER_PROMPT_ALLOWANCE, completion_tokens=256))
    )
    response = complete(openai(server), request())
    assert response.usage[:2] == (58 + SERVER_PROMPT_ALLOWANCE, 256)


def test_ollama_counts_are_checked_the_same_way(server: FakeServer) -> None:
    server.script(Reply(200, {**OLLAMA_CHAT, "eval_count": 10**30}))
    with pytest.raises(InvalidResponse, match="impossible usage"):
        complete(OllamaProvider(server.url), request(max_tokens=512))
    server.script(Reply(200, OLLAMA_CHAT))  # 298 output tokens: more than 256 asked for
    with pytest.raises(InvalidResponse, match=r"298 output tokens reported .* at most 256"):
        complete(OllamaProvider(server.url), request(max_tokens=256))
    server.script(Reply(200, OLLAMA_CHAT))
    assert isinstance(complete(OllamaProvider(server.url), request(max_tokens=298)), Response)
