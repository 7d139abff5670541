"""Budgets under random use: a Hypothesis state machine over the ledger. Calls of several
activations interleave (reserve, then settle later); providers honour max_tokens and the input
estimate bounds real input, as real ones do. Invariants after every step: under `abort`,
recorded usage never exceeds per_call, per_execution or the workflow budget, and no request is
sent for an activation after a refusal."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from axoc.kernel.budget import Grant, Ledger, estimate_input
from axoc.kernel.ports import BudgetRefused, Message, Usage
from axoc.kernel.table import AgentSpec, Budget, Memory, Sampling, Supervision


def agent(per_call: int, per_execution: int | None, max_tokens: int | None) -> AgentSpec:
    return AgentSpec(
        id="a", name="a", provider="echo", model="m", system_prompt="", depends_on=(), tools=(),
        role="autonomous", budget=Budget(per_call, per_execution, "abort"),
        sampling=Sampling(max_tokens=max_tokens), supervision=Supervision(),
        memory=Memory(True, 5, 0.15, ()), timeout=None,
    )  # fmt: skip


class Budgets(RuleBasedStateMachine):
    @initialize(
        per_call=st.integers(20, 3000),
        per_execution=st.none() | st.integers(20, 6000),
        workflow=st.none() | st.integers(20, 20000),
        max_tokens=st.none() | st.integers(1, 2000),
    )
    def setup(
        self, per_call: int, per_execution: int | None, workflow: int | None, max_tokens: int | None
    ) -> None:
        self.spec = agent(per_call, per_execution, max_tokens)
        self.ledger = Ledger(workflow)
        self.workflow = workflow
        self.open: list[tuple[Grant, int]] = []  # granted, not settled: (grant, input estimate)
        self.sent: list[tuple[int, int]] = []  # (activation, call usage) of calls that went out
        self.refused: set[int] = set()
        self.activation = 1

    @rule()
    def next_activation(self) -> None:
        self.activation += 1

    @rule(size=st.integers(0, 4000))
    def call(self, size: int) -> None:
        if self.activation in self.refused:
            return  # the driver fails an activation at its first refusal: nothing more is sent
        messages = (Message("user", "x" * size),)
        reserved, used = self.ledger.reserved, self.ledger.used
        try:
            grant = self.ledger.authorize(self.spec, self.activation, messages)
        except BudgetRefused:
            # refused before anything left: nothing reserved, nothing recorded, nothing sent
            assert (self.ledger.reserved, self.ledger.used) == (reserved, used)
            self.refused.add(self.activation)
            return
        self.open.append((grant, estimate_input(messages)))

    @precondition(lambda self: bool(self.open))
    @rule(pick=st.integers(0, 1000), data=st.data())
    def settle(self, pick: int, data: st.DataObject) -> None:
        grant, estimate = self.open.pop(pick % len(self.open))
        assert grant.max_tokens is not None and grant.max_tokens >= 1
        used_in = data.draw(st.integers(0, estimate))
        used_out = data.draw(st.integers(0, grant.max_tokens))
        self.ledger.settle(grant, Usage(used_in, used_out))
        self.sent.append((grant.activation, used_in + used_out))

    @precondition(lambda self: bool(self.open))
    @rule(pick=st.integers(0, 1000))
    def fail_call(self, pick: int) -> None:
        grant, _ = self.open.pop(pick % len(self.open))
        self.ledger.settle(grant, None)

    @invariant()
    def never_over_budget(self) -> None:
        for _, used in self.sent:
            assert used <= self.spec.budget.per_call
        if self.spec.budget.per_execution is not None:
            for used in self.ledger.by_activation.values():
                assert used <= self.spec.budget.per_execution
        if self.workflow is not None:
            assert self.ledger.used + self.ledger.reserved <= self.workflow
        assert self.ledger.used == sum(u for _, u in self.sent)

    @invariant()
    def every_refusal_is_counted(self) -> None:
        assert self.ledger.refused == len(self.refused)


Budgets.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestBudgets = Budgets.TestCase
