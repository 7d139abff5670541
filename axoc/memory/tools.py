"""The memory tools offered to models: `core_memory_append`, `core_memory_replace`,
`core_memory_set` (tier 3) and `recall_search`, `recall_timeframe` (tier 4).

In: the run's `RunMemory`. Out: `Tool`s with `run_as` (each acts on the calling agent's blocks
and memories; `axoc.tools.base`). Guarantees: a refused edit (over a limit, read-only, unknown
block, absent text) or a bad date is an error result whose text says what to do, never an
exception; file I/O and embedding run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from axoc.kernel.ports import ToolDefinition, ToolResult
from axoc.kernel.table import AgentSpec
from axoc.memory.core import EditRefused
from axoc.tools.base import Tool

if TYPE_CHECKING:
    from axoc.memory.run import RunMemory

_BLOCK = {"type": "string", "description": "The block's label, e.g. persona, human, project."}

CORE_APPEND = ToolDefinition(
    "core_memory_append",
    "Append text to one of your core memory blocks (a new line), kept across activations and "
    "runs. Refused if the block would pass its character limit.",
    {
        "type": "object",
        "properties": {"block": _BLOCK, "text": {"type": "string", "description": "Text to add."}},
        "required": ["block", "text"],
        "additionalProperties": False,
    },
)
CORE_REPLACE = ToolDefinition(
    "core_memory_replace",
    "Replace the first occurrence of `old` in a core memory block with `new` (an empty `new` "
    "deletes it). Refused if `old` does not occur or the block would pass its limit.",
    {
        "type": "object",
        "properties": {
            "block": _BLOCK,
            "old": {"type": "string", "description": "Exact text to find in the block."},
            "new": {"type": "string", "description": "Text to put in its place."},
        },
        "required": ["block", "old", "new"],
        "additionalProperties": False,
    },
)
CORE_SET = ToolDefinition(
    "core_memory_set",
    "Set the whole value of a core memory block. Refused if it is over the block's limit.",
    {
        "type": "object",
        "properties": {"block": _BLOCK, "value": {"type": "string", "description": "New value."}},
        "required": ["block", "value"],
        "additionalProperties": False,
    },
)
RECALL_SEARCH = ToolDefinition(
    "recall_search",
    "Search your long-term memory (what you answered in earlier activations and runs) for the "
    "memories closest in meaning to `query`; the best `k` (1-20, default 5), with their dates.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "k": {"type": "integer", "description": "How many memories (1-20)."},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)
RECALL_TIMEFRAME = ToolDefinition(
    "recall_timeframe",
    "List your memories stored on one day (`date`, YYYY-MM-DD, UTC) or between two dates "
    "(`from`, `to`, inclusive, YYYY-MM-DD or an ISO 8601 time), oldest first, at most 50.",
    {
        "type": "object",
        "properties": {
            "date": {"type": "string", "description": "One day, YYYY-MM-DD (UTC)."},
            "from": {"type": "string", "description": "Start, YYYY-MM-DD or ISO 8601 time."},
            "to": {"type": "string", "description": "End, YYYY-MM-DD or ISO 8601 time."},
        },
        "additionalProperties": False,
    },
)


def memory_tools(memory: RunMemory) -> list[Tool]:
    """The tools of `memory`: core memory always, recall when it has semantic memory."""
    core = memory.core

    def append(agent: AgentSpec, a: Mapping[str, Any]) -> str:
        return core.append(agent, a["block"], a["text"])

    def replace(agent: AgentSpec, a: Mapping[str, Any]) -> str:
        return core.replace(agent, a["block"], a["old"], a["new"])

    def set_value(agent: AgentSpec, a: Mapping[str, Any]) -> str:
        return core.set(agent, a["block"], a["value"])

    tools = [
        _tool(CORE_APPEND, append),
        _tool(CORE_REPLACE, replace),
        _tool(CORE_SET, set_value),
    ]
    if memory.semantic is not None:
        tools.append(_tool(RECALL_SEARCH, memory.search_text))
        tools.append(_tool(RECALL_TIMEFRAME, memory.timeframe_text))
    return tools


def _tool(definition: ToolDefinition, act: Callable[[AgentSpec, Mapping[str, Any]], str]) -> Tool:
    async def run_as(agent: AgentSpec, arguments: Mapping[str, Any]) -> ToolResult:
        try:
            return ToolResult(await asyncio.to_thread(act, agent, arguments))
        except EditRefused as refused:
            return ToolResult(str(refused), True)

    async def run(arguments: Mapping[str, Any]) -> ToolResult:
        return ToolResult(f"{definition.name} acts for an agent: it was called with none", True)

    return Tool(definition, run, run_as)
