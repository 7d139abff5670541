"""An instant call (authorized, answered and settled before anything else runs) needs no
reservation: `authorize(..., reserve=False)` must decide exactly as a reserving authorize that is
settled at once — the same max_tokens, estimate, warning or refusal — and leave the same usage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from axoc.kernel.budget import Grant, Ledger
from axoc.kernel.ports import BudgetRefused, Message, Usage
from axoc.kernel.table import AgentSpec, Budget, Memory, Sampling, Supervision


def agent(
    per_call: int, per_execution: int | None, max_tokens: int | None, policy: str
) -> AgentSpec:
    return AgentSpec(
        id="a", name="a", provider="echo", model="m", system_prompt="s", depends_on=(), tools=(),
        role="autonomous", budget=Budget(per_call, per_execution, policy),
        sampling=Sampling(max_tokens=max_tokens), supervision=Supervision(),
        memory=Memory(True, 5, 0.15, ()), timeout=None,
    )  # fmt: skip


def call(
    ledger: Ledger, spec: AgentSpec, activation: int, size: int, output: int, reserve: bool
) -> tuple[Grant | str, int]:
    messages = (Message("user", "é" * size),)
    try:
        grant = ledger.authorize(spec, activation, messages, reserve=reserve)
    except BudgetRefused as refused:
        return str(refused), ledger.reserved
    during = ledger.reserved
    ledger.settle(grant, Usage(grant.estimate, min(output, grant.max_tokens or output)))
    return grant._replace(reserved=0), during


@settings(max_examples=300, deadline=None)
@given(
    per_call=st.integers(10, 3000),
    per_execution=st.none() | st.integers(10, 6000),
    workflow=st.none() | st.integers(10, 20000),
    max_tokens=st.none() | st.integers(1, 2000),
    policy=st.sampled_from(["abort", "warn"]),
    calls=st.lists(
        st.tuples(st.integers(1, 4), st.integers(0, 800), st.integers(0, 900)), max_size=12
    ),
)
def test_an_instant_call_decides_and_spends_as_a_reserved_one(
    per_call: int,
    per_execution: int | None,
    workflow: int | None,
    max_tokens: int | None,
    policy: str,
    calls: list[tuple[int, int, int]],
) -> None:
    spec = agent(per_call, per_execution, max_tokens, policy)
    reserving, instant = Ledger(workflow), Ledger(workflow)
    for activation, size, output in calls:
        held, _ = call(reserving, spec, activation, size, output, reserve=True)
        free, during = call(instant, spec, activation, size, output, reserve=False)
        assert held == free
        assert during == 0  # nothing held while the instant call runs
    for ledger in (reserving, instant):
        assert ledger.reserved == 0
    assert instant.used == reserving.used and instant.refused == reserving.refused
    assert instant.by_agent == reserving.by_agent
    assert instant.by_activation == reserving.by_activation
