"""Generated provider misbehaviour, for the property tests that throw it at the adapters and at
`axoc run` through the real loopback server: statuses, bodies (answers with impossible counts,
error messages of every size, junk, compressed), headers (Retry-After, Location), and the
endpoint's secrets echoed back in every case and encoding; and `leaks`, which finds a secret in
a text by its own means (not the redactor's), so the tests do not grade the redactor against
itself."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from tests.providers.recorded import ANTHROPIC_CHAT, GEMINI_CHAT
from tests.providers.servers import OLLAMA_CHAT, OPENAI_CHAT, Reply

KEY = "sk-proj-Hq7Zt2Lm9Vb4Nc8Xr1Wk6Yd3Pf5Js0Ae"  # the API key
QUERY_KEY = "qk_8d41a9c6b27e4f0f93d5c1a7e26b8f40"  # ?api-key=...
PASSWORD = "pw-Tn5Rk2Gx8Mv1Bq7Lc4Hz"  # user:PASSWORD@host
SECRETS = (KEY, QUERY_KEY, PASSWORD)

ECHOES: dict[str, Callable[[str], str]] = {
    "as-is": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "mixed": lambda s: "".join(c.upper() if i % 3 else c.lower() for i, c in enumerate(s)),
    "url": lambda s: quote(s, safe=""),
    "url-plus": quote_plus,
    "url-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "json": lambda s: json.dumps(s)[1:-1],
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "basic": lambda s: "Basic " + base64.b64encode(f"me:{s}".encode()).decode(),
    "bearer": lambda s: f"Bearer {s}",
    "in-blob": lambda s: base64.b64encode(f"x{s}yz".encode()).decode(),
}


def forms(secret: str) -> list[str]:
    """Windows of 12 characters from the middle of each way `secret` can be written, lowercased:
    none may appear in anything axoc shows or records."""
    found = []
    raw = secret.encode()
    for shown in (secret, quote(secret, safe=""), raw.hex()):
        middle = len(shown) // 2
        found.append(shown[middle - 6 : middle + 6].lower())
    for shift in range(3):  # base64 at each alignment, both alphabets
        encoded = base64.b64encode(bytes(shift) + raw).decode()
        middle = len(encoded) // 2
        window = encoded[middle - 6 : middle + 6]
        found += [window.lower(), window.translate(str.maketrans("+/", "-_")).lower()]
    return found


FORMS = {secret: forms(secret) for secret in SECRETS}


def leaks(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Which of `secrets` `text` shows, in any case or encoding."""
    lowered = text.lower()
    return [s for s in secrets if any(w in lowered for w in FORMS[s])]


ECHO = st.builds(lambda f, s: ECHOES[f](s), st.sampled_from(sorted(ECHOES)),
                 st.sampled_from(SECRETS))  # fmt: skip
