"""Secrets out of what a provider sends back, in time linear in the text.

In: the secrets of one endpoint (its API key, secret headers, the credentials and query values
of its base_url) and a text the provider controls (an error message, an answer). Out: the text
with every occurrence of a secret replaced by `[redacted]`: as written; in any ASCII case
(upper, lower, mixed; letters outside ASCII all upper or all lower); percent-encoded (once or
twice, `+` for spaces or not); JSON-escaped; in hex; or in base64 (standard or URL-safe, at any
of the three alignments a secret can have inside a longer base64 text, such as a `Basic`
credential). In messages, bearer tokens and masked keys (`Bearer …`, `sk-…`, `sk-abc***…wxyz`)
too.

Guaranteed: time proportional to the text's length (times a fixed number of forms per secret),
whatever the text. The text is searched as UTF-8 bytes, ASCII-lowercased once (`bytes.lower`);
each form is found with `bytes.find` (CPython's search switches to the two-way algorithm when
the simple one does too much work: linear); occurrences that overlap are merged by the form's
period, never by rescanning; the message patterns start only at word starts and use possessive
quantifiers, so no character is scanned twice. A secret shorter than `MIN_SECRET` characters
is not searched for (it would garble every message and hides nothing).
"""

from __future__ import annotations

import base64
import heapq
import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET = 4  # characters; a shorter value is not searched for

# Bearer tokens, OpenAI-style keys, masked keys, each searched for only in a text holding its
# trigger (most texts hold none). Linear: see the module's docstring.
_MASKED = (
    ("bearer", re.compile(r"(?i:\bbearer)\s++\S++")),  # Authorization: Bearer <token>
    ("sk-", re.compile(r"(?<![\w*-])sk-[\w*-]{6,}+")),  # sk-..., whole or masked
    ("****", re.compile(r"(?<![\w-])[\w-]*+\*{4,}+[\w*-]*+")),  # abc****wxyz
)


class Redactor:
    """The secrets of one endpoint, prepared once: every form each can take in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = {form for secret in secrets if len(secret) >= MIN_SECRET for form in _forms(secret)}
        # Invariant: each form is ASCII-lowercased UTF-8, at least MIN_SECRET bytes long, with
        # the length of its smallest period (for merging overlapping occurrences).
        self._forms = sorted((f, _period(f)) for f in forms if len(f) >= MIN_SECRET)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def secrets(self, text: str) -> str:
        """`text` with every form of every secret replaced: for answers, where words such as
        `Bearer` are the model's own."""
        if not self._forms or not text:
            return text
        data = text.encode("utf-8", "surrogatepass")
        lowered = data.lower()  # ASCII only: the same length, the same offsets
        spans = heapq.merge(*(_spans(lowered, form, period) for form, period in self._forms))
        out = bytearray()
        last = 0
        for start, end in _merged(spans):
            out += data[last:start]
            out += REDACTED.encode()
            last = end
        if not last:
            return text
        out += data[last:]
        return out.decode("utf-8", "surrogatepass")

    def __call__(self, text: str) -> str:
        """`text` with its secrets, bearer tokens and masked keys replaced: for messages."""
        text = self.secrets(text)
        lowered = text.lower()
        for trigger, pattern in _MASKED:
            if trigger in lowered:
                text = pattern.sub(REDACTED, text)
        return text


def _forms(secret: str) -> Iterator[bytes]:
    """The ASCII-lowercased UTF-8 forms `secret` can take in a text."""
    for text in {
        secret,
        secret.upper(),  # letters outside ASCII, all upper or all lower ("ß" is "SS")
        secret.lower(),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(quote(secret, safe=""), safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }:
        yield text.encode("utf-8", "surrogatepass").lower()
    raw = secret.encode("utf-8", "surrogatepass")
    yield raw.hex().encode()
    for shift in range(3):
        core = _base64_core(raw, shift)
        yield core.lower()
        yield core.translate(_URLSAFE).lower()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _base64_core(raw: bytes, shift: int) -> bytes:
    """The base64 characters that encode only `raw`'s bytes when `raw` starts `shift` bytes
    into a 3-byte group: found whatever comes before and after it in a longer base64 text."""
    encoded = base64.b64encode(bytes(shift) + raw)
    first = -(-8 * shift // 6)  # the first character free of the `shift` bytes before
    last = 8 * (shift + len(raw)) // 6  # the characters after hold bits of what follows
    return encoded[first:last]


def _period(form: bytes) -> int:
    """The smallest p such that form[i] == form[i + p] for every i (KMP's failure function)."""
    border = [0] * len(form)
    k = 0
    for i in range(1, len(form)):
        while k and form[i] != form[k]:
            k = border[k - 1]
        if form[i] == form[k]:
            k += 1
        border[i] = k
    return len(form) - border[-1]


def _spans(data: bytes, form: bytes, period: int) -> Iterator[tuple[int, int]]:
    """Where `form` occurs in `data`, as sorted spans, overlapping occurrences joined.

    After a run of overlapping occurrences ending at `end`, the next occurrence starts after
    `end - period` (two occurrences overlapping by `period` or more lie a multiple of `period`
    apart, so the run would have continued), so no byte is searched more than twice."""
    size = len(form)
    tail = form[size - period :]
    at = data.find(form)
    while at >= 0:
        end = at + size
        if period < size:
            end = _run_end(data, end, tail)
        yield at, end
        at = data.find(form, end - period + 1)


def _run_end(data: bytes, end: int, tail: bytes) -> int:
    """How far `data` goes on repeating `tail` from `end`: compared in blocks that double while
    they match and halve when they do not, so the work is linear in the run's length."""
    block = 1
    while True:
        chunk = tail * block
        if data.startswith(chunk, end):
            end += len(chunk)
            block *= 2
        elif block > 1:
            block //= 2
        else:
            return end


def _merged(spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Sorted spans, with those that overlap or touch joined."""
    current: tuple[int, int] | None = None
    for start, end in spans:
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current
