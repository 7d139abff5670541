"""The usage rule (`axoc.kernel.usage.impossible`) for what the tool-calling adapters report:
cached-input and cache-write counts, and the ceiling of a request whose input the kernel did not
estimate, which counts its tool calls and tool definitions."""

from __future__ import annotations

import re

import pytest

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Message, Request, ToolCall, ToolDefinition, Usage
from axoc.kernel.usage import MAX_TOKEN_COUNT, SERVER_PROMPT_ALLOWANCE, impossible

MESSAGES = (Message("user", "Why is the sky blue?"),)
REQUEST = Request("a", "m", MESSAGES, 100, input_estimate=estimate_input(MESSAGES))


@pytest.mark.parametrize(
    ("usage", "why"),
    [
        (Usage(50, 5, -1), "cached input token count -1 is outside"),
        (Usage(50, 5, 0, True), "cache-write token count is True, not an integer"),  # type: ignore[arg-type]
        (Usage(50, 5, 2.0), "cached input token count is 2.0"),  # type: ignore[arg-type]
        (Usage(50, 5, MAX_TOKEN_COUNT + 1), "outside 0..1,000,000,000"),
        (Usage(50, 5, 51), "51 cached and 0 cache-write input tokens reported, more than the 50"),
        (Usage(50, 5, 30, 21), "30 cached and 21 cache-write"),
    ],
    ids=["negative", "bool", "float", "too-large", "cached-over-input", "sum-over-input"],
)  # fmt: skip
def test_impossible_cache_counts_are_named(usage: Usage, why: str) -> None:
    problem = impossible(REQUEST, usage)
    assert problem is not None and re.search(why, problem), problem


def test_cache_counts_within_the_input_are_possible() -> None:
    assert impossible(REQUEST, Usage(50, 5, 30, 20)) is None
    assert impossible(REQUEST, Usage(50, 5, 50, 0)) is None


def test_without_an_estimate_tool_calls_and_definitions_raise_the_ceiling() -> None:
    arguments = '{"q": "' + "x" * 5000 + '"}'
    transcript = (*MESSAGES, Message("assistant", "", (ToolCall("c1", "search", arguments),)))
    tool = ToolDefinition("search", "Search the web " * 100, {"type": "object"})
    bare = Request("a", "m", transcript, 100)
    ceiling = estimate_input(transcript) + SERVER_PROMPT_ALLOWANCE + len("search") + len(arguments)
    assert impossible(bare, Usage(ceiling, 5)) is None
    assert impossible(bare, Usage(ceiling + 1, 5)) is not None
    definition = len("search") + len(tool.description) + len('{"type": "object"}')
    with_tools = bare._replace(tools=(tool,))
    assert impossible(with_tools, Usage(ceiling + definition, 5)) is None
    assert impossible(with_tools, Usage(ceiling + definition + 1, 5)) is not None