FILLERS = ["a", "word ", "*", "sk-", "Bearer ", "é", "\x1b[2J", "\n", "ab****", "\\ud800", "\u202e"]
# Provider words: fillers repeated up to 1.5 million times (past the 1 MiB bound of an error
# body) around echoed secrets.
PIECE = st.builds(
    lambda filler, times: filler * times,
    st.sampled_from(FILLERS),
    st.sampled_from([0, 1, 10, 1_000, 70_000, 1_500_000]),
)
TEXT = st.lists(st.one_of(PIECE, ECHO, st.text(max_size=20)), max_size=4).map("".join)
COUNT = st.one_of(
    st.integers(0, 300),
    st.sampled_from([-1, 10**30, int("9" * 4300), 1_000_000_001, 2**63, 40_000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
)


# Tool calls as a misbehaving provider writes them: ids missing, repeated, huge or echoing a
# secret; names of any text; arguments of any JSON value, or text.
UUID = st.uuids().map(str)
CALL_ID = st.one_of(UUID, UUID, UUID, st.none(), st.just("same"), st.just(""), TEXT)
ARGUMENTS = st.one_of(
    st.just({"timezone": "UTC"}),
    st.dictionaries(st.text(max_size=5), st.one_of(TEXT, COUNT), max_size=3),
    TEXT,
    COUNT,
    st.lists(TEXT, max_size=2),
)
# mostly possible counts, so that answers with calls get through to be checked
FAIR_COUNT = st.one_of(st.integers(0, 200), st.integers(0, 200), COUNT)
NAME = st.one_of(st.just("get_time"), st.just("get_time"), TEXT)
CALL = st.fixed_dictionaries({"id": CALL_ID, "name": NAME,
                              "arguments": ARGUMENTS})  # fmt: skip
CALLS = st.lists(CALL, max_size=3)
FINISH = st.sampled_from(["stop", "tool_calls", "STOP", "end_turn", "tool_use", "stop",
                          "tool_calls", "STOP", "end_turn", "tool_use", "length", "MAX_TOKENS",
                          "SAFETY", "max_tokens", "refusal", "junk"])  # fmt: skip


def _optional(key: str, value: object) -> dict[str, object]:
    return {} if value is None else {key: value}


def _tool_answer(draw: st.DrawFn, protocol: str) -> dict[str, Any]:
    calls = draw(CALLS)
    text = draw(TEXT)
    if protocol == "anthropic":
        body = json.loads(json.dumps(ANTHROPIC_CHAT))
        body["content"] = [{"type": "text", "text": text}] + [
            {"type": "tool_use", **_optional("id", c["id"]), "name": c["name"],
             "input": c["arguments"]}
            for c in calls
        ]  # fmt: skip
        body["stop_reason"] = draw(FINISH)
        body["usage"] = {"input_tokens": draw(FAIR_COUNT), "output_tokens": draw(FAIR_COUNT),
                         "cache_read_input_tokens": draw(FAIR_COUNT)}  # fmt: skip
    elif protocol == "gemini":
        body = json.loads(json.dumps(GEMINI_CHAT))
        parts: list[Any] = [{"text": text}] + [
            {"functionCall": {**_optional("id", c["id"]), "name": c["name"],
                              "args": c["arguments"]},
             **_optional("thoughtSignature", draw(st.one_of(st.none(), TEXT)))}
            for c in calls
        ]  # fmt: skip
        body["candidates"][0]["content"]["parts"] = parts
        body["candidates"][0]["finishReason"] = draw(FINISH)
        body["usageMetadata"] = {"promptTokenCount": draw(FAIR_COUNT),
                                 "candidatesTokenCount": draw(FAIR_COUNT),
                                 "cachedContentTokenCount": draw(FAIR_COUNT)}  # fmt: skip
    elif protocol == "openai-tools":
        body = json.loads(json.dumps(OPENAI_CHAT))
        message = body["choices"][0]["message"]
        message["content"] = draw(st.one_of(st.none(), st.just(""), TEXT))
        message["tool_calls"] = [
            {**_optional("id", c["id"]), "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]  # fmt: skip
        body["choices"][0]["finish_reason"] = draw(FINISH)
        body["usage"]["prompt_tokens"] = draw(FAIR_COUNT)
        body["usage"]["completion_tokens"] = draw(FAIR_COUNT)
        body["usage"]["prompt_tokens_details"] = {"cached_tokens": draw(FAIR_COUNT)}
    else:  # ollama-tools
        body = json.loads(json.dumps(OLLAMA_CHAT))
        body["message"]["content"] = text
        body["message"]["tool_calls"] = [
            {**_optional("id", c["id"]),
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls
        ]  # fmt: skip
        body["done_reason"] = draw(FINISH)
        body["prompt_eval_count"] = draw(FAIR_COUNT)
        body["eval_count"] = draw(FAIR_COUNT)
    return body


@st.composite
def _answer(draw: st.DrawFn, protocol: str) -> dict[str, Any]:
    if protocol in TOOL_PROTOCOLS:
        return _tool_answer(draw, protocol)
    if protocol == "openai":
        body: dict[str, Any] = json.loads(json.dumps(OPENAI_CHAT))
        body["choices"][0]["message"]["content"] = draw(TEXT)
        body["usage"]["prompt_tokens"] = draw(COUNT)
        body["usage"]["completion_tokens"] = draw(COUNT)
    else:
        body = json.loads(json.dumps(OLLAMA_CHAT))
        body["message"]["content"] = draw(TEXT)
        body["prompt_eval_count"] = draw(COUNT)
        body["eval_count"] = draw(COUNT)
    body["model"] = draw(st.one_of(st.just("m"), TEXT))
    return body


TOOL_PROTOCOLS = ("anthropic", "gemini", "openai-tools", "ollama-tools")
PROTOCOLS = ("openai", "ollama", *TOOL_PROTOCOLS)
ANSWERS = {protocol: _answer(protocol) for protocol in PROTOCOLS}
ERROR_BODY = st.one_of(
    st.builds(lambda m: {"error": {"message": m, "type": "invalid_request_error"}}, TEXT),
    st.builds(lambda m: {"error": m}, TEXT),
    st.builds(lambda m: {"message": m}, TEXT),
    st.builds(lambda m: {"object": "error", "message": {"detail": [{"msg": m}]}}, TEXT),
)
STATUS = st.sampled_from([200, 200, 200, 201, 302, 307, 400, 401, 403, 404, 408, 422, 429, 500,
                          502, 503])  # fmt: skip
STATUS_TOOLS = st.sampled_from([200] * 8 + [400, 401, 429, 500, 529, 302])
RETRY_AFTER = st.one_of(
    st.sampled_from(["1", "0.01", "1e308", "nan", "-1", "Fri, 31 Dec 9999 23:59:59 GMT"]),
    st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=80),
    ECHO,
)


def _payload(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    # a lone surrogate as a server can send it, escaped, whatever Python thinks of it
    return json.dumps(value).replace("\\\\ud800", "\\ud800").encode()


@st.composite
def _reply(draw: st.DrawFn, protocol: str) -> Reply:
    status = draw(STATUS_TOOLS if protocol in TOOL_PROTOCOLS else STATUS)
    content: object
    if 200 <= status < 300:
        answers = ANSWERS[protocol]
        content = draw(st.one_of(answers, answers, ERROR_BODY, st.binary(max_size=200), TEXT))
    else:
        content = draw(st.one_of(ERROR_BODY, ERROR_BODY, st.binary(max_size=200), TEXT))
    payload = _payload(content)
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["Retry-After"] = draw(RETRY_AFTER)
    if 300 <= status < 400:
        headers["Location"] = "https://elsewhere.example/v1?k=" + draw(ECHO)
    if draw(st.booleans()):
        headers["X-Echo"] = draw(ECHO)
    if draw(st.integers(0, 4)) == 0:
        headers["Content-Encoding"] = "gzip"
        payload = gzip.compress(payload, compresslevel=1)
    return Reply(status, payload, headers)


REPLIES = {protocol: _reply(protocol) for protocol in PROTOCOLS}


def reply(protocol: str) -> st.SearchStrategy[Reply]:
    """One misbehaving (or well-behaved) answer of `protocol` ("openai", "ollama", or, with
    tool calls, "anthropic", "gemini", "openai-tools", "ollama-tools")."""
    return REPLIES[protocol]


def answer_reply(protocol: str) -> st.SearchStrategy[Reply]:
    """A 200 whose body is a generated answer of `protocol` (tool calls and all), as JSON."""
    return ANSWERS[protocol].map(lambda body: Reply(200, _payload(body)))
