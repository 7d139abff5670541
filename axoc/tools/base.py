"""What every tool is to the toolbox: a definition offered to models, and a coroutine that runs
one call.

`Tool.run(arguments)` gets the call's arguments already parsed and checked against
`definition.parameters` by the toolbox, and returns a `ToolResult` — a tool's own failure (a
trap, a limit, bad output, a refused path) is a result with `is_error=True`, never an
exception: the model sees it and the run goes on. Implementations must be safe to call
concurrently and must not block the event loop (CPU-bound or blocking work goes to a thread).

A tool whose result depends on which agent calls it (the memory tools: each agent has its own
blocks and memories) sets `run_as(agent, arguments)` too: the toolbox then calls that, with the
calling agent's `AgentSpec`, instead of `run`; its `run` answers a call with no agent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.kernel.table import AgentSpec

Run = Callable[[Mapping[str, Any]], Awaitable[ToolResult]]
RunAs = Callable[[AgentSpec, Mapping[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class Tool:
    definition: ToolDefinition
    run: Run
    run_as: RunAs | None = None  # called instead of `run`, with the calling agent
