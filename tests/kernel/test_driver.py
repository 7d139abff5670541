"""The kernel end to end with scripted providers: cascades, joins, expressions, skills,
isolation of concurrent runs, failures, guards, timeouts, budgets, determinism."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path

import pytest

from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.index import RunIndex
from axoc.kernel.table import SignalTable
from tests.kernel.fakes import Scripted, table


def run(t: SignalTable, provider: Scripted | None = None, **options: object) -> RunResult:
    provider = provider or Scripted()
    names = {p.name for p in t.providers} | {"echo"}
    driver = Driver(t, dict.fromkeys(names, provider), **options)  # type: ignore[arg-type]
    return asyncio.run(driver.run())


def order(result: RunResult, kind: str = "activated") -> list[str]:
    return [r["agent"] for r in result.log if r["event"] == kind]


CHAIN = (
    """
agents:
"""
    + "".join(
        f"  - {{id: c{i}, provider: echo{', depends_on: [c' + str(i - 1) + ']' if i else ''}}}\n"
        for i in range(6)
    )
    + """
workflows:
  - {id: chain, agents: [c0, c1, c2, c3, c4, c5]}
"""
)


def test_a_chain_cascades_in_order_and_never_fans_out(tmp_path: Path) -> None:
    provider = Scripted()
    result = run(table(tmp_path, CHAIN), provider, workflow="chain", input="go", logical=True)
    assert result.stop_reason == "completed" and result.exit_code == 0
    assert order(result) == [f"c{i}" for i in range(6)]
    starts = [r["t"] for r in result.log if r["event"] == "activated"]
    assert starts == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # one at a time: each waits for the last
    handoff = provider.requests[3].messages[-1].content
    assert handoff == "Previous agent outputs:\n[c2]: c2:1\n\nOriginal task: go"
    assert result.outputs == [("c5", "c5:1")]


JOIN = """
agents:
  - {id: root, provider: echo}
  - {id: a, provider: echo, depends_on: [root]}
  - {id: b, provider: echo, depends_on: [root]}
  - {id: c, provider: echo, depends_on: [root]}
  - {id: join, provider: echo, depends_on: [a, b, c]}
workflows:
  - {id: fan, agents: [root, a, b, c, join]}
"""


@pytest.mark.parametrize("seed", range(8))
def test_a_join_fires_exactly_once_after_all_inputs_whatever_the_timing(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    durations = {agent: rng.randint(1, 9) for agent in ("a", "b", "c")}
    result = run(
        table(tmp_path, JOIN), workflow="fan", input="x", logical=True, durations=durations
    )
    assert order(result).count("join") == 1
    join_start = next(
        r["t"] for r in result.log if r["event"] == "activated" and r["agent"] == "join"
    )
    assert join_start == 1 + max(durations.values())
    assert result.stop_reason == "completed"


def test_a_join_in_real_time_fires_once(tmp_path: Path) -> None:
    provider = Scripted(sleep={"a": 0.05, "b": 0.01, "c": 0.03})
    result = run(table(tmp_path, JOIN), provider, workflow="fan", input="x")
    assert order(result).count("join") == 1 and order(result)[-1] == "join"
    assert result.stop_reason == "completed"


EXPRESSIONS = """
agents:
  - {id: intake, provider: echo}
  - {id: web, provider: echo, depends_on: [intake]}
  - {id: papers, provider: echo, depends_on: [intake]}
  - {id: experts, provider: echo, depends_on: [intake]}
  - {id: quorum, provider: echo, activation: "2 of (web, papers, experts)"}
  - {id: fallback, provider: echo, activation: "(web and papers) or AgentFailed(experts)"}
workflows:
  - {id: q, agents: [intake, web, papers, experts, quorum, fallback], entry_point: intake}
"""


def test_k_of_n_fires_on_the_second_input(tmp_path: Path) -> None:
    durations = {"web": 1, "papers": 5, "experts": 2}
    result = run(
        table(tmp_path, EXPRESSIONS), workflow="q", input="x", logical=True, durations=durations
    )
    starts = {r["agent"]: r["t"] for r in result.log if r["event"] == "activated"}
    assert starts["quorum"] == 3.0  # web done at 2, experts at 3: two of three
    assert order(result).count("quorum") == 1


def test_or_fires_through_the_failure_alternative(tmp_path: Path) -> None:
    provider = Scripted(fail={"experts"})
    durations = {"web": 1, "papers": 5, "experts": 2}
    result = run(table(tmp_path, EXPRESSIONS), provider, workflow="q", input="x", logical=True,
                 durations=durations)  # fmt: skip
    starts = {r["agent"]: r["t"] for r in result.log if r["event"] == "activated"}
    assert starts["fallback"] == 3.0  # AgentFailed(experts) at 3, before web+papers (6)
    assert order(result).count("fallback") == 1
    prompt = next(r for r in provider.requests if r.agent == "fallback").messages[-1].content
    assert "[experts]: (failed: FatalProviderError: experts refused by the script)" in prompt


SKILLS = """
agents:
  - {id: coder, provider: echo}
  - {id: reviewer, provider: echo}
  - {id: gate, provider: echo}
