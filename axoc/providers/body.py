"""Reading what a provider sends, within bounds fixed before a byte is read.

In: an `httpx.Response` being streamed, and the most bytes worth reading. Out: a `Body`, the
bytes read (decoded from gzip or deflate if the server compressed them) and whether the body
went on past the bound. The rest is never read: the connection is closed, not drained.

The bounds are documented in docs/kernel.md ("What a provider may send"), and are the only
sizes of provider data axoc ever holds:
- an answer (2xx) body: `MAX_ANSWER` bytes, decoded (larger is an invalid response);
- an error (non-2xx) body: `MAX_ERROR` bytes read (the rest is not read, and not shown);
- a provider's words in an error message: `MAX_WORDS` characters (whole words), and the whole
  message `MAX_MESSAGE` characters, after redaction;
- a header value read: Retry-After and retry-after-ms `MAX_HEADER` characters (a longer one is
  no value), Location `MAX_LOCATION` (a longer one is not shown; a shown one is cut to
  `MAX_LABEL` after redaction);
- the model name and finish reason of an answer: `MAX_LABEL` characters;
- the tool calls of an answer: at most `MAX_TOOL_CALLS`, each with an id of at most
  `MAX_TOOL_ID` characters, a name of at most `MAX_TOOL_NAME`, arguments of at most
  `MAX_ARGUMENTS` and a signature (Gemini's `thoughtSignature`) of at most `MAX_SIGNATURE`
  (more is an invalid response);
- the pages of a model list (`list_models`): `MAX_MODEL_PAGES` requests, `MAX_MODELS` names.
A compressed body is decompressed at most to its bound (`zlib`'s `max_length`): a small
compressed body that would expand to gigabytes is cut like any other large body.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx

MAX_ANSWER = 8 * 1024 * 1024  # bytes of a 2xx body
MAX_ERROR = 1024 * 1024  # bytes of a non-2xx body
MAX_WORDS = 1000  # characters of a provider's words in an error message
MAX_MESSAGE = 1500  # characters of an error message, everything included
MAX_HEADER = 64  # characters of a Retry-After or retry-after-ms value that is read at all
MAX_LOCATION = 2048  # characters of a redirect's Location that is read at all
MAX_LABEL = 200  # characters of an answer's model name or finish reason
MAX_TOOL_CALLS = 128  # tool calls in one answer
MAX_TOOL_ID = 256  # characters of a tool call's id
MAX_TOOL_NAME = 256  # characters of a tool call's name
MAX_ARGUMENTS = 1024 * 1024  # characters of one tool call's arguments (JSON text)
MAX_SIGNATURE = 64 * 1024  # characters of one tool call's signature
MAX_MODEL_PAGES = 10  # requests `list_models` makes following a paginated list
MAX_MODELS = 10_000  # model names `list_models` keeps


class BodyError(Exception):
    """The body cannot be decoded: an encoding axoc does not read, or bytes it does not
    describe."""


@dataclass(frozen=True, slots=True)
class Body:
    data: bytes
    cut: bool  # the body went on past the bound; `data` is its start


async def read(response: httpx.Response, limit: int) -> Body:
    """At most `limit` bytes of `response`'s decoded body; then stop reading."""
    decoder = _decoder(response.headers.get("content-encoding", ""))
    data = bytearray()
    async for chunk in response.aiter_raw():
        data += decoder.feed(chunk, limit + 1 - len(data)) if decoder else chunk
        if len(data) > limit:
            return Body(bytes(data[:limit]), True)
    if decoder and not decoder.done:
        raise BodyError("the compressed body ends before its end")
    return Body(bytes(data), False)


class _Inflater:
    """gzip or deflate, decompressed no further than asked."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    @property
    def done(self) -> bool:
        return self._zlib.eof

    def feed(self, chunk: bytes, room: int) -> bytes:
        try:
            try:
                out = self._zlib.decompress(chunk, max(1, room))
            except zlib.error:
                if self._wbits != zlib.MAX_WBITS or self._started:
                    raise
                # "deflate" is zlib-wrapped by the standard, raw by some servers: try raw once
                self._wbits = -zlib.MAX_WBITS
                self._zlib = zlib.decompressobj(self._wbits)
                out = self._zlib.decompress(chunk, max(1, room))
        except zlib.error as exc:
            raise BodyError(f"undecodable answer: {exc}") from exc
        self._started = True
        return out  # what did not fit stays in unconsumed_tail: past the bound anyway


def _decoder(encoding: str) -> _Inflater | None:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return _Inflater(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Inflater(zlib.MAX_WBITS)
    raise BodyError(f"undecodable answer: Content-Encoding {name[:MAX_HEADER]!r} is not read")
