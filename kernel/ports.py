"""Ports: the small interfaces adapters implement for the kernel, and the errors they raise.

A provider is one coroutine, `complete(request) -> Response`, reporting token usage. Adapters
(`axoc.providers.*`) translate their transport's exceptions into the `ProviderError` tree below,
most specific first, with `raise ... from exc`; the kernel classifies failures by that tree:

    ProviderError
    ├── TransientProviderError      429, 5xx, timeouts, connection resets: may be retried
    │   └── RateLimited             429, with the server's Retry-After in seconds if it sent one
    └── FatalProviderError          400, 401, 403, unknown model: retrying cannot help
        └── InvalidResponse         the provider answered, but not in its protocol

`BudgetRefused` is raised by the kernel itself before a call leaves the process.
The values crossing the port are NamedTuples: immutable like frozen dataclasses, and several
times cheaper to create, which matters at a few microseconds per activation. Standard library
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from axoc.kernel.table import AgentSpec


class ToolCall(NamedTuple):
    """A call the model asked for. `arguments` is the JSON text of an object as the model wrote
    it (adapters whose wire format carries an object serialize it): the session parses it and
    answers a call whose arguments are not JSON, or do not match the tool's schema, with an
    error result the model sees. `id` correlates the call with its result; an adapter whose
    provider sends none (Ollama, Gemini) makes one up, unique within the response.
    `signature` is an opaque token the provider wants back with the call (Gemini's
    `thoughtSignature`); adapters that have none leave it None."""

    id: str
    name: str
    arguments: str
    signature: str | None = None


class Message(NamedTuple):
    """One message of a session transcript.

    - "system", "user": `content` only.
    - "assistant": `content` (may be empty) and the `tool_calls` it made, in order.
    - "tool": the result of one call: `tool_call_id` and `name` of the call it answers,
      `content` (the result's text) and `is_error`. A transcript answers every call of an
      assistant message, in the order of the calls, before the next assistant message."""

    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False


class ToolDefinition(NamedTuple):
    """A tool offered to the model: `parameters` is a JSON schema of an object."""

    name: str
    description: str
    parameters: Mapping[str, Any]


class Request(NamedTuple):
    agent: str
    model: str
    messages: tuple[Message, ...]
    # The most output tokens the budgets leave room for. None only under `overflow_policy: warn`
    # when no room is left and the agent sets no max_tokens; adapters then send none.
    max_tokens: int | None
    temperature: float | None = None
    top_p: float | None = None
    response_format: str | None = None  # "text" | "json"
    timeout: float = 120.0  # seconds for the whole call
    input_estimate: int = 0  # the kernel's upper bound on input tokens (0: not computed)
    tools: tuple[ToolDefinition, ...] = ()  # offered to the model; none: a plain completion
    # "auto": the model may call `tools`; "none": it must answer in words — the tools are sent
    # because the transcript holds calls of theirs (Anthropic refuses tool blocks without them)
    tool_choice: str = "auto"


class Usage(NamedTuple):
    """What one call used. `input_tokens` counts every input token the call processed, those
    read from or written to a prompt cache included (Anthropic reports them apart: its adapter
    adds them up); `cached_input_tokens` and `cache_write_tokens` say how many of them were read
    from the cache and written to it, where the provider reports it (0 otherwise)."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


class Response(NamedTuple):
    text: str
    usage: Usage
    model: str | None = None
    finish_reason: str | None = None  # "stop", "length", "tool_calls", ...
    tool_calls: tuple[ToolCall, ...] = ()  # in the order the model made them


class Provider(Protocol):
    """One LLM endpoint. Implementations must be safe to call concurrently."""

    async def complete(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


class InstantProvider(Protocol):
    """A provider that answers without I/O (the built-in echo). The driver calls it directly,
    without scheduling a task or a timer; it must be deterministic and never block."""

    def complete_now(self, request: Request) -> Response: ...


class ToolResult(NamedTuple):
    """What a tool call gave: its text, and whether it is an error the model should see as one
    (a bad argument, a failed tool). The session puts it in the transcript as a "tool" message
    answering the call."""

    content: str
    is_error: bool = False


class Toolbox(Protocol):
    """The tools a run's agents may call, beside the kernel's built-in `emit`.

    `definitions(agent)`: the definitions of the tools in `agent.tools` this toolbox provides
    (the session offers only those in the allow-list, whatever it returns). `call(agent, call)`:
    run one call; a tool's own failure (bad arguments, a crash, a timeout of its own) is a
    `ToolResult` with `is_error=True`, never an exception. Calls of one turn run concurrently,
    so implementations must be safe to call concurrently."""

    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]: ...

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult: ...


class MemoryPort(Protocol):
    """What a run's agents remember beyond one activation (SPEC §7, tiers 3 and 4).

    `uses(agent)`: whether the agent has memory at all — cheap, and the same answer for the
    whole run; the session asks the other two only for such an agent. `context(agent, prompt)`:
    the text added to the agent's system prompt for an activation asked `prompt` (its core
    memory blocks, what it recalls of `prompt`), "" for none; awaited once per activation,
    before its first call. `remember(agent, prompt, answer)`: the activation answered; store
    what is worth keeping. Both must not block the event loop (blocking work goes to a thread)
    and must be safe to call concurrently; an exception they raise is recorded (a
    `memory_error` record) and the activation goes on without: memory never fails a run."""

    def uses(self, agent: AgentSpec) -> bool: ...

    async def context(self, agent: AgentSpec, prompt: str) -> str: ...

    async def remember(self, agent: AgentSpec, prompt: str, answer: str) -> None: ...


class ProviderError(Exception):
    """A provider call failed. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientProviderError(ProviderError):
    """Worth retrying later: rate limits, server errors, timeouts, dropped connections."""


class RateLimited(TransientProviderError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class FatalProviderError(ProviderError):
    """Retrying cannot help: a bad request, bad credentials, an unknown model."""


class InvalidResponse(FatalProviderError):
    """The provider answered, but not in its protocol (malformed JSON, missing fields)."""


class BudgetRefused(Exception):
    """A call was refused before it was sent: it could exceed a token budget.

    `estimate` is the call's input estimate; `max_tokens` the agent's `sampling.max_tokens`, or
    None when it sets none (the call then needs room for at least one output token); `total`
    what the call could use, their sum; `limit` the tokens left of the `which` budget
    ("per_call", "per_execution" or "workflow"), less than `total`."""

    def __init__(
        self, agent: str, estimate: int, max_tokens: int | None, limit: int, which: str
    ) -> None:
        total = estimate + (1 if max_tokens is None else max_tokens)
        output = "at least 1 output token" if max_tokens is None else f"max_tokens {max_tokens}"
        super().__init__(
            f"budget refused a call of agent '{agent}': input estimate {_tokens(estimate)} + "
            f"{output} = {total}, over the {_tokens(limit)} left of its {which} budget"
        )
        self.agent = agent
        self.estimate = estimate
        self.max_tokens = max_tokens
        self.total = total
        self.limit = limit
        self.which = which


def _tokens(count: int) -> str:
    return "1 token" if count == 1 else f"{count} tokens"