skills:
  - {id: write, agents: [coder], prompt: "Write:", emits: [CodeReady]}
  - {id: review, agents: [reviewer], reacts_to: [CodeReady], prompt: "Review:", emits: [Reviewed]}
  - {id: deploy, agents: [gate], reacts_to: ["Reviewed(reviewer)"], prompt: "Deploy?"}
"""


def test_a_fired_skill_chains_through_emits_and_reacts_to(tmp_path: Path) -> None:
    provider = Scripted()
    result = run(table(tmp_path, SKILLS), provider, skill="write", input="feature", logical=True)
    assert order(result) == ["coder", "reviewer", "gate"]
    assert [r.messages[-1].content for r in provider.requests] == [
        "Write:\n\nfeature",
        "Review:\n\ncoder:1",
        "Deploy?\n\nreviewer:1",
    ]
    assert result.outputs == [("gate", "gate:1")] and result.stop_reason == "completed"


def test_two_runs_in_one_process_do_not_interfere(tmp_path: Path) -> None:
    t = table(tmp_path, JOIN)
    solo = run(t, workflow="fan", input="x", logical=True).log

    async def both() -> list[RunResult]:
        provider = Scripted()
        drivers = [
            Driver(t, {"echo": provider}, workflow="fan", input="x", logical=True) for _ in range(2)
        ]
        return list(await asyncio.gather(*(d.run() for d in drivers)))

    first, second = asyncio.run(both())
    strip = lambda log: [{k: v for k, v in r.items() if k not in ("input", "output")} for r in log]  # noqa: E731
    assert strip(first.log) == strip(second.log) == strip(solo)
    assert first.activations == second.activations == 5


def test_runs_sharing_one_index_do_not_interfere(tmp_path: Path) -> None:
    t = table(tmp_path, JOIN)
    solo = run(t, workflow="fan", input="x", logical=True)
    index = RunIndex(t, "fan")

    async def both() -> list[RunResult]:
        drivers = [Driver(t, {"echo": Scripted()}, workflow="fan", input="x", logical=True,
                          index=index) for _ in range(2)]  # fmt: skip
        return list(await asyncio.gather(*(d.run() for d in drivers)))

    for result in [*asyncio.run(both()), *asyncio.run(both())]:  # and again: nothing left over
        assert result.log == solo.log and result.outputs == solo.outputs
    with pytest.raises(ValueError, match="another table or workflow"):
        Driver(table(tmp_path, JOIN), {}, workflow="fan", index=index)


def test_a_failure_ends_the_run_promptly_with_dependents_skipped(tmp_path: Path) -> None:
    provider = Scripted(fail={"c1"}, sleep={"side": 0.0})
    text = CHAIN.replace("workflows:", "  - {id: side, provider: echo}\nworkflows:").replace(
        "agents: [c0, c1, c2, c3, c4, c5]", "agents: [c0, c1, c2, c3, c4, c5, side]"
    )
    started = time.monotonic()
    result = run(table(tmp_path, text), provider, workflow="chain", input="x")
    assert time.monotonic() - started < 2
    assert result.stop_reason == "failed" and result.exit_code == 1
    assert result.status["c1"] == "failed"
    assert [result.status[f"c{i}"] for i in range(2, 6)] == ["skipped"] * 4
    skipped = [r["agent"] for r in result.log if r["event"] == "skipped"]
    assert skipped == ["c2", "c3", "c4", "c5"]  # at once, in the tick of the failure
    failed_at = next(r["t"] for r in result.log if r["event"] == "failed")
    assert all(0 <= r["t"] - failed_at < 0.05 for r in result.log if r["event"] == "skipped")


LOOP = """
agents:
  - {id: writer, provider: echo}
  - {id: editor, provider: echo}
skills:
  - {id: draft, agents: [writer], reacts_to: [Edited], emits: [Drafted]}
  - {id: edit, agents: [editor], reacts_to: [Drafted], emits: [Edited]}
