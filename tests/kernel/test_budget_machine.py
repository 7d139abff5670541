"""Budgets under random use: a Hypothesis state machine over the ledger. Calls of several
activations interleave (reserve, then settle later, or wait and ask again); providers honour
max_tokens and the input estimate bounds real input, as real ones do.

Checked at every call, against a model of the budgets kept by the machine itself (what was
spent, per activation and in all): a call is refused only when it could not fit even if every
reservation were released — never because of what others hold —, is told to wait only when it
would fit alone and something is reserved (so a settle will come), and is granted what it would
be granted alone. Invariants after every step: under `abort`, recorded usage never exceeds
per_call, per_execution or the workflow budget, reservations are exactly what open calls hold,
no request is sent for an activation after a refusal, and once nothing is reserved no waiting
call is told to wait again."""

from __future__ import annotations

import contextlib
import copy

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


def messages(size: int) -> tuple[Message, ...]:
    return (Message("user", "x" * size),)


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
        self.waiting: list[tuple[int, int]] = []  # told to wait: (activation, message size)
        self.sent: list[tuple[int, int]] = []  # (activation, call usage) of calls that went out
        self.refused: set[int] = set()
        self.activation = 1
        self.waits = 0

    # --- the model: what a call would be granted if it ran alone -----------------------------

    def alone(self, activation: int, estimate: int) -> int | None:
        """The max_tokens a call would get with every reservation released; None: it cannot fit
        at all. Computed from what the machine saw spent, not from the ledger."""
        budget, wanted = self.spec.budget, self.spec.sampling.max_tokens
        room = budget.per_call - estimate
        if budget.per_execution is not None:
            spent = sum(used for a, used in self.sent if a == activation)
            room = min(room, budget.per_execution - spent - estimate)
        if self.workflow is not None:
            room = min(room, self.workflow - sum(used for _, used in self.sent) - estimate)
        if room < 1 or (wanted is not None and wanted > room):
            return None
        return room if wanted is None else wanted

    def ask(self, activation: int, size: int) -> None:
        estimate = estimate_input(messages(size))
        would = self.alone(activation, estimate)
        reserved, used = self.ledger.reserved, self.ledger.used
        try:
            grant = self.ledger.authorize(self.spec, activation, messages(size))
        except BudgetRefused:
            assert would is None, "refused, yet it would fit once reservations are released"
            # refused before anything left: nothing reserved, nothing recorded, nothing sent
            assert (self.ledger.reserved, self.ledger.used) == (reserved, used)
            self.refused.add(activation)
            return
        assert would is not None, "granted or told to wait, yet it can never fit"
        if grant is None:
            assert self.open, "told to wait with nothing reserved: no settle would ever come"
            assert (self.ledger.reserved, self.ledger.used) == (reserved, used)
            self.waiting.append((activation, size))
            self.waits += 1
            return
        assert grant.max_tokens == would  # what it gets does not depend on what runs beside it
        self.open.append((grant, estimate))

    # --- rules ---------------------------------------------------------------------------------

    @rule()
    def next_activation(self) -> None:
        self.activation += 1

    @rule(size=st.integers(0, 100) | st.integers(0, 4000))  # small calls wait more than fail
    def call(self, size: int) -> None:
        if self.activation in self.refused:
            return  # the driver fails an activation at its first refusal: nothing more is sent
        self.ask(self.activation, size)

    @precondition(lambda self: bool(self.waiting))
    @rule(pick=st.integers(0, 1000))
    def ask_again(self, pick: int) -> None:
        """A waiting call, woken by a settle, asks again."""
        activation, size = self.waiting.pop(pick % len(self.waiting))
        if activation not in self.refused:
            self.ask(activation, size)

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

    # --- invariants ----------------------------------------------------------------------------

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
    def reservations_are_what_open_calls_hold(self) -> None:
        assert self.ledger.reserved == sum(grant.reserved for grant, _ in self.open)

    @invariant()
    def every_refusal_is_counted(self) -> None:
        assert self.ledger.refused == len(self.refused)

    @invariant()
    def no_wait_outlives_the_reservations(self) -> None:
        """With nothing in flight, every waiting call is decided when it asks again."""
        if self.open:
            return
        for activation, size in self.waiting:
            if activation in self.refused:
                continue
            trial = copy.deepcopy(self.ledger)
            with contextlib.suppress(BudgetRefused):  # refused is decided, too
                assert trial.authorize(self.spec, activation, messages(size)) is not None


Budgets.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestBudgets = Budgets.TestCase


def test_the_machine_does_make_calls_wait() -> None:
    """The state machine is no proof of waiting if no example waits: a run of it that must."""
    machine = Budgets()
    machine.setup(per_call=3000, per_execution=None, workflow=4000, max_tokens=None)
    machine.call(size=10)  # reserves all the per_call room: 3000
    machine.next_activation()
    machine.call(size=10)  # 1000 left; alone it would get 3000 - 26 (its estimate): it waits
    assert machine.waits == 1 and machine.ledger.refused == 0
    machine.fail_call(pick=0)  # the first call failed: its reservation is free again
    machine.ask_again(pick=0)
    assert [grant.max_tokens for grant, _ in machine.open] == [2974]
