"""Reservations are not spending: a call that does not fit only because calls in flight reserved
the room waits for them to settle, and is refused only when it could not fit even if every
reservation were released. The driver, with providers that take time."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.ports import Provider
from axoc.providers.echo import EchoProvider
from tests.kernel.fakes import Scripted, table


def fanout(width: int, budget: int, *, worker: str = "", extra: str = "") -> str:
    """`lead` → w0..w{width-1} → `join`, no max_tokens anywhere, a workflow budget."""
    workers = [
        f"  - {{id: w{i}, provider: echo, depends_on: [lead]{worker}}}" for i in range(width)
    ]
    names = ", ".join(f"w{i}" for i in range(width))
    return (
        f"{extra}agents:\n  - {{id: lead, provider: echo}}\n" + "\n".join(workers) + "\n"
        f"  - {{id: join, provider: echo, depends_on: [{names}]}}\n"
        f"workflows:\n  - {{id: w, agents: [lead, {names}, join], token_budget: {budget}}}\n"
    )


def run(tmp_path: Path, text: str, providers: dict[str, Provider]) -> RunResult:
    driver = Driver(table(tmp_path, text), providers, workflow="w", input="go")
    return asyncio.run(driver.run())


def waits(result: RunResult) -> list[str]:
    return [r["agent"] for r in result.log if r["event"] == "budget_wait"]


def test_an_eight_way_fanout_without_max_tokens_waits_instead_of_failing(tmp_path: Path) -> None:
    """Each worker's call may use its whole per_call room (8192 by default): two fit in the
    20,000-token budget at a time. The others used to be refused "over the 0 tokens left"."""
    provider = Scripted(sleep={f"w{i}": 0.05 for i in range(8)})
    result = run(tmp_path, fanout(8, 20_000), {"echo": provider})
    assert result.stop_reason == "completed", result.errors
    assert result.ledger.refused == 0 and result.errors == {}
    assert len(provider.requests) == 10  # lead, 8 workers, join
    assert len(waits(result)) >= 6  # the workers beyond the first two waited
    assert result.ledger.reserved == 0 and result.ledger.used <= 20_000
    for request in provider.requests:  # each got what it would alone: all its per_call room
        assert request.max_tokens == 8192 - request.input_estimate


def test_a_call_that_cannot_fit_even_alone_is_still_refused(tmp_path: Path) -> None:
    """Refusal stays final when releases would not help: the workers' hand-off alone is over
    what is left of 80 tokens once `lead` spent its share."""
    provider = Scripted(sleep={f"w{i}": 0.02 for i in range(4)})
    result = run(tmp_path, fanout(4, 80), {"echo": provider})
    assert result.stop_reason == "budget_exhausted"
    assert [r.agent for r in provider.requests] == ["lead"]
    assert waits(result) == []  # refused at once, not after waiting
    message = result.errors["w0"]
    assert message.startswith("budget refused a call of agent 'w0': input estimate ")
    assert "left of its workflow budget" in message and "over the 0 tokens left" not in message


MIXED = """
providers:
  fast: {kind: openai_compatible, base_url: 'http://127.0.0.1:9/v1'}
agents:
  - {id: lead, provider: echo}
  - {id: slow, provider: echo, depends_on: [lead]}
  - {id: quick, provider: echo, depends_on: [lead], sampling: {max_tokens: 10}}
  - {id: instant, provider: fast, model: m, depends_on: [quick]}
  - {id: join, provider: echo, depends_on: [slow, instant]}
workflows:
  - {id: w, agents: [lead, slow, quick, instant, join], token_budget: 9000}
"""


def test_an_instant_provider_waits_as_a_task_when_calls_in_flight_hold_the_budget(
    tmp_path: Path,
) -> None:
    """echo answers in place, reserving nothing; when `slow`'s call holds the room it needs,
    it waits like any call (it used to be refused) until `slow` settles."""
    # `fast` is declared as a server for the compiler; the driver is handed echo under its name
    scripted = Scripted(sleep={"slow": 0.1})
    result = run(tmp_path, MIXED, {"echo": scripted, "fast": EchoProvider()})
    assert result.stop_reason == "completed", result.errors
    assert waits(result) == ["instant"]
    assert result.ledger.by_agent["instant"].output_tokens > 0
    order = [(r["event"], r.get("agent")) for r in result.log if r["event"] == "completed"]
    assert order.index(("completed", "slow")) < order.index(("completed", "instant"))


def test_waiting_for_budget_does_not_count_against_the_agents_timeout(tmp_path: Path) -> None:
    """w1 waits 0.5 s for w0's reservation, longer than its own 0.3 s timeout; its own call
    is quick, so it completes."""
    text = fanout(2, 12_000).replace(
        "{id: w1, provider: echo, depends_on: [lead]}",
        "{id: w1, provider: echo, depends_on: [lead], timeout: 0.3}",
    )
    provider = Scripted(sleep={"w0": 0.5})
    result = run(tmp_path, text, {"echo": provider})
    assert result.stop_reason == "completed", result.errors
    assert waits(result) == ["w1"]
