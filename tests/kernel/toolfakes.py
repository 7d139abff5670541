"""Test doubles for the tool loop: a provider that plays a script of answers (tool calls or
text) per agent, a toolbox with real asynchronous tools, and tables with tools granted."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Request, Response, ToolCall, ToolDefinition, ToolResult, Usage
from axoc.kernel.table import AgentSpec, SignalTable

Answer = Response | Callable[[Request], Response]


def call(name: str, arguments: Any, id: str | None = None) -> ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(f"id_{name}" if id is None else id, name, text)


def calls(*made: ToolCall, text: str = "", finish: str = "tool_calls") -> Response:
    return Response(text, Usage(0, 0), "m", finish, made)


def says(text: str) -> Response:
    return Response(text, Usage(0, 0), "m", "stop")


@dataclass
class ScriptedTools:
    """Answers each agent's calls from its script, in order (the last answer repeats); usage is
    the kernel's estimate for input and one token per byte of the answer for output, capped at
    max_tokens. Does I/O as real providers do: yields to the loop before answering."""

    script: dict[str, list[Answer]]
    requests: list[Request] = field(default_factory=list)
    delay: float = 0.0

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        answers = self.script[request.agent]
        n = sum(r.agent == request.agent for r in self.requests) - 1
        answer = answers[min(n, len(answers) - 1)]
        response = answer(request) if callable(answer) else answer
        size = len(response.text.encode()) + sum(len(c.arguments) for c in response.tool_calls)
        size = min(size, request.max_tokens or size)
        usage = Usage(request.input_estimate or estimate_input(request.messages), size)
        return response._replace(usage=usage)

    async def aclose(self) -> None:
        return None


ADD = ToolDefinition(
    "add",
    "Add two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)
SLOW = ToolDefinition("slow", "Takes its time.", {"type": "object", "properties": {}})
BOOM = ToolDefinition("boom", "Raises.", {"type": "object", "properties": {}})
SECRET = ToolDefinition("secret", "Never allowed.", {"type": "object", "properties": {}})


@dataclass
class Toolbox:
    """Real asynchronous tools: `add` (waits until `parallel` calls are running at once, so a
    sequential loop would hang), `slow` (sleeps `slow_s`), `boom` (raises), `secret`."""

    parallel: int = 1
    slow_s: float = 10.0
    calls: list[ToolCall] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0

    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        return (ADD, SLOW, BOOM, SECRET)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        self.calls.append(call)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if call.name == "add":
                while self.most_at_once < self.parallel:
                    await asyncio.sleep(0.001)
                args = json.loads(call.arguments)
                return ToolResult(str(args["a"] + args["b"]))
            if call.name == "slow":
                await asyncio.sleep(self.slow_s)
                return ToolResult("slept")
            if call.name == "boom":
                raise RuntimeError("the tool broke")
            return ToolResult("secret")
        finally:
            self.running -= 1


def granted(t: SignalTable, agent: str, **changes: Any) -> SignalTable:
    """The table with one agent's spec changed (tools granted, emits, rounds, budgets)."""
    agents = tuple(dataclasses.replace(a, **changes) if a.id == agent else a for a in t.agents)
    return t.derived(agents=agents)
