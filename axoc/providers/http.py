"""The httpx plumbing the provider adapters share.

In: an `httpx.AsyncClient`, an `Endpoint` (where, and how the protocol words its errors), a JSON
body, headers and a deadline. Out: the decoded JSON body of a 2xx answer, read through `Answer`.

Guaranteed:
- every failure leaves as one of the kernel's `ProviderError`s, translated here at the boundary,
  most specific first, with `raise ... from exc`:

      httpx.TimeoutException, deadline passed    -> TransientProviderError
      httpx.UnsupportedProtocol, httpx.InvalidURL -> FatalProviderError
      httpx.TransportError (refused, reset, ...)  -> TransientProviderError
      HTTP 429                                    -> RateLimited(retry_after=...)
      HTTP 408, 5xx                               -> TransientProviderError
      any other non-2xx (redirects are not followed) -> FatalProviderError, the provider's words
      httpx.DecodingError, a 2xx that is not JSON
      or lacks a field                            -> InvalidResponse

- the whole call, body included, ends within `timeout` seconds: httpx's timeouts bound each
  connect/read/write, and `anyio.fail_after` bounds their sum (a server trickling bytes is cut off);
- no message carries a secret: the endpoint's secrets, `Bearer ...` values and masked keys such as
  OpenAI's `sk-abc***...wxyz` are replaced by `[redacted]` before a message is built.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC

import anyio
import httpx

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    RateLimited,
    TransientProviderError,
)

REDACTED = "[redacted]"
_SNIPPET = 200  # characters of an unrecognised error body worth showing
_MASKED = re.compile(r"Bearer\s+\S+|\bsk-[\w*-]{6,}|[\w-]*\*{4,}[\w-]*")

ErrorText = Callable[[object], str | None]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret, bearer token and masked key replaced by `[redacted]`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _MASKED.sub(REDACTED, text)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One adapter's endpoint: a name for messages, the URL, and how its error bodies read."""

    name: str  # "ollama", "openai", ...: the prefix of every message
    url: str
    error_text: ErrorText  # the provider's own error message from a decoded error body
    secrets: tuple[str, ...] = ()

    def say(self, text: str) -> str:
        return redact(f"{self.name}: {text}", self.secrets)

    @property
    def shown_url(self) -> str:
        """The URL without user info, fit for messages."""
        return str(httpx.URL(self.url).copy_with(username=None, password=None))


def new_client() -> httpx.AsyncClient:
    """The client an adapter owns when none is injected: no redirects, timeouts set per call."""
    return httpx.AsyncClient(follow_redirects=False)


async def post_json(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    body: Mapping[str, object],
    headers: Mapping[str, str],
    timeout: float,
) -> object:
    """POST `body` and return the decoded JSON answer, or raise a `ProviderError`."""
    where = endpoint.shown_url
    try:
        with anyio.fail_after(timeout):
            response = await client.post(
                endpoint.url, json=body, headers=dict(headers), timeout=timeout
            )
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
    except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
        raise InvalidResponse(endpoint.say(f"undecodable answer: {exc}")) from exc
    raise_for_status(response, endpoint)
    try:
        return json.loads(response.content)
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise InvalidResponse(
            endpoint.say(f"the answer is not JSON: {snippet(response.text)!r}"),
            status=response.status_code,
        ) from exc


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
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"invalid base_url {redact(url)!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an http:// or https:// URL, not {redact(url)!r}")
    return url


def raise_for_status(response: httpx.Response, endpoint: Endpoint) -> None:
    """Translate a non-2xx answer into the `ProviderError` its status calls for."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = endpoint.say(
        f"HTTP {status} {response.reason_phrase}: {error_detail(response, endpoint)}"
    )
    if status == 429:
        raise RateLimited(message, retry_after=retry_after(response.headers))
    if status == 408 or status >= 500:
        raise TransientProviderError(message, status=status)
    raise FatalProviderError(message, status=status)


def error_detail(response: httpx.Response, endpoint: Endpoint) -> str:
    """The provider's own error message if its body has one, else the start of the body."""
    if response.is_redirect:
        return f"redirected to {response.headers.get('location')}; set base_url to that address"
    try:
        found = endpoint.error_text(json.loads(response.content))
    except ValueError:
        found = None
    return found if found else snippet(response.text) or "(empty body)"


def snippet(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= _SNIPPET else words[: _SNIPPET - 1] + "…"


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP-date).

    `retry-after-ms` is OpenAI's non-standard, more precise header (honoured first, as the
    official openai-python client does); `Retry-After` is RFC 9110 §10.2.3.
    """
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
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
        return value

    def optional_text(self, path: str) -> str | None:
        value = self.get(path)
        return value if isinstance(value, str) else None

    def count(self, path: str) -> int:
        value = self.get(path)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.invalid(f"`{path}` is {_kind(value)}, not a token count")
        return value

    def invalid(self, why: str) -> InvalidResponse:
        return InvalidResponse(self.endpoint.say(f"answer not in the protocol: {why}"), status=200)


def _kind(value: object) -> str:
    return "missing" if value is None else f"{type(value).__name__} {snippet(repr(value))}"
