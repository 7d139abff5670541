"""Token budgets, checked before every LLM call.

In: the agents' budgets, the workflow's whole-run budget, and each call's messages and wanted
`max_tokens`. Out: the `max_tokens` to send (every request carries one), or `BudgetRefused`.

The input estimate is an upper bound, documented in docs/kernel.md: one token per UTF-8 byte of
every message, plus `PER_MESSAGE` tokens of chat-template overhead per message and
`PER_REQUEST` per request. Byte-level BPE tokenizers (OpenAI, Llama 3, Qwen, Mistral) never
produce more tokens than bytes, so for them the bound holds; it is about four times the usual
count. A call may use `estimate + max_tokens`; under `abort` that must fit in what is left of
`per_call`, of `per_execution` (this activation) and of the workflow budget, and it is
*reserved* until the response says what was actually used, so concurrent calls cannot jointly
overspend (a call answered before anything else runs, `reserve=False`, has nothing to hold).
Hence, if providers honour `max_tokens`, recorded usage never exceeds a budget under `abort`.
`warn` logs what would not fit and sends anyway.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from axoc.kernel.ports import BudgetRefused, Message, Usage
from axoc.kernel.table import AgentSpec

PER_MESSAGE = 8
PER_REQUEST = 8


def estimate_input(messages: tuple[Message, ...]) -> int:
    size = PER_REQUEST
    for message in messages:  # a plain loop: twice as fast as sum() over a generator
        content = message.content  # ASCII (a flag, read in constant time): one byte a character
        size += PER_MESSAGE + (len(content) if content.isascii() else len(content.encode()))
    return size


class Grant(NamedTuple):
    """Permission for one call: send `max_tokens`; `reserved` tokens are held until settled."""

    activation: int
    agent: str
    reserved: int
    max_tokens: int | None
    estimate: int  # the input estimate the decision was made on
    warning: str | None = None  # set under `warn` when the call may exceed a budget


class Ledger:
    """What each agent, each activation and the whole run used and have reserved."""

    def __init__(self, workflow_budget: int | None) -> None:
        self.workflow_budget = workflow_budget
        self.by_agent: dict[str, Usage] = {}
        self.by_activation: dict[int, int] = defaultdict(int)
        self.used = 0
        self.reserved = 0
        self.held_by: dict[int, int] = defaultdict(int)  # reserved per activation
        self.refused = 0

    def authorize(
        self, agent: AgentSpec, activation: int, messages: tuple[Message, ...], *,
        reserve: bool = True,
    ) -> Grant:  # fmt: skip
        """Permission for one call, or `BudgetRefused`. `reserve=False` for a call answered
        before anything else runs (an instant provider): with nothing to overspend alongside
        it, there is nothing to hold, and the decision is the same."""
        estimate = estimate_input(messages)
        budget = agent.budget
        wanted = agent.sampling.max_tokens
        # The tightest budget, the first named on a tie: per_call, per_execution, workflow.
        which, room = "per_call", budget.per_call - estimate
        if budget.per_execution is not None:
            held = self.by_activation[activation] + self.held_by[activation]
            left = budget.per_execution - held - estimate
            if left < room:
                which, room = "per_execution", left
        if self.workflow_budget is not None:
            left = self.workflow_budget - self.used - self.reserved - estimate
            if left < room:
                which, room = "workflow", left
        fits = room >= 1 and (wanted is None or wanted <= room)
        if fits:  # the usual case, reserved here rather than by `_reserve`: once per call
            max_tokens = room if wanted is None else wanted  # min(wanted, room): it fits
            tokens = estimate + max_tokens if reserve else 0
            if tokens:
                self.reserved += tokens
                holding = self.held_by  # get(): a new key costs less than through __missing__
                holding[activation] = holding.get(activation, 0) + tokens
            # every field, built in C: see axoc.kernel.driver on the per-activation path
            return tuple.__new__(Grant, (activation, agent.id, tokens, max_tokens, estimate, None))
        if budget.overflow_policy == "abort":
            self.refused += 1
            raise BudgetRefused(agent.id, estimate, wanted, max(0, room + estimate), which)
        note = f"'{agent.id}' may exceed its {which} budget ({max(0, room + estimate)} left)"
        return self._reserve(activation, agent.id, estimate, 0, wanted, note)

    def _reserve(
        self, activation: int, agent: str, estimate: int, tokens: int, max_tokens: int | None,
        note: str | None = None,
    ) -> Grant:  # fmt: skip
        self.reserved += tokens
        self.held_by[activation] += tokens
        return Grant(activation, agent, tokens, max_tokens, estimate, note)

    def charge(self, agent: str, activation: int, usage: Usage) -> None:
        """Record usage spent before (a resumed run's journal): nothing is reserved or sent."""
        self.settle(Grant(activation, agent, 0, None, 0), usage)

    def settle(self, grant: Grant, usage: Usage | None) -> None:
        """Release the reservation; record what the call used (None: it failed, nothing used)."""
        if grant.reserved:
            self.reserved -= grant.reserved
            self.held_by[grant.activation] -= grant.reserved
        if usage is None:
            return
        before = self.by_agent.get(grant.agent)
        self.by_agent[grant.agent] = (
            usage if before is None else Usage(before[0] + usage[0], before[1] + usage[1])
        )
        total = usage[0] + usage[1]
        spent = self.by_activation  # get(): a new key costs less than through __missing__
        spent[grant.activation] = spent.get(grant.activation, 0) + total
        self.used += total
