"""Activation sessions: one activation, from its prompt to its outcome.

In: an `Activation` the scheduler started, and the run's `Sessions` (providers, ledger, clock,
toolbox, recorder, what the run's agents produced so far). Out: an `Outcome` — the answer, or
the error — with the activation's token usage and the events it emitted with `emit`, in order.

A session builds the prompt (the hand-off, a skill's prompt, the input), then runs the tool
loop: a model turn; if the answer calls tools, the calls run (concurrently, those of one turn)
and their results go back in a next turn; until an answer calls none. Guarantees:
- **Budgets before every call** (`axoc.kernel.budget`): each turn's input estimate covers the
  transcript so far — tool calls and results included — and the tool definitions offered. A
  call that fits only once calls in flight settle what they reserved waits for the next settle.
- **Rounds**: at most `agent.max_tool_rounds` turns may call tools; the turn after the last
  one may call none (`tool_choice` "none", the tools still sent: the transcript holds calls
  of theirs, and Anthropic refuses tool blocks without their tools), and its text is the
  answer (a model that still answers with nothing but tool calls fails the activation).
- **A well-formed transcript**: every call of an answer is answered, in the order of the calls,
  with the call's id and name, before the next turn — a call naming a tool not offered, with
  arguments that are not a JSON object matching the schema, cut by `max_tokens`, that failed or
  did not finish within the agent's timeout gets an error result (`is_error`) the model sees.
- **Retries and supervision**: a transient provider error is retried with exponential backoff
  and jitter (`supervision.max_restarts` retries per turn), honouring Retry-After; a fatal one
  fails at once; an unexpected exception in a provider restarts the turn from the session so
  far (the last checkpoint), within the restart intensity (Erlang/OTP: `max_restarts` within
  `within` seconds per agent). The agent's `timeout` bounds the whole activation, every turn,
  retry, wait and tool included, except waits for budget others reserved.
- **Checkpoints per turn**: with a recorder that checkpoints, each turn (the call and the tool
  results it led to) is durable before the session acts on it; a resumed activation continues
  from its last checkpointed turn (`Sessions.restore`), tool calls whose results were
  checkpointed are not run again. The final turn of an in-process provider (echo) is not
  checkpointed: the journal records it in its tick, before any I/O.
- Emitted events are not published here: they travel with the outcome, and the scheduler
  publishes them at the tick boundary that delivers it (docs/kernel.md, "emit").

Standard library only.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from axoc.kernel.budget import Grant, Ledger
from axoc.kernel.clock import Clock
from axoc.kernel.core import Activation
from axoc.kernel.durable import Recorder, Replay, turn_checkpoint
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import (
    BudgetRefused,
    Message,
    Provider,
    ProviderError,
    RateLimited,
    Request,
    Response,
    Toolbox,
    ToolCall,
    ToolDefinition,
    ToolResult,
    TransientProviderError,
    Usage,
)
from axoc.kernel.table import AgentSpec, ProactiveSpec, SignalTable, SkillSpec
from axoc.kernel.toolcalls import EMIT, arguments, emit_definition, recover
from axoc.kernel.usage import impossible

DEFAULT_CALL_TIMEOUT = 300.0  # seconds an activation may take, when the agent sets none
MAX_BACKOFF = 60.0  # seconds: the longest wait between two attempts, Retry-After included
Emitted = tuple[tuple[str, str], ...]  # (event, payload), in the order they were emitted


class Outcome(NamedTuple):  # immutable; a tuple is cheaper to build than a dataclass
    activation: Activation
    text: str | None = None
    error: str | None = None
    refused: bool = False  # failed because a budget refused the call
    usage: Usage | None = None  # the whole activation's, every turn
    replayed: bool = False  # taken from the journal of an interrupted run: nothing was called
    emitted: Emitted = ()


def outcome_of(activation: Activation, text: str, usage: Usage) -> Outcome:
    """An answer's outcome, built in C (every field, in order): half the cost of calling the
    class, whose `__new__` runs in Python — the executor's fast path builds one per activation.
    The one place this trick is played for an Outcome."""
    return tuple.__new__(Outcome, (activation, text, None, False, usage, False, ()))


class Sessions:
    """The session side of one run: what every activation's session shares."""

    def __init__(
        self,
        table: SignalTable,
        providers: Mapping[str, Provider],
        *,
        index: RunIndex,
        input: str,
        ledger: Ledger,
        clock: Clock,
        record: Callable[..., None],
        observed: bool,
        outputs: Mapping[str, str],
        errors: Mapping[str, str],
        seed: int,
        recorder: Recorder | None = None,
        replay: Replay | None = None,
        toolbox: Toolbox | None = None,
        keep_transcripts: bool = False,
    ) -> None:
        self.providers = providers
        self.index = index
        self.input = input
        self.ledger = ledger
        self.clock = clock
        self.record = record
        self.observed = observed
        self.outputs = outputs
        self.errors = errors
        self.seed = seed
        self.recorder = recorder
        self.replay = replay
        self.toolbox = toolbox
        self.agents: Mapping[str, AgentSpec] = table.by_id("agents")
        self._skills: Mapping[str, SkillSpec] = table.by_id("skills")
        self._proactive: Mapping[str, ProactiveSpec] = table.by_id("proactive")
        self._restarts: dict[str, deque[float]] = {}  # agent → times of recent restarts
        # Calls waiting for budget that calls in flight reserved, woken by the next settle.
        self._waiting: list[asyncio.Future[None]] = []
        # provider name → its `complete_now` when it answers without I/O (InstantProvider)
        self._instant: dict[str, Callable[[Request], Response] | None] = {
            name: getattr(provider, "complete_now", None) for name, provider in providers.items()
        }
        self._offered: dict[str, tuple[ToolDefinition, ...]] = {}
        # Earlier turns of a conversation that an entry activation continues (`axoc chat`):
        # user and assistant messages, between the system prompt and what it is asked now.
        self.history: tuple[Message, ...] = ()
        # activation → the transcript of its tool loop, when kept (tests, embedding programs)
        self.transcripts: dict[int, tuple[Message, ...]] | None = {} if keep_transcripts else None

    # --- what an agent is given ----------------------------------------------------------------

    def instant(self, agent: AgentSpec) -> Callable[[Request], Response] | None:
        """The agent's provider's `complete_now`, if it answers without I/O."""
        try:
            return self._instant[agent.provider]
        except KeyError:  # not listed by the mapping's items(): ask it, as a call would
            provider = self.providers[agent.provider]
            found = self._instant[agent.provider] = getattr(provider, "complete_now", None)
            return found

    def offered(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        """The tools offered to the agent: those of its allow-list the toolbox provides, and
        `emit` when it is allowed and the agent may emit something; none when it has no tool
        round (`max_tool_rounds: 0`)."""
        if not agent.tools or agent.max_tool_rounds < 1:
            return ()
        found = self._offered.get(agent.id)
        if found is None:
            allowed = set(agent.tools)
            tools: dict[str, ToolDefinition] = {}
            if EMIT in allowed and agent.emits:
                tools[EMIT] = emit_definition(agent.emits)
            if self.toolbox is not None:
                for definition in self.toolbox.definitions(agent):
                    if definition.name in allowed and definition.name not in tools:
                        tools[definition.name] = definition
            found = self._offered[agent.id] = tuple(tools.values())
        return found

    def messages(self, agent: AgentSpec, activation: Activation) -> tuple[Message, ...]:
        """The activation's prompt: its system prompt, then (an entry activation continuing a
        conversation) its earlier turns, then what it is asked."""
        kind = activation.kind
        if kind == "entry":
            prompt = self.input
        elif kind == "skill" and activation.skill is not None:
            prompt = self._skills[activation.skill].prompt
            prompt = f"{prompt}\n\n{activation.trigger.payload}".strip()
        elif kind == "proactive" and activation.proactive is not None:
            prompt = self._proactive[activation.proactive].input
            prompt = f"{prompt}\n\n{activation.trigger.payload}".strip()
        else:
            prompt = self._handoff(agent, activation)
        # built in C, every field: one per activation (see `outcome_of`)
        user = tuple.__new__(Message, ("user", prompt, (), None, None, False))
        user_turns = (*self.history, user) if kind == "entry" and self.history else (user,)
        if agent.system_prompt:
            system = tuple.__new__(Message, ("system", agent.system_prompt, (), None, None, False))
            return (system, *user_turns)
        return user_turns

    def _handoff(self, agent: AgentSpec, activation: Activation) -> str:
        """Axocoatl's hand-off: one line per finished dependency, then the original task."""
        # `depends_on` holds no id twice (SignalTable guarantees it); the sources of an activation
        # expression's routes may.
        deps = agent.depends_on or dict.fromkeys(
            r.source for r in self.index.routes_of.get(activation.unit, ()) if r.source
        )
        outputs = self.outputs
        lines = ["Previous agent outputs:"]
        for dep in deps:
            output = outputs.get(dep)
            if output is not None:
                lines.append(f"[{dep}]: {output}")
            elif dep in self.errors:
                lines.append(f"[{dep}]: (failed: {self.errors[dep]})")
        lines.append(f"\nOriginal task: {self.input}")
        return "\n".join(lines)

    # --- budgets -------------------------------------------------------------------------------

    def prepare(
        self, activation: Activation, agent: AgentSpec, messages: tuple[Message, ...],
        tools: tuple[ToolDefinition, ...] = (), *, reserve: bool = True,
    ) -> tuple[Request, Grant] | BudgetRefused | None:  # fmt: skip
        """The request to send, with its budget grant; the refusal; or None when it must wait
        for calls in flight to settle the budget they reserved."""
        try:
            grant = self.ledger.authorize(
                agent, activation.seq, messages, reserve=reserve, tools=tools
            )
        except BudgetRefused as refused:
            return refused
        if grant is None:
            return None
        if grant.warning:
            self.record("budget_warning", agent=agent.id, message=grant.warning)
        return _request(agent, messages, grant, tools), grant

    def settle(self, grant: Grant, usage: Usage | None) -> None:
        """Settle a call's grant; what it reserved is free again: calls waiting for budget ask
        again, in the order they began to wait."""
        self.ledger.settle(grant, usage)
        if grant.reserved and self._waiting:
            waiting, self._waiting = self._waiting, []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    async def budget_settled(self, activation: Activation) -> float:
        """Wait until a call in flight settles its reservation; the seconds waited. (The
        ledger asks a call to wait only while something is reserved, so this ends.)"""
        began = self.clock.monotonic()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self.observed:
            self.record("budget_wait", agent=activation.agent, seq=activation.seq)
        await waiter
        return self.clock.monotonic() - began

    def answered(self, activation: Activation, grant: Grant, response: Response) -> Usage:
        """A call's answer arrived: settle its grant with what it used; that usage."""
        usage = response.usage
        self.settle(grant, usage)
        if self.observed:
            self.record(
                "usage", agent=activation.agent, seq=activation.seq, input=usage.input_tokens,
                output=usage.output_tokens,
            )  # fmt: skip
        return usage

    def may_restart(self, agent: AgentSpec) -> bool:
        """Erlang/OTP restart intensity: at most `max_restarts` within `within` seconds."""
        now = self.clock.monotonic()
        recent = self._restarts.setdefault(agent.id, deque())
        while recent and now - recent[0] > agent.supervision.within:
            recent.popleft()
        if len(recent) >= agent.supervision.max_restarts:
            return False
        recent.append(now)
        return True

    # --- resuming ------------------------------------------------------------------------------

    def restore(self, activation: Activation) -> Outcome | Session | None:
        """On resume, for an activation the journal does not record: its outcome when its
        final turn was checkpointed; the session to continue from its last checkpointed turn;
        or None (it starts afresh). What the checkpointed turns used is charged once."""
        replay = self.replay
        name = activation.agent
        if replay is None or not replay.may_have(name):
            return None
        agent = self.agents[name]
        found = replay.resume_point(activation.seq, name, self.messages(agent, activation))
        if found is None:
            return None
        spent = Usage(*found.activation_usage)
        self.ledger.charge(name, activation.seq, spent)
        if self.observed:
            self.record("usage", agent=name, seq=activation.seq, input=spent.input_tokens,
                        output=spent.output_tokens)  # fmt: skip
        if found.final:
            return Outcome(activation, found.answer, usage=spent, emitted=found.emitted)
        rounds = sum(1 for m in found.transcript if m.role == "assistant" and m.tool_calls)
        return Session(
            self, activation, transcript=found.transcript, turn=found.turn, rounds=rounds,
            spent=spent, emitted=found.emitted,
        )  # fmt: skip


class Session:
    """One activation's session: its transcript so far, turns, tool rounds, usage, emits."""

    def __init__(
        self, sessions: Sessions, activation: Activation, *,
        transcript: tuple[Message, ...] | None = None, turn: int = 0, rounds: int = 0,
        spent: Usage | None = None, emitted: Emitted = (),
    ) -> None:  # fmt: skip
        self.sessions = sessions
        self.activation = activation
        self.agent = agent = sessions.agents[activation.agent]
        self.transcript = transcript or sessions.messages(agent, activation)
        self.turn = turn  # model turns done
        self.rounds = rounds  # turns whose answer called tools
        self.spent = spent  # the activation's usage so far
        self.emitted = emitted
        self.calls = 0  # calls sent (attempts), for error messages
        self.timeout = agent.timeout or DEFAULT_CALL_TIMEOUT
        self.deadline = 0.0
        self._jitter: random.Random | None = None

    async def run(self) -> Outcome:
        sessions, agent = self.sessions, self.agent
        offered = sessions.offered(agent)
        self.deadline = sessions.clock.monotonic() + self.timeout
        while True:
            # after its last tool round, the agent may call no tool: it must answer (the tools
            # are still sent, with tool_choice "none": the transcript holds calls of theirs)
            final = self.rounds >= agent.max_tool_rounds
            answer = await self._call(self.transcript, offered, final)
            if isinstance(answer, Outcome):
                return answer
            request, response, usage = answer
            self.turn += 1
            self.spent = usage if self.spent is None else _add(self.spent, usage)
            calls, content = response.tool_calls, response.text
            if final or not offered:  # no call allowed: whatever a provider sent is no call
                if offered and calls and not content:
                    said = Message("assistant", content, _with_ids(calls, self.turn))
                    self._keep((*request.messages, said), offered)
                    return self._failed(
                        f"agent '{agent.id}' still called tools after its "
                        f"{agent.max_tool_rounds} tool rounds (max_tool_rounds), with no answer"
                    )
                calls = ()
            elif not calls and content:
                calls = recover(content, {d.name for d in offered})
                if calls:
                    content = ""  # the text was the calls
            if not calls:
                self._keep((*request.messages, Message("assistant", content)), offered)
                await self._checkpoint(request, content, usage)
                return Outcome(activation=self.activation, text=content, usage=self.spent,
                               emitted=self.emitted)  # fmt: skip
            calls = _with_ids(calls, self.turn)
            if (duplicate := _duplicate(calls)) is not None:
                why = f"two tool calls of one answer share the id '{duplicate}'"
                return self._failed(f"InvalidResponse: provider '{agent.provider}': {why}")
            said = Message("assistant", content, calls)
            self.rounds += 1
            results, finished = await self._run_tools(calls, offered, response.finish_reason)
            self.transcript = (*request.messages, said, *_results(calls, results))
            self._keep(self.transcript, offered)
            if not finished:
                return self._failed(_timed_out(self.timeout, self.calls))
            await self._checkpoint(request, None, usage)

    # --- one call, retried ---------------------------------------------------------------------

    async def _call(
        self, messages: tuple[Message, ...], tools: tuple[ToolDefinition, ...], final: bool = False
    ) -> tuple[Request, Response, Usage] | Outcome:
        """One model turn: a call, retried on transient errors (supervision, SPEC §5.1) with
        exponential backoff and jitter, honouring Retry-After, at most `max_restarts` retries;
        every attempt is a new call and passes the budget check again. Fatal errors fail at
        once. Each attempt is sent with the time left of the activation's deadline as its
        `Request.timeout` and abandoned when that runs out; a wait that would end past the
        deadline is not begun."""
        sessions, agent, activation = self.sessions, self.agent, self.activation
        clock = sessions.clock
        provider = sessions.providers[agent.provider]
        instant = sessions.instant(agent)  # answers without I/O: called in place, no timer
        retries = 0  # after transient errors, this turn (restarts not counted)
        while True:
            left = self.deadline - clock.monotonic()
            if left <= 0:  # after a restart, or tools that took the time
                return self._failed(_timed_out(self.timeout, self.calls))
            prepared = sessions.prepare(activation, agent, messages, tools)
            if prepared is None:  # the budget it needs is reserved by calls in flight
                self.deadline += await sessions.budget_settled(activation)  # not its own time
                continue
            if isinstance(prepared, BudgetRefused):
                return self._failed(str(prepared), refused=True)
            request, grant = prepared
            request = request._replace(timeout=left, tool_choice="none" if final else "auto")
            self.calls += 1
            try:
                if instant is not None:
                    response = instant(request)
                else:
                    async with asyncio.timeout(left):  # no task of its own, unlike wait_for
                        response = await provider.complete(request)
            except (TimeoutError, TransientProviderError) as exc:
                sessions.settle(grant, None)
                left = self.deadline - clock.monotonic()
                if isinstance(exc, TimeoutError) or left <= 0:
                    return self._failed(_timed_out(self.timeout, self.calls))
                error = f"{type(exc).__name__}: {exc}"
                retries += 1
                if retries > agent.supervision.max_restarts:
                    return self._failed(f"{error} (after {_attempts(self.calls)})")
                if self._jitter is None:  # the run's, per activation
                    self._jitter = random.Random(f"{sessions.seed}/{activation.seq}")
                delay = _backoff(agent.supervision.backoff, retries, exc, self._jitter)
                if delay >= left:
                    why = f"no time left to retry within its {self.timeout:g} s timeout"
                    return self._failed(f"{error} (after {_attempts(self.calls)}; {why})")
                sessions.record("retry", agent=agent.id, seq=activation.seq, attempt=retries,
                                delay=round(delay, 3), error=error)  # fmt: skip
                await asyncio.sleep(delay)
                continue
            except ProviderError as exc:
                sessions.settle(grant, None)
                return self._failed(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a provider bug: restart, within the restart intensity
                sessions.settle(grant, None)
                error = f"unexpected {type(exc).__name__} in provider: {exc}"
                if not sessions.may_restart(agent):
                    return self._failed(error)
                sessions.record("restart", agent=agent.id, seq=activation.seq, error=error)
                continue
            problem = impossible(request, response.usage)
            if problem is not None:  # nothing charged: the count is no count (kernel.usage)
                sessions.settle(grant, None)
                why = f"InvalidResponse: provider '{agent.provider}': impossible usage: {problem}"
                return self._failed(why)
            return request, response, sessions.answered(activation, grant, response)

    def _failed(self, error: str, *, refused: bool = False) -> Outcome:
        """The activation fails: with what its finished turns used and the events emitted."""
        return Outcome(self.activation, None, error, refused, self.spent, False, self.emitted)

    # --- tools ---------------------------------------------------------------------------------

    async def _run_tools(
        self, calls: tuple[ToolCall, ...], offered: tuple[ToolDefinition, ...],
        finish_reason: str | None,
    ) -> tuple[list[ToolResult], bool]:  # fmt: skip
        """The results of one answer's calls, in the order of the calls, and whether all
        finished within the activation's deadline (those that did not are answered so). Calls
        to the toolbox run concurrently; `emit` and calls refused before running are answered
        at once."""
        sessions, agent = self.sessions, self.agent
        by_name = {d.name: d for d in offered}
        results: list[ToolResult | None] = [None] * len(calls)
        to_run: list[int] = []  # calls of the toolbox's tools
        for n, call in enumerate(calls):
            definition = by_name.get(call.name)
            if finish_reason == "length":
                results[n] = ToolResult(
                    "not run: the answer was cut at its max_tokens (finish_reason 'length'), so "
                    "the arguments may be incomplete", True,
                )  # fmt: skip
            elif definition is None:
                offer = ", ".join(sorted(by_name))
                results[n] = ToolResult(f"unknown tool '{call.name}' (offered: {offer})", True)
            elif isinstance(args := arguments(call, definition.parameters), str):
                results[n] = ToolResult(args, True)
            elif call.name == EMIT:
                results[n] = self._emit(args)
            else:
                to_run.append(n)
        late = ToolResult(f"not finished: the activation's {self.timeout:g} s timeout passed", True)
        left = max(0.0, self.deadline - sessions.clock.monotonic())
        finished = True
        if len(to_run) == 1:  # one call: awaited in this task, no task of its own
            (n,) = to_run
            try:
                async with asyncio.timeout(left):
                    results[n] = await self._tool(calls[n])
            except TimeoutError:
                finished, results[n] = False, late
        elif to_run:  # concurrently, each a task
            running = {n: asyncio.ensure_future(self._tool(calls[n])) for n in to_run}
            try:
                _, unfinished = await asyncio.wait(running.values(), timeout=left)
            finally:
                for task in running.values():
                    task.cancel()  # a no-op for those done; a cancelled session leaves none
            finished = not unfinished
            for n, task in running.items():
                results[n] = late if task in unfinished else task.result()
        done = [r if r is not None else ToolResult("not run", True) for r in results]
        if sessions.observed:
            for call, result in zip(calls, done, strict=True):
                sessions.record("tool", agent=agent.id, seq=self.activation.seq, name=call.name,
                                id=call.id, error=result.is_error)  # fmt: skip
        return done, finished

    async def _tool(self, call: ToolCall) -> ToolResult:
        toolbox = self.sessions.toolbox
        assert toolbox is not None  # only the toolbox's tools run as tasks
        try:
            result = await toolbox.call(self.agent, call)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the port says a tool never raises: one did
            return ToolResult(f"the tool '{call.name}' failed: {type(exc).__name__}: {exc}", True)
        if not isinstance(result, ToolResult):
            return ToolResult(f"the tool '{call.name}' returned no result", True)
        return result

    def _emit(self, args: dict[str, Any]) -> ToolResult:
        """The built-in `emit`: the event is kept, published when the activation ends."""
        event, payload = args["event"], args.get("payload", "")
        if event not in self.agent.emits:  # the schema's enum says so too: checked again here
            allowed = ", ".join(self.agent.emits)
            return ToolResult(f"'{event}' is not an event this agent may emit ({allowed})", True)
        self.emitted = (*self.emitted, (event, payload))
        return ToolResult(f"'{event}' emitted: it is published when this activation ends")

    # --- records -------------------------------------------------------------------------------

    def _keep(self, transcript: tuple[Message, ...], offered: tuple[ToolDefinition, ...]) -> None:
        kept = self.sessions.transcripts
        if kept is not None and offered:
            kept[self.activation.seq] = transcript

    async def _checkpoint(self, request: Request, answer: str | None, usage: Usage) -> None:
        """Make the turn durable, when the run is recorded with checkpoints: the final one
        (`answer`) or one of the tool loop (the session's transcript). An in-process
        provider's final turn is not: the journal records it in this tick, before any I/O."""
        sessions = self.sessions
        recorder = sessions.recorder
        if recorder is None or recorder.checkpointer is None:
            return
        agent, activation = self.agent, self.activation
        if answer is not None and sessions.instant(agent) is not None:
            return
        final = answer is not None
        transcript = self.transcript
        if answer is not None:
            transcript = (*request.messages, Message("assistant", answer))
        state = {"status": "done" if final else "running", "unit": activation.unit,
                 "kind": activation.kind, "trigger": activation.trigger.name}  # fmt: skip
        assert self.spent is not None  # a turn was answered
        checkpoint = turn_checkpoint(
            recorder.run_id, activation.seq, agent.id, transcript, turn=self.turn, final=final,
            usage=usage, spent=self.spent, cumulative=sessions.ledger.by_agent.get(agent.id, usage),
            emitted=self.emitted, state=state,
        )  # fmt: skip
        await asyncio.wrap_future(recorder.checkpointer.submit(checkpoint))


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _with_ids(calls: tuple[ToolCall, ...], turn: int) -> tuple[ToolCall, ...]:
    """Calls without an id get one, unique within the answer (adapters should have given one)."""
    if all(call.id for call in calls):
        return calls
    return tuple(c if c.id else c._replace(id=f"call_{turn}_{n}") for n, c in enumerate(calls, 1))


def _duplicate(calls: tuple[ToolCall, ...]) -> str | None:
    seen: set[str] = set()
    for call in calls:
        if call.id in seen:
            return call.id
        seen.add(call.id)
    return None


def _results(calls: tuple[ToolCall, ...], results: list[ToolResult]) -> tuple[Message, ...]:
    """The "tool" messages answering `calls`, in their order."""
    return tuple(
        Message("tool", r.content, (), c.id, c.name, r.is_error)
        for c, r in zip(calls, results, strict=True)
    )


def _timed_out(timeout: float, calls: int) -> str:
    """The error of an activation whose deadline passed."""
    return f"timed out after {timeout:g} s ({_attempts(calls)})"


def _attempts(calls: int) -> str:
    return "1 attempt" if calls == 1 else f"{calls} attempts"


def random_seed() -> int:
    """A seed for a run's retry jitter, from the operating system's randomness."""
    return int.from_bytes(os.urandom(8), "big")


def _backoff(base: float, attempt: int, error: Exception, jitter: random.Random) -> float:
    """`base · 2^(attempt-1)` scaled by a jitter in [0.5, 1.5), or the server's Retry-After."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(MAX_BACKOFF, max(0.0, error.retry_after))
    delay: float = base * 2 ** (attempt - 1) * jitter.uniform(0.5, 1.5)
    return min(MAX_BACKOFF, delay)


def _request(
    agent: AgentSpec, messages: tuple[Message, ...], grant: Grant,
    tools: tuple[ToolDefinition, ...],
) -> Request:  # fmt: skip
    sampling = agent.sampling
    # built in C, every field: one per call (see `outcome_of`)
    return tuple.__new__(
        Request,
        (agent.id, agent.model, messages, grant.max_tokens, sampling.temperature, sampling.top_p,
         sampling.response_format, agent.timeout or DEFAULT_CALL_TIMEOUT, grant.estimate, tools,
         "auto"),
    )  # fmt: skip
