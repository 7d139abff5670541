"""Budgets over the tool loop: a Hypothesis state machine drives live sessions of the real
driver. A run of 1-3 agents, each with tools, under random `abort` budgets (per_call,
per_execution, the workflow's) and `max_tokens`, is started; at every step the machine answers
one of the calls waiting at the provider — with tool calls (their results as long as the
arguments ask, so transcripts grow) or with text, reporting random usage within what the
request allows (input ≤ the bytes it sends, counted by the test itself, output ≤ max_tokens:
an honest provider) — or
fails it; the sessions go on by themselves in between.

Invariants after every step: no call's recorded usage exceeds per_call, no activation's
per_execution, the run's its workflow budget (reservations included); every request was
estimated with its tools and transcript, and asked for no more than per_call leaves; every
transcript sent answers each tool call, in order, before the next turn."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.ports import (
    FatalProviderError,
    Message,
    Request,
    Response,
    ToolCall,
    ToolDefinition,
    ToolResult,
    Usage,
)
from axoc.kernel.table import AgentSpec, Budget, Sampling, SignalTable, Supervision
from tests.kernel.fakes import table
from tests.kernel.toolfakes import granted

ECHO = ToolDefinition(
    "pad",
    "Returns n characters.",
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
)
_tables: dict[int, SignalTable] = {}


def base_table(k: int) -> SignalTable:
    """k agents side by side in one workflow, compiled once per process."""
    if k not in _tables:
        agents = "".join(f"  - {{id: a{i}, provider: lab, model: m}}\n" for i in range(k))
        members = ", ".join(f"a{i}" for i in range(k))
        config = f"agents:\n{agents}workflows:\n  - {{id: w, agents: [{members}]}}\n"
        _tables[k] = table(Path(tempfile.mkdtemp()), config, analysed=False)
    return _tables[k]


class Pad:
    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        return (ECHO,)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        return ToolResult("x" * json.loads(call.arguments)["n"])


class Puppet:
    """A provider whose every call waits until the machine answers it."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Request, asyncio.Future[Response]]] = []
        self.sent: list[Request] = []
        self.answered: list[tuple[Request, Usage]] = []

    async def complete(self, request: Request) -> Response:
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.waiting.append((request, future))
        self.sent.append(request)
        return await future

    async def aclose(self) -> None:
        return None


