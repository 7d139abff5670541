"""The echo provider's answers, checked against its definition on random prompts: the agent, an
arrow, the start of the last user message on one line (whitespace collapsed), cut to 160
characters and to `max_tokens` bytes. The provider computes this with shortcuts; the answers
(text, usage, finish reason) must be exactly those of the plain definition below."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Message, Request, Response, Usage
from axoc.providers.echo import WIDTH, EchoProvider


def defined(request: Request) -> Response:
    """The echo answer, written the plain way."""
    last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    text = f"{request.agent} <- {' '.join(last[: 2 * WIDTH].split())}"
    if len(text) > WIDTH:
        text = text[: WIDTH - 3] + "..."
    finish = "stop"
    if request.max_tokens is not None and len(text.encode()) > request.max_tokens:
        text = text.encode()[: max(0, request.max_tokens)].decode(errors="ignore")
        finish = "length"
    estimate = request.input_estimate or estimate_input(request.messages)
    return Response(text, Usage(estimate, len(text.encode())), model="echo", finish_reason=finish)


# whitespace of every kind, words, and characters of one to four UTF-8 bytes
pieces = st.sampled_from(
    [" ", "  ", "\n", "\n\n", "\t", "\r\n", "\xa0", "\u2003", "\u3000", "\x1c", "\x85", "\u2028",
     "word", "[a0001]: ", "a0001 <- x", "a0001 ← x", "é", "…", "漢字", "🙂", "Original task: x", "\x00"]
)  # fmt: skip
texts = st.lists(pieces, max_size=120).map("".join) | st.text(max_size=400)


@settings(max_examples=400, deadline=None)
@given(
    texts,
    st.none() | st.integers(0, 400),
    st.sampled_from(["a", "a0500", "agent-with-a-long-name"]),
    st.booleans(),
)
def test_echo_answers_as_defined(
    text: str, max_tokens: int | None, agent: str, with_estimate: bool
) -> None:
    messages = (Message("system", "x"), Message("user", text), Message("assistant", "y"))
    estimate = estimate_input(messages) if with_estimate else 0
    request = Request(agent, "none", messages, max_tokens, input_estimate=estimate)
    assert EchoProvider().complete_now(request) == defined(request)


def test_echo_answers_long_single_line_prompts_as_defined() -> None:
    for size in range(0, 2 * WIDTH + 40):
        for text in ("x" * size, "x " * (size // 2), "\n" * size + "y", "y" + " " * size + "z"):
            request = Request("a", "none", (Message("user", text),), None)
            assert EchoProvider().complete_now(request) == defined(request)
