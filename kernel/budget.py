"""Token budgets, checked before every LLM call.

In: the agents' budgets, the workflow's whole-run budget, and each call's messages and wanted
`max_tokens`. Out: the `max_tokens` to send (every request carries one); None, "not yet", when
only what calls in flight hold keeps the call from fitting; or `BudgetRefused`.

The input estimate is an upper bound, documented in docs/kernel.md: one token per UTF-8 byte of
every message — its content, and in a tool-calling session each tool call's id, name, arguments
and signature, and each tool result's call id and name —, and of the compact JSON of every tool
definition offered (name, description, parameters), plus `PER_MESSAGE` tokens of chat-template
overhead per message, `PER_TOOL` per tool call and per definition, and `PER_REQUEST` per
request. Byte-level BPE tokenizers (OpenAI, Llama 3, Qwen, Mistral) never
produce more tokens than bytes, so for them the bound holds; it is about four times the usual
count. A call may use `estimate + max_tokens`; under `abort` that must fit in what is left of
`per_call`, of `per_execution` (this activation) and of the workflow budget, and it is
*reserved* until the response says what was actually used, so concurrent calls cannot jointly
overspend (a call answered before anything else runs, `reserve=False`, has nothing to hold).
Hence, if providers honour `max_tokens`, recorded usage never exceeds a budget under `abort`.

What others reserved is not spent. A call is decided on what is left with every reservation
released — what it would be granted if it ran alone: its `max_tokens`, or when the agent sets
none, all that room (so what it is sent never depends on what runs beside it). It is refused
only when that does not fit; when it fits but reservations of calls in flight take part of the
room, `authorize` answers None and the caller waits for a reservation to be settled, then asks
again. None is never the answer while nothing is reserved, so every wait ends once the calls in
flight do. `warn` logs what would not fit and sends anyway.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from axoc.kernel.ports import BudgetRefused, Message, ToolDefinition, Usage
from axoc.kernel.table import AgentSpec

PER_MESSAGE = 8
PER_REQUEST = 8
PER_TOOL = 8  # per tool call, and per tool definition offered


def estimate_input(messages: tuple[Message, ...], tools: Sequence[ToolDefinition] = ()) -> int:
    size = PER_REQUEST
    for message in messages:  # a plain loop: twice as fast as sum() over a generator
        content = message.content  # ASCII (a flag, read in constant time): one byte a character
        size += PER_MESSAGE + (len(content) if content.isascii() else len(content.encode()))
        if message.tool_calls or message.tool_call_id is not None:
            size += _tool_parts(message)
    if tools:
        size += tools_size(tools)
    return size


def _bytes(text: str | None) -> int:
    if not text:
        return 0
    return len(text) if text.isascii() else len(text.encode())


def _tool_parts(message: Message) -> int:
    """The tokens a message's tool calls, or a tool result's correlation, may take."""
    size = _bytes(message.tool_call_id) + _bytes(message.name)
    for call in message.tool_calls:
        size += PER_TOOL + _bytes(call.id) + _bytes(call.name) + _bytes(call.arguments)
        size += _bytes(call.signature)
    return size


_sizes: dict[int, tuple[Sequence[ToolDefinition], int]] = {}  # id → (the definitions, size)


def tools_size(tools: Sequence[ToolDefinition]) -> int:
    """The tokens the definitions offered may take: their compact JSON, one per byte. A
    session offers the same tuple at every turn: its size is computed once (the cache holds
    the tuple itself, so its id is not reused while cached)."""
    cached = _sizes.get(id(tools))
    if cached is not None and cached[0] is tools:
        return cached[1]
    size = _tools_size(tools)
    if len(_sizes) >= 256:
        _sizes.clear()
    _sizes[id(tools)] = (tools, size)
    return size


def _tools_size(tools: Sequence[ToolDefinition]) -> int:
    size = 0
    for tool in tools:
        body = {"name": tool.name, "description": tool.description,
                "parameters": tool.parameters}  # fmt: skip
        size += PER_TOOL + len(json.dumps(body, separators=(",", ":")).encode())
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
        reserve: bool = True, tools: Sequence[ToolDefinition] = (),
    ) -> Grant | None:  # fmt: skip
        """Permission for one call; None when it fits only once reservations of calls in flight
        are settled (wait for one, then ask again); or `BudgetRefused` when it could not fit
        even if every reservation were released. `reserve=False` for a call answered before
        anything else runs (an instant provider): with nothing to overspend alongside it,
        there is nothing to hold, and the decision is the same. `tools`: the definitions the
        call offers, part of its input."""
        estimate = estimate_input(messages, tools)
        budget = agent.budget
        wanted = agent.sampling.max_tokens
        # What is left of the tightest budget, the first named on a tie (per_call,
        # per_execution, workflow): `room` as if every reservation were released, `free` with
        # them held. Invariant: free ≤ room, equal when nothing is reserved.
        which, room = "per_call", budget.per_call - estimate
        tightest, free = which, room
        if budget.per_execution is not None:
            left = budget.per_execution - self.by_activation[activation] - estimate
            if left < room:
                which, room = "per_execution", left
            left -= self.held_by[activation]
            if left < free:
                tightest, free = "per_execution", left
        if self.workflow_budget is not None:
            left = self.workflow_budget - self.used - estimate
            if left < room:
                which, room = "workflow", left
            left -= self.reserved
            if left < free:
                tightest, free = "workflow", left
        if budget.overflow_policy == "abort":
            max_tokens = room if wanted is None else wanted  # what the call would get alone
            if room < 1 or max_tokens > room:
                self.refused += 1
                raise BudgetRefused(agent.id, estimate, wanted, max(0, room + estimate), which)
            if max_tokens > free:
                return None  # others' reservations, not what was spent, are in the way: wait
        else:  # warn: decided on what is free now, and sent anyway when it does not fit
            max_tokens = free if wanted is None else wanted
            if free < 1 or max_tokens > free:
                left = max(0, free + estimate)
                note = f"'{agent.id}' may exceed its {tightest} budget ({left} left)"
                return self._reserve(activation, agent.id, estimate, 0, wanted, note)
        tokens = estimate + max_tokens if reserve else 0
        if tokens:  # the usual case, reserved here rather than by `_reserve`: once per call
            self.reserved += tokens
            holding = self.held_by  # get(): a new key costs less than through __missing__
            holding[activation] = holding.get(activation, 0) + tokens
        # every field, built in C: see axoc.kernel.driver on the per-activation path
        return tuple.__new__(Grant, (activation, agent.id, tokens, max_tokens, estimate, None))

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