class ToolBudgets(RuleBasedStateMachine):
    @initialize(
        k=st.integers(1, 3),
        per_call=st.integers(200, 3000),
        per_execution=st.none() | st.integers(200, 6000),
        workflow=st.none() | st.integers(200, 9000),
        max_tokens=st.integers(1, 400),
        rounds=st.integers(1, 4),
    )
    def setup(
        self, k: int, per_call: int, per_execution: int | None, workflow: int | None,
        max_tokens: int, rounds: int,
    ) -> None:  # fmt: skip
        t = base_table(k)
        for agent in t.agents:
            t = granted(
                t, agent.id, tools=("pad",), max_tool_rounds=rounds,
                budget=Budget(per_call, per_execution, "abort"),
                sampling=Sampling(max_tokens=max_tokens), supervision=Supervision(),
            )  # fmt: skip
        t = t.derived(workflows=(dataclasses.replace(t.workflow("w"), token_budget=workflow),))
        self.per_call, self.per_execution, self.workflow = per_call, per_execution, workflow
        self.rounds = rounds
        self.loop = asyncio.new_event_loop()
        self.puppet = Puppet()
        self.driver = Driver(t, {"lab": self.puppet}, workflow="w", input="go", toolbox=Pad())
        self.task = self.loop.create_task(self.driver.run())
        self.settle()

    def settle(self) -> None:
        for _ in range(30):  # let the sessions run until each waits for the provider again
            self.loop.run_until_complete(asyncio.sleep(0))

    def teardown(self) -> None:
        if not self.task.done():
            self.task.cancel()
        self.loop.run_until_complete(asyncio.gather(self.task, return_exceptions=True))
        self.loop.close()

    def take(self, pick: int) -> tuple[Request, asyncio.Future[Response]]:
        return self.puppet.waiting.pop(pick % len(self.puppet.waiting))

    @precondition(lambda self: bool(self.puppet.waiting))
    @rule(pick=st.integers(0, 100), data=st.data())
    def answer(self, pick: int, data: st.DataObject) -> None:
        request, _ = self.puppet.waiting[pick % len(self.puppet.waiting)]
        assert request.max_tokens is not None  # under abort every request carries one
        used_in = data.draw(st.integers(0, sent_bytes(request)), label="input")
        used_out = data.draw(st.integers(0, request.max_tokens), label="output")
        sizes = data.draw(st.lists(st.integers(0, 600), max_size=3), label="calls")
        self.respond(pick, used_in, used_out, sizes)

    def respond(self, pick: int, used_in: int, used_out: int, sizes: list[int]) -> None:
        """Answer a waiting call: with a `pad` call per size (text when none), reporting the
        usage given."""
        request, future = self.take(pick)
        used = Usage(used_in, used_out)
        calls = tuple(
            ToolCall(f"c{n}", "pad", json.dumps({"n": size})) for n, size in enumerate(sizes)
        )
        future.set_result(Response("" if calls else "done", used, "m", "stop", calls))
        self.puppet.answered.append((request, used))
        self.settle()

    @precondition(lambda self: bool(self.puppet.waiting))
    @rule(pick=st.integers(0, 100))
    def fail(self, pick: int) -> None:
        _, future = self.take(pick)
        future.set_exception(FatalProviderError("no", status=400))
        self.settle()

    @rule()
    def wait(self) -> None:
        """Nothing is answered: the sessions go on (and a run that ended stays ended)."""
        self.settle()

    @invariant()
    def no_budget_exceeded(self) -> None:
        if not hasattr(self, "driver"):
            return
        ledger = self.driver.ledger
        for _, used in self.puppet.answered:
            assert used.total <= self.per_call
        if self.per_execution is not None:
            for spent in ledger.by_activation.values():
                assert spent <= self.per_execution
        if self.workflow is not None:
            assert ledger.used + ledger.reserved <= self.workflow
        assert ledger.used == sum(used.total for _, used in self.puppet.answered)

    @invariant()
    def every_call_estimated_with_its_tools_and_transcript(self) -> None:
        for request in getattr(self, "puppet", Puppet()).sent:
            assert request.input_estimate == estimate_input(request.messages, request.tools)
            assert request.input_estimate >= sent_bytes(request)
            rounds = sum(bool(m.tool_calls) for m in request.messages)
            assert request.tools == (ECHO,)  # sent with every turn, the last one as context
            assert request.tool_choice == ("auto" if rounds < self.rounds else "none")
            assert request.max_tokens is not None
            assert request.input_estimate + request.max_tokens <= self.per_call
            well_formed(request.messages)

    @invariant()
    def a_finished_run_says_why(self) -> None:
        task = getattr(self, "task", None)
        if task is None or not task.done():
            return
        result: RunResult = task.result()
        refused = any("budget refused" in e for e in result.errors.values())
        assert (result.stop_reason == "budget_exhausted") == (
            refused and result.stop_reason != "completed"
        )


def sent_bytes(request: Request) -> int:
    """What a request sends, counted here apart from the kernel: the UTF-8 bytes of every
    message's content, tool calls (id, name, arguments) and results (call id, name), and of the
    tools' definitions as JSON. No byte-level tokenizer makes more tokens than that, so an
    honest provider reports no more input."""
    size = 0
    for message in request.messages:
        size += len(message.content.encode())
        size += len((message.tool_call_id or "").encode()) + len((message.name or "").encode())
        for c in message.tool_calls:
            size += len(c.id.encode()) + len(c.name.encode()) + len(c.arguments.encode())
    for tool in request.tools:
        body = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        size += len(json.dumps(body, separators=(",", ":")).encode())
    return size


def well_formed(transcript: tuple[Message, ...]) -> None:
    pending: list[str | None] = []
    for message in transcript:
        if message.role == "tool":
            assert pending and message.tool_call_id == pending.pop(0)
        else:
            assert not pending
            pending = [c.id for c in message.tool_calls]
    assert not pending


ToolBudgets.TestCase.settings = settings(
    max_examples=100, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
TestToolBudgets = ToolBudgets.TestCase


def test_the_machine_does_run_tool_rounds_into_a_refusal() -> None:
    """The machine is no proof over the loop if no example loops: one that must, until the
    activation's budget refuses a follow-up whose transcript grew with the tool results."""
    machine = ToolBudgets()
    machine.setup(k=1, per_call=3000, per_execution=2500, workflow=None, max_tokens=300,
                  rounds=4)  # fmt: skip
    try:
        (first,) = machine.puppet.waiting
        machine.respond(0, sent_bytes(first[0]), 300, [600, 600])
        (second,) = machine.puppet.waiting
        assert second[0].input_estimate > first[0].input_estimate + 1200  # the results count
        machine.respond(0, sent_bytes(second[0]), 300, [600])
        machine.no_budget_exceeded()
        assert machine.task.done() and not machine.puppet.waiting
        result = machine.task.result()
        assert result.stop_reason == "budget_exhausted"
        assert "per_execution" in result.errors["a0"]
        assert machine.driver.ledger.by_activation[1] <= 2500
    finally:
        machine.teardown()
