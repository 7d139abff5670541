"""Impossible token counts are an invalid response (`axoc.kernel.usage`): the rule itself, the
driver applying it to any provider, and the readers of records written before it existed."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver
from axoc.kernel.ports import Message, Request, Response, Usage
from axoc.kernel.usage import MAX_TOKEN_COUNT, SERVER_PROMPT_ALLOWANCE, impossible, recorded
from tests.kernel.fakes import table

MESSAGES = (Message("user", "Why is the sky blue?"),)
ESTIMATE = estimate_input(MESSAGES)


def request(max_tokens: int | None = 100) -> Request:
    return Request("a", "m", MESSAGES, max_tokens, input_estimate=ESTIMATE)


@pytest.mark.parametrize(
    ("usage", "why"),
    [
        (Usage(-1, 5), "input token count -1 is outside 0..1,000,000,000"),
        (Usage(5, -1), "outside 0..1,000,000,000"),
        (Usage(5.0, 5), "input token count is 5.0, not an integer"),  # type: ignore[arg-type]
        (Usage(5, True), "True, not an integer"),  # type: ignore[arg-type]
        (Usage("5", 5), "a str, not an integer"),  # type: ignore[arg-type]
        (Usage(5, 10**30), "outside"),
        (Usage(int("9" * 4300), 5), "more than 40 digits"),
        (Usage(5, 101), "101 output tokens reported for a request of at most 100"),
        (Usage(ESTIMATE + SERVER_PROMPT_ALLOWANCE + 1, 5), "input tokens reported for a prompt"),
    ],
    ids=["negative-input", "negative-output", "float", "bool", "string", "10^30",
         "4300-digits", "over-max_tokens", "over-the-prompt"],
)  # fmt: skip
def test_impossible_counts_are_named(usage: Usage, why: str) -> None:
    problem = impossible(request(), usage)
    assert problem is not None
    assert re.search(why, problem), problem
    assert len(problem) < 200  # a 4,300-digit count is not printed


@given(
    st.integers(0, ESTIMATE + SERVER_PROMPT_ALLOWANCE),
    st.integers(0, 100),
)
def test_every_count_the_request_could_produce_is_possible(input: int, output: int) -> None:
    assert impossible(request(), Usage(input, output)) is None


def test_without_max_tokens_only_the_ceiling_bounds_the_output() -> None:
    assert impossible(request(None), Usage(5, MAX_TOKEN_COUNT)) is None
    assert impossible(request(None), Usage(5, MAX_TOKEN_COUNT + 1)) is not None


def test_the_estimate_is_computed_when_the_request_carries_none() -> None:
    bare = Request("a", "m", MESSAGES, 100)
    assert impossible(bare, Usage(ESTIMATE + SERVER_PROMPT_ALLOWANCE, 1)) is None
    assert impossible(bare, Usage(ESTIMATE + SERVER_PROMPT_ALLOWANCE + 1, 1)) is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [([3, 4], (3, 4)), ([0, MAX_TOKEN_COUNT], (0, MAX_TOKEN_COUNT)), ([3], None),
     ([3, 4, 5], None), ([-1, 4], None), ([3, 10**30], None), ([3.0, 4], None),
     ([True, 4], None), ("34", None), (None, None), ({"0": 3}, None)],
)  # fmt: skip
def test_recorded_usage_is_read_only_when_possible(value: object, expected: object) -> None:
    assert recorded(value) == expected


@dataclass
class Reporting:
    """A provider (not one of axoc's adapters) that reports whatever usage it is given."""

    usage: Usage

    async def complete(self, request: Request) -> Response:
        return Response("an answer", self.usage)

    async def aclose(self) -> None:
        return None


CONFIG = """
agents:
  - {id: a, provider: lab, model: m, token_budget: {per_call: 8192}}
  - {id: b, provider: lab, model: m, depends_on: [a]}
providers:
  lab: {kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}
workflows:
  - {id: w, agents: [a, b]}
"""


@pytest.mark.parametrize(
    "usage", [Usage(5, 10**30), Usage(-3, 5), Usage(5, 8193)], ids=["10^30", "negative", "8193"]
)
def test_the_driver_fails_an_impossible_count_from_any_provider(
    tmp_path: Path, usage: Usage
) -> None:
    driver = Driver(table(tmp_path, CONFIG), {"lab": Reporting(usage)}, workflow="w", input="x")
    result = asyncio.run(driver.run())
    assert result.stop_reason == "failed"
    assert result.errors["a"].startswith("InvalidResponse: provider 'lab': impossible usage: ")
    assert result.status["b"] == "skipped"
    assert result.ledger.used == 0  # nothing charged: the count is no count


@dataclass
class ImpossibleForA:
    """Answers agent `a` with an impossible count after a moment, anyone else honestly."""

    async def complete(self, request: Request) -> Response:
        if request.agent == "a":
            await asyncio.sleep(0.05)
            return Response("a's answer", Usage(5, 10**30))
        return Response("b's answer", Usage(estimate_input(request.messages), 5))

    async def aclose(self) -> None:
        return None


def test_a_call_waiting_for_budget_goes_on_when_an_impossible_count_frees_it(
    tmp_path: Path,
) -> None:
    # a and b each reserve 17 + 100 tokens; the workflow's 200 hold one at a time
    config = """
agents:
  - {id: a, provider: lab, model: m, sampling: {max_tokens: 100}}
  - {id: b, provider: lab, model: m, sampling: {max_tokens: 100}}
providers:
  lab: {kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}
workflows:
  - {id: w, agents: [a, b], token_budget: 200}
"""
    driver = Driver(table(tmp_path, config), {"lab": ImpossibleForA()}, workflow="w", input="x")
    result = asyncio.run(asyncio.wait_for(driver.run(), 5))
    assert result.errors["a"].startswith("InvalidResponse: provider 'lab': impossible usage")
    assert result.status["b"] == "done" and result.ledger.used == 17 + 5
