"""The httpx plumbing the provider adapters share: one bounded, redacted POST (or GET).

In: an `httpx.AsyncClient`, an `Endpoint` (where, its secrets, how the protocol words its
errors), the `Request`, a JSON body, headers, and the adapter's reader of a decoded answer.
Out: the adapter's `Response`, its counts checked, its tool calls checked and its strings
cleaned (`call`); or whatever the adapter reads from a GET's answer (`fetch`, for
`list_models`), under the same bounds and the same translation of failures.

Guaranteed:
- every failure leaves as one of the kernel's `ProviderError`s, translated here at the boundary,
  most specific first, with `raise ... from exc`:

      httpx.TimeoutException, deadline passed    -> TransientProviderError
      httpx.UnsupportedProtocol, httpx.InvalidURL -> FatalProviderError
      httpx.TransportError (refused, reset, ...)  -> TransientProviderError
      HTTP 429                                    -> RateLimited(retry_after=...)
      HTTP 408, 5xx                               -> TransientProviderError
      any other non-2xx (redirects are not followed) -> FatalProviderError, the provider's words
      a body that cannot be decoded or is too large,
      a 2xx that is not JSON or lacks a field, impossible token counts,
      tool calls without ids, with duplicate ids, or past the bounds
                                                  -> InvalidResponse
      an answer cut at max_tokens in the middle of a tool call
                                                  -> FatalProviderError
      any other httpx error                       -> FatalProviderError

- time: the whole call, body included, ends within `timeout` seconds: httpx's timeouts bound each
  connect/read/write, and `anyio.fail_after` bounds their sum (a server trickling bytes is cut off);
- size: nothing the provider sends is held or processed beyond the bounds of `axoc.providers.body`
  (bodies, error words, header values, labels); token counts are checked by the kernel's rule
  (`axoc.kernel.usage`) before they leave the adapter;
- the event loop: decoding, checking and redacting a body run in a worker thread, each linear in
  the bounded size, so a signal is handled within milliseconds whatever the provider sends;
- no secret leaves: the endpoint's secrets (API key, secret headers, its URL's credentials and
  query values) in any case or encoding, `Bearer ...` values and masked keys are replaced by
  `[redacted]` in every message (`axoc.providers.redaction`); the answer's text, model name and
  finish reason, and its tool calls' ids, names, arguments and signatures, have the
  endpoint's secrets replaced too.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import httpx

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    ProviderError,
    RateLimited,
    Request,
    Response,
    ToolCall,
    TransientProviderError,
)
from axoc.kernel.usage import impossible
from axoc.providers import body, urls
from axoc.providers.redaction import REDACTED, Redactor

ErrorText = Callable[[object], str | None]
Parse = Callable[["Answer"], Response]
T = TypeVar("T")
_SNIPPET = 200  # characters of an unrecognised error body worth showing
MADE_UP_ID = "axoc-call-"  # the prefix of the ids an adapter makes up for calls sent without
LIST_TIMEOUT = 10.0  # seconds for one request of `list_models`


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret, bearer token and masked key replaced by `[redacted]`."""
    return Redactor(secrets)(text)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One adapter's endpoint: a name for messages, the URL, and how its error bodies read.

    `url` is where requests go, credentials included; `secrets` are the adapter's own (API key,
    secret headers): the URL's credentials and query values are added to them."""

    name: str  # "ollama", "api.openai.com", ...: the prefix of every message
    url: str
    error_text: ErrorText  # the provider's own error message from a decoded error body
    secrets: tuple[str, ...] = ()
    # seconds to wait that a 429's decoded body asks for, when no header says (Gemini's)
    retry_hint: Callable[[object], float | None] | None = None
    redactor: Redactor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "redactor", Redactor((*self.secrets, *urls.secrets(self.url))))

    def say(self, text: str) -> str:
        """A message: prefixed, redacted, one line of printable characters, bounded. What is
        cut before redaction is cut at whitespace (`_head`), so no secret is cut in two."""
        said = self.redactor(_head(f"{self.name}: {text}", 4 * body.MAX_MESSAGE))
        return _cut(_printable(said), body.MAX_MESSAGE)

    @property
    def shown_url(self) -> str:
        """The URL without user info, its query values redacted: fit for messages."""
        return urls.shown(self.url)


