"""Redaction (`axoc.providers.redaction`): every form a secret can take is replaced, and the time
it takes grows linearly with the text, whatever the text (a quadratic regex took 36 s on 40 KB
of one word before)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axoc.providers.redaction import MIN_SECRET, REDACTED, Redactor

KEY = "sk-live-4Xq9Lm2Vb7Nc1Zr8Tw3Ky6Hd5Jf0Ps9f2c"
ODD = "p@ss/wörd+key=1&x"  # a password needing escapes in URLs, JSON and base64 alike


def b64(data: bytes, *, urlsafe: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)
    return encoded.decode()


ECHOES: dict[str, Callable[[str], str]] = {
    "as-is": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "mixed": str.swapcase,
    "url-encoded": lambda s: quote(s, safe=""),
    "url-encoded-plus": quote_plus,
    "url-encoded-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "url-encoded-upper": lambda s: quote(s, safe="").upper(),
    "json-escaped": lambda s: json.dumps(s)[1:-1],
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
    "base64": lambda s: b64(s.encode()),
    "base64-urlsafe": lambda s: b64(s.encode(), urlsafe=True),
    "basic-auth": lambda s: b64(f"user:{s}".encode()),  # 5 bytes before: another alignment
    "basic-auth-2": lambda s: b64(f"me:{s}".encode()),
    "base64-in-blob": lambda s: b64(f"xy{s}tail".encode()),
}  # fmt: skip


@pytest.mark.parametrize("secret", [KEY, ODD], ids=["key", "odd-password"])
@pytest.mark.parametrize("echo", list(ECHOES), ids=list(ECHOES))
def test_every_form_of_a_secret_is_redacted(secret: str, echo: str) -> None:
    shown = ECHOES[echo](secret)
    text = f"rejected: '{shown}' (see the docs)"
    redacted = Redactor([secret])(text)
    assert REDACTED in redacted
    assert redacted.startswith("rejected: '") and redacted.endswith("' (see the docs)")
    middle = len(shown) // 2
    assert shown[middle - 4 : middle + 4] not in redacted
    # what is left: the encoding of a base64 text's other bytes, and the few characters it
    # shares with them at each end
    left = redacted.removeprefix("rejected: '").removesuffix("' (see the docs)")
    assert len(left.replace(REDACTED, "")) <= 12, redacted


def test_answers_keep_the_models_words_and_lose_only_secrets() -> None:
    redactor = Redactor([KEY])
    answer = f"Send the header Bearer <token>; your key {KEY} is ****** hidden."
    assert redactor.secrets(answer) == (
        "Send the header Bearer <token>; your key [redacted] is ****** hidden."
    )
    assert (
        redactor(answer) == "Send the header [redacted] your key [redacted] is [redacted] hidden."
    )


def test_overlapping_occurrences_of_a_periodic_secret_leave_nothing() -> None:
    redactor = Redactor(["abab"])
    assert redactor.secrets("x ababababa y ABAB") == "x [redacted]a y [redacted]"
    assert Redactor(["aaaa"]).secrets("a" * 10_001 + "!") == "[redacted]!"


def test_short_secrets_are_not_searched_for() -> None:
    assert not Redactor(["abc"])
    assert Redactor(["abc"])("abc abc") == "abc abc"
    assert len("abcd") == MIN_SECRET and Redactor(["abcd"])("abcd") == REDACTED


SECRETS = st.text(min_size=MIN_SECRET, max_size=40).filter(lambda s: not s.isspace())
ASCII_SECRETS = st.text(st.characters(codec="ascii"), min_size=MIN_SECRET, max_size=40)


@given(st.data(), st.text(max_size=60), st.text(max_size=60), st.sampled_from(sorted(ECHOES)))
def test_a_secret_echoed_anywhere_in_any_form_never_survives(
    data: st.DataObject, before: str, after: str, echo: str
) -> None:
    # letters outside ASCII are matched as written, all upper or all lower (docs/kernel.md)
    secret = data.draw(ASCII_SECRETS if echo == "mixed" else SECRETS)
    shown = ECHOES[echo](secret)
    redacted = Redactor([secret])(before + shown + after)
    assert shown not in redacted
    if echo in ("as-is", "url-encoded", "hex") and secret.isascii():
        assert shown.lower() not in redacted.lower()


def timed(work: Callable[[], object]) -> float:
    """The least of five timings, in this thread's CPU time: noise only ever adds time, and a
    busy machine's other processes add none to CPU time (wall time doubled under load)."""
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        work()
        best = min(best, time.thread_time() - started)
    return best


# The texts that made the old patterns quadratic (one long word; a long `sk-` run; many masked
# keys), and ones built to make a search rescan (a secret's prefix over and over; a periodic
# secret's run).
HOSTILE: dict[str, Callable[[int], str]] = {
    "one-word": lambda n: "a" * n,
    "sk-run": lambda n: "sk-" + "a" * n,
    "stars": lambda n: ("ab****" * n)[:n],
    "near-misses": lambda n: ((KEY[:-1] + " ") * n)[:n],
    "upper-near-misses": lambda n: ((KEY[:-1].upper() + "x") * n)[:n],
    "periodic": lambda n: "abab" * (n // 4),
    "words": lambda n: ("lorem ipsum " * n)[:n],
    "all-triggers": lambda n: ("Bearer sk-a ab****" + "a" * n)[:n],
}


@pytest.mark.parametrize("kind", list(HOSTILE), ids=list(HOSTILE))
def test_redaction_time_is_linear_in_the_text(kind: str) -> None:
    """Four times the text (1.25 MB to 5 MB) takes about four times as long: under 6 allows
    for noise, and a quadratic cost (16) is far above it."""
    redactor = Redactor([KEY, "abab", "user:pass"])
    small, large = HOSTILE[kind](1_250_000), HOSTILE[kind](5_000_000)
    ratio = timed(lambda: redactor(large)) / timed(lambda: redactor(small))
    assert ratio < 6, f"{kind}: four times the text took {ratio:.1f} times as long"