"""


def test_a_reactive_loop_stops_at_max_activations(tmp_path: Path) -> None:
    t = table(tmp_path, LOOP, analysed=False)  # check reports it (AX505); the kernel bounds it
    result = run(t, skill="draft", input="x", logical=True)
    assert result.stop_reason == "max_activations" and result.exit_code == 5
    assert result.activations == 3 * len(t.agents)


def test_workflow_timeout(tmp_path: Path) -> None:
    text = JOIN.replace("{id: fan, agents", "{id: fan, timeout: 0.2, agents")
    started = time.monotonic()
    result = run(table(tmp_path, text), Scripted(sleep={"b": 30}), workflow="fan", input="x")
    assert time.monotonic() - started < 3
    assert result.stop_reason == "timeout" and result.exit_code == 6


def test_an_activation_past_its_timeout_fails_and_is_not_retried(tmp_path: Path) -> None:
    text = JOIN.replace(
        "{id: b, provider: echo",
        "{id: b, provider: echo, timeout: 0.1, supervision: {max_restarts: 2, backoff: 0.01}",
    )
    provider = Scripted(sleep={"b": 30})
    result = run(table(tmp_path, text), provider, workflow="fan", input="x")
    assert result.status["b"] == "failed" and result.status["join"] == "skipped"
    failed = next(r for r in result.log if r["event"] == "failed")
    assert failed["error"] == "timed out after 0.1 s (1 attempt)"
    assert [r for r in result.log if r["event"] == "retry"] == []
    assert sum(r.agent == "b" for r in provider.requests) == 1


def test_a_budget_refusal_ends_the_run_as_budget_exhausted(tmp_path: Path) -> None:
    text = CHAIN.replace(
        "{id: c3, provider: echo", "{id: c3, provider: echo, token_budget: {per_call: 40}"
    )
    provider = Scripted()
    result = run(table(tmp_path, text), provider, workflow="chain", input="x", logical=True)
    assert result.stop_reason == "budget_exhausted" and result.exit_code == 4
    assert "c3" not in {r.agent for r in provider.requests}  # refused before sending
    assert result.status["c3"] == "failed" and result.status["c4"] == "skipped"
    assert result.errors["c3"] == (
        "budget refused a call of agent 'c3': input estimate 68 tokens + at least 1 output "
        "token = 69, over the 40 tokens left of its per_call budget"
    )


def test_a_budget_refusal_names_the_input_estimate_max_tokens_and_what_is_left(
    tmp_path: Path,
) -> None:
    text = CHAIN.replace(
        "{id: c0, provider: echo",
        "{id: c0, provider: echo, sampling: {max_tokens: 40}, token_budget: {per_call: 60}",
    )
    result = run(table(tmp_path, text), workflow="chain", input="x" * 20, logical=True)
    assert result.errors["c0"] == (
        "budget refused a call of agent 'c0': input estimate 36 tokens + max_tokens 40 = 76, "
        "over the 60 tokens left of its per_call budget"
    )


def test_same_inputs_and_logical_clock_give_the_same_log_byte_for_byte(tmp_path: Path) -> None:
    t = table(tmp_path, EXPRESSIONS)
    logs = [
        json.dumps(run(t, workflow="q", input="x", logical=True, durations={"web": 3}).log)
        for _ in range(3)
    ]
    assert logs[0] == logs[1] == logs[2]


def test_agent_activated_is_published_when_an_agent_starts(tmp_path: Path) -> None:
    text = JOIN.replace(
        "  - {id: join",
        "  - {id: watcher, provider: echo, activation: AgentActivated(b)}\n  - {id: join",
    ).replace("agents: [root, a, b, c, join]", "agents: [root, a, b, c, watcher, join]")
    result = run(table(tmp_path, text), workflow="fan", input="x", logical=True, durations={"b": 5})
    starts = {r["agent"]: r["t"] for r in result.log if r["event"] == "activated"}
    assert starts["watcher"] == starts["b"] == 1.0  # the same tick b started, not when it ended


class Flaky(Scripted):
    """Raises an unexpected KeyError for agent b, `crashes` times (forever when None)."""

    def __init__(self, crashes: int | None) -> None:
        super().__init__()
        self.crashes = crashes

    async def complete(self, request):  # type: ignore[no-untyped-def]
        if request.agent == "b" and (self.crashes is None or self.crashes > 0):
            self.crashes = None if self.crashes is None else self.crashes - 1
            raise KeyError("choices")
        return await super().complete(request)


def test_an_unexpected_exception_restarts_within_the_restart_intensity(tmp_path: Path) -> None:
    result = run(table(tmp_path, JOIN), Flaky(crashes=2), workflow="fan", input="x", logical=True)
    assert [r["agent"] for r in result.log if r["event"] == "restart"] == ["b", "b"]
    assert result.status["b"] == "done" and result.stop_reason == "completed"


def test_restarts_beyond_the_intensity_fail_only_that_activation(tmp_path: Path) -> None:
    text = JOIN.replace(
        "{id: b, provider: echo", "{id: b, provider: echo, supervision: {max_restarts: 2}"
    )
    result = run(
        table(tmp_path, text), Flaky(crashes=None), workflow="fan", input="x", logical=True
    )
    assert len([r for r in result.log if r["event"] == "restart"]) == 2
    assert result.status["b"] == "failed" and result.status["a"] == "done"
    assert result.status["join"] == "skipped" and result.stop_reason == "failed"
    failed = next(r for r in result.log if r["event"] == "failed")
    assert failed["error"] == "unexpected KeyError in provider: 'choices'"