def new_client() -> httpx.AsyncClient:
    """The client an adapter owns when none is injected: no redirects, timeouts set per call."""
    return httpx.AsyncClient(follow_redirects=False)


@dataclass(frozen=True, slots=True)
class _Reply:
    """What was read of an answer: all later processing works on this, off the event loop."""

    status: int
    reason: str
    headers: dict[str, str]  # the few read, lower-cased names, values bounded
    body: body.Body | None  # None: a body that could not be decoded
    undecodable: str = ""


async def call(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    request: Request,
    payload: Mapping[str, object],
    headers: Mapping[str, str],
    parse: Parse,
) -> Response:
    """POST `payload`; the answer read by `parse`, checked and cleaned; or a `ProviderError`."""
    reply = await _exchange(client, endpoint, payload, headers, request.timeout)
    return await anyio.to_thread.run_sync(
        _interpret, endpoint, request, reply, parse, abandon_on_cancel=True
    )


async def fetch(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    headers: Mapping[str, str],
    read: Callable[[Answer], T],
    *,
    params: Mapping[str, str] | None = None,
    timeout: float = LIST_TIMEOUT,
) -> T:
    """GET `endpoint.url` (with `params` added to its query); what `read` makes of the answer,
    or a `ProviderError`, exactly as `call` translates them. For `list_models`."""
    reply = await _exchange(client, endpoint, None, headers, timeout, params)
    return await anyio.to_thread.run_sync(_read_answer, endpoint, reply, read)


async def fetch_names(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    headers: Mapping[str, str],
    read: Callable[[Answer], tuple[list[str], str | None]],
    first: Mapping[str, str],
    following: Callable[[str], Mapping[str, str]],
) -> list[str]:
    """A paged list (`list_models`): `read` gives a page's names and the cursor of the next
    page (None: the last); `first` is the first page's query, `following(cursor)` the next
    one's. At most `body.MAX_MODEL_PAGES` pages and `body.MAX_MODELS` names."""
    names: list[str] = []
    params = first
    for _ in range(body.MAX_MODEL_PAGES):
        page, cursor = await fetch(client, endpoint, headers, read, params=params)
        names += page
        if cursor is None or len(names) >= body.MAX_MODELS:
            break
        params = following(cursor)
    return names[: body.MAX_MODELS]


async def _exchange(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    payload: Mapping[str, object] | None,
    headers: Mapping[str, str],
    timeout: float,
    params: Mapping[str, str] | None = None,
) -> _Reply:
    """POST `payload` (GET when it is None) and read the answer within its bounds."""
    where = endpoint.shown_url
    sent = {"Accept-Encoding": "identity", **headers}
    method = "GET" if payload is None else "POST"
    url = httpx.URL(endpoint.url).copy_merge_params(params) if params else endpoint.url
    try:
        with anyio.fail_after(timeout):
            async with client.stream(
                method, url, json=payload, headers=sent, timeout=timeout
            ) as response:
                return await _read(response)
    except httpx.TimeoutException as exc:
        raise TransientProviderError(
            endpoint.say(f"{where} did not answer within {timeout:g} s ({type(exc).__name__})")
        ) from exc
    except TimeoutError as exc:  # anyio.fail_after: the whole call took too long
        raise TransientProviderError(
            endpoint.say(f"{where} did not answer within {timeout:g} s")
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise FatalProviderError(endpoint.say(f"cannot call {where}: {exc}")) from exc
    except httpx.TransportError as exc:
        raise TransientProviderError(
            endpoint.say(f"connection to {where} failed: {describe(exc)}")
        ) from exc
    except httpx.InvalidURL as exc:
        raise FatalProviderError(endpoint.say(f"invalid URL: {exc}")) from exc
    except httpx.HTTPError as exc:
        raise FatalProviderError(
            endpoint.say(f"cannot call {where}: {type(exc).__name__}: {exc}")
        ) from exc


async def _read(response: httpx.Response) -> _Reply:
    limit = body.MAX_ANSWER if response.is_success else body.MAX_ERROR
    bounds = {"retry-after": body.MAX_HEADER, "retry-after-ms": body.MAX_HEADER,
              "location": body.MAX_LOCATION}  # fmt: skip
    headers = {
        n: response.headers[n][: size + 1] for n, size in bounds.items() if n in response.headers
    }
    reason = _head(response.reason_phrase, body.MAX_LABEL)
    try:
        read = await body.read(response, limit)
    except body.BodyError as exc:
        return _Reply(response.status_code, reason, headers, None, str(exc))
    return _Reply(response.status_code, reason, headers, read)


def _interpret(endpoint: Endpoint, request: Request, reply: _Reply, parse: Parse) -> Response:
    """Run in a worker thread: the answer, or the error its status calls for."""
    answer = _decoded(endpoint, reply)
    response = parse(answer)
    problem = impossible(request, response.usage)
    if problem is not None:
        raise answer.invalid(f"impossible usage: {problem}")
    if response.tool_calls:
        _check_calls(answer, response, request)
    return _cleaned(response, endpoint.redactor)


def _read_answer(endpoint: Endpoint, reply: _Reply, read: Callable[[Answer], T]) -> T:
    """Run in a worker thread: what `read` makes of the answer, or the error its status calls
    for."""
    return read(_decoded(endpoint, reply))


def _decoded(endpoint: Endpoint, reply: _Reply) -> Answer:
    """The answer's JSON, or the error its status or body calls for."""
    if not 200 <= reply.status < 300:
        raise _status_error(reply, endpoint)
    if reply.body is None:
        raise InvalidResponse(endpoint.say(reply.undecodable), status=reply.status)
    if reply.body.cut:
        raise InvalidResponse(
            endpoint.say(f"the answer is larger than {body.MAX_ANSWER // 1024 // 1024} MiB"),
            status=reply.status,
        )
    try:
        decoded = json.loads(reply.body.data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, nesting
        start = reply.body.data[: 4 * _SNIPPET].decode("utf-8", "replace")
        shown = " ".join(_head(start, _SNIPPET, cut=len(reply.body.data) > 4 * _SNIPPET).split())
        raise InvalidResponse(
            endpoint.say(f"the answer is not JSON: {shown!r}"), status=reply.status
        ) from exc
    return Answer(decoded, endpoint)


def _check_calls(answer: Answer, response: Response, request: Request) -> None:
    """The tool calls are within the bounds of `axoc.providers.body`, each has an id, no two
    the same, and the answer was not cut at max_tokens in the middle of one."""
    calls = response.tool_calls
    if len(calls) > body.MAX_TOOL_CALLS:
        raise answer.invalid(f"{len(calls):,} tool calls, more than {body.MAX_TOOL_CALLS}")
    seen: set[str] = set()
    for number, tool_call in enumerate(calls, 1):
        which = f"tool call {number}"
        for part, size in (("id", body.MAX_TOOL_ID), ("name", body.MAX_TOOL_NAME),
                           ("arguments", body.MAX_ARGUMENTS)):  # fmt: skip
            value = getattr(tool_call, part)
            if not value and part != "arguments":
                raise answer.invalid(f"{which} has no {part}")
            if len(value) > size:
                raise answer.invalid(
                    f"{which} has {part} of {len(value):,} characters, more than {size:,}"
                )
        signature = tool_call.signature
        if signature is not None and len(signature) > body.MAX_SIGNATURE:
            raise answer.invalid(
                f"{which} has a signature of {len(signature):,} characters, more than "
                f"{body.MAX_SIGNATURE:,}"
            )
        if tool_call.id in seen:
            raise answer.invalid(
                f"{which} repeats the id {_quoted(tool_call.id)} of an earlier call"
            )
        seen.add(tool_call.id)
    if response.finish_reason == "length":
        cut = _quoted(calls[-1].name)
        limit = "" if request.max_tokens is None else f" ({request.max_tokens:,} tokens)"
        raise FatalProviderError(
            answer.endpoint.say(
                f"the answer was cut at max_tokens{limit} in the middle of tool call {cut}; "
                "its arguments may be incomplete, so it is not run: raise the agent's "
                "sampling.max_tokens"
            ),
            status=200,
        )


def _cleaned(response: Response, redactor: Redactor) -> Response:
    """The answer with the endpoint's secrets out of its strings (redacted before anything is
    cut, so no secret is cut in two), and its labels bounded."""
    clean = redactor.secrets
    return response._replace(
        text=clean(response.text),
        model=_label(response.model, clean),
        finish_reason=_label(response.finish_reason, clean),
        tool_calls=tuple(
            ToolCall(
                clean(c.id),
                clean(c.name),
                clean(_valid_text(c.arguments)),  # a lone surrogate serialized: U+FFFD
                None if c.signature is None else clean(c.signature),
            )
            for c in response.tool_calls
        ),
    )


def _quoted(text: str) -> str:
    """A provider's short string for a message, quoted; a long one by its size only."""
    return repr(text) if len(text) <= 40 else f"of {len(text):,} characters"


def made_up_id(index: int) -> str:
    """The id of the `index`-th call of an answer whose provider sent none: unique within the
    answer (`MADE_UP_ID` marks it, so an adapter knows not to send it back as the provider's)."""
    return f"{MADE_UP_ID}{index}"


def arguments_object(arguments: str) -> dict[str, Any]:
    """A call's arguments as the JSON object a wire format that carries objects (Anthropic's
    `input`, Gemini's `args`, Ollama's `arguments`) sends back; `{}` for arguments that are not
    a JSON object (the session answered that call with an error result the model sees)."""
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _label(value: str | None, clean: Callable[[str], str]) -> str | None:
    return None if value is None else _cut(clean(value), body.MAX_LABEL)


def _status_error(reply: _Reply, endpoint: Endpoint) -> ProviderError:
    """The `ProviderError` a non-2xx answer's status calls for."""
    status = reply.status
    message = endpoint.say(f"HTTP {status} {reply.reason}: {error_detail(reply, endpoint)}")
    if status == 429:
        wait = retry_after(reply.headers)
        if wait is None and endpoint.retry_hint is not None:
            wait = _hinted(reply, endpoint.retry_hint)
        return RateLimited(message, retry_after=wait)
    if status == 408 or status >= 500:
        return TransientProviderError(message, status=status)
    return FatalProviderError(message, status=status)


def _hinted(reply: _Reply, hint: Callable[[object], float | None]) -> float | None:
    """What the endpoint's `retry_hint` reads in a whole (not cut) JSON error body."""
    if reply.body is None or reply.body.cut:
        return None
    try:
        return hint(json.loads(reply.body.data))
    except (ValueError, RecursionError):
        return None


def error_detail(reply: _Reply, endpoint: Endpoint) -> str:
    """The provider's own error message if its body has one, else the start of the body: whole
    words only (see `_head`), at most `MAX_WORDS` characters."""
    if 300 <= reply.status < 400 and "location" in reply.headers:
        where = reply.headers["location"]
        if len(where) > body.MAX_LOCATION:
            return f"redirected to an address longer than {body.MAX_LOCATION:,} characters"
        where = _cut(endpoint.redactor(where), body.MAX_LABEL)  # redacted, then cut
        return f"redirected to {where}; set base_url to that address"
    if reply.body is None:
        return f"(a body that cannot be read: {reply.undecodable})"
    found = None
    if not reply.body.cut:
        try:
            found = endpoint.error_text(json.loads(reply.body.data))
        except (ValueError, RecursionError):
            found = None
    if found:
        return " ".join(_head(found, body.MAX_WORDS).split())
    text = reply.body.data[: 4 * _SNIPPET].decode("utf-8", "replace")
    cut = reply.body.cut or len(reply.body.data) > 4 * _SNIPPET
    return " ".join(_head(text, _SNIPPET, cut=cut).split()) or "(empty body)"


def _head(text: str, size: int, *, cut: bool = False) -> str:
    """The start of `text`, at most `size` characters; when that is not all of it (or `cut`:
    it is the start of something longer), it ends before the word that was cut, then `…`.

    A secret, in any of its encodings, is one word (no whitespace): cut at whitespace, none is
    cut in two before redaction gets to see it. A single word longer than `size` is not shown."""
    if len(text) <= size and not cut:
        return text
    start = text[: size + 1]
    keep = max(start.rfind(space) for space in " \t\r\n")
    return start[: max(0, keep)].rstrip() + " …"


def describe(exc: BaseException) -> str:
    """The most telling words of an exception chain: its root OSError's, else its own."""
    root: OSError | None = None
    link: BaseException | None = exc
    for _ in range(16):  # chains are short; the bound only guards against a cycle
        if link is None:
            break
        if isinstance(link, OSError) and link.strerror:
            root = link
        link = link.__cause__ or link.__context__
    if root is not None:
        return f"{type(root).__name__}: {root.strerror}"
    return str(exc) or type(exc).__name__


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL; a ValueError naming the problem otherwise."""
    shown = redact(urls.shown(url), urls.secrets(url))
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(
            f"invalid base_url {shown!r}: {redact(str(exc), urls.secrets(url))}"
        ) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http:// or https:// URL, not {shown!r}")
    return url


def _printable(text: str) -> str:
    """`text` on one line a terminal shows as it is: a space for each space or line break, U+FFFD
    for anything else not printable (control characters, escape sequences' ESC, bidirectional
    overrides, unassigned code points)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else " " if c.isspace() else "\N{REPLACEMENT CHARACTER}" for c in text
    )


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP-date).

    `retry-after-ms` is OpenAI's non-standard, more precise header (honoured first, as the
    official openai-python client does); `Retry-After` is RFC 9110 §10.2.3. A value longer than
    `MAX_HEADER` characters is no value.
    """
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None or len(value) > body.MAX_HEADER:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(value: str | None) -> float | None:
    if value is None or len(value) > body.MAX_HEADER:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class Answer:
    """A decoded 2xx body, read by dotted paths (`"choices.0.message.content"`).

    Anything missing or of the wrong type raises `InvalidResponse` naming the path.
    """

    def __init__(self, payload: object, endpoint: Endpoint) -> None:
        self.payload = payload
        self.endpoint = endpoint

    def get(self, path: str) -> object:
        """The value at `path`, or None when it is absent (or JSON null)."""
        node = self.payload
        for step in path.split("."):
            if isinstance(node, dict):
                node = node.get(step)
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                return None
        return node

    def text(self, path: str) -> str:
        value = self.get(path)
        if not isinstance(value, str):
            raise self.invalid(f"`{path}` is {_kind(value)}, not a string")
        return _valid_text(value)

    def optional_text(self, path: str) -> str | None:
        value = self.get(path)
        return _valid_text(value) if isinstance(value, str) else None

    def count(self, path: str) -> int:
        """A token count: a JSON integer, never negative (its upper bounds: `axoc.kernel.usage`)."""
        value = self.get(path)
        if type(value) is not int or value < 0:
            raise self.invalid(f"`{path}` is {_kind(value)}, not a token count")
        return value

    def optional_count(self, path: str) -> int:
        """A token count that may be absent (or null): absent is 0."""
        return 0 if self.get(path) is None else self.count(path)

    def items(self, path: str) -> list[object]:
        """A JSON array."""
        value = self.get(path)
        if not isinstance(value, list):
            raise self.invalid(f"`{path}` is {_kind(value)}, not a list")
        return value

    def invalid(self, why: str) -> InvalidResponse:
        return InvalidResponse(self.endpoint.say(f"answer not in the protocol: {why}"), status=200)


def _valid_text(value: str) -> str:
    """`value` as UTF-8 can carry it: a lone surrogate (JSON's `\\ud800`) becomes U+FFFD."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\N{REPLACEMENT CHARACTER}", value)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _kind(value: object) -> str:
    """What a value is, for a message: a short string or a number as it is, anything else by
    its type and size (never a long text, which could be cut in the middle of a secret)."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return f"str {value!r}" if len(value) <= 40 else f"a string of {len(value):,} characters"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return "an int of more than 40 digits"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"an object of {len(value):,} keys"
    return type(value).__name__


__all__ = [
    "LIST_TIMEOUT",
    "REDACTED",
    "Answer",
    "Endpoint",
    "arguments_object",
    "call",
    "check_url",
    "fetch",
    "made_up_id",
    "new_client",
    "redact",
]
