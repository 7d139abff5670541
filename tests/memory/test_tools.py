"""The memory tools as the toolbox runs them (`Tool.run_as` with the calling agent): recall_search
clamps k to 1-20; recall_timeframe takes a day or a range and answers a bad date, or none, with
an error the model can act on; the core tools refuse over a limit as an error result; each
agent edits its own blocks; a memory tool called with no agent says so."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from axoc.kernel.ports import ToolCall
from axoc.memory.run import RunMemory
from axoc.memory.semantic import SemanticStore, shared_embedder
from axoc.memory.tools import memory_tools
from axoc.tools.toolbox import Toolbox
from tests.kernel.fakes import table

CONFIG = """\
agents:
  - id: a
    provider: echo
    tools: [recall_search, recall_timeframe, core_memory_append]
    memory: {core: {blocks: [{label: notes, limit: 10}]}}
  - {id: b, provider: echo, tools: [core_memory_append], memory: {core: {blocks: [{label: notes}]}}}
workflows: [{id: w, agents: [a, b]}]
"""


@pytest.fixture(scope="module")
def toolbox_and_agents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Toolbox, dict, RunMemory]:
    folder = tmp_path_factory.mktemp("tools")
    agents = {a.id: a for a in table(folder, CONFIG).agents}
    store = SemanticStore(folder / "state" / "memory" / "semantic", shared_embedder())
    day = time.mktime((2026, 12, 1, 12, 0, 0, 0, 0, 0)) - time.timezone  # 2026-12-01 12:00 UTC
    store.add_many("a", [f"memory {n} about the garden" for n in range(30)], day)
    store.add("a", "a note from the next day", day + 86400)
    memory = RunMemory.open(folder / "state", dry_run=False, semantic=store)
    return Toolbox(memory_tools(memory)), agents, memory


def call(toolbox: Toolbox, agent: object, name: str, **arguments: object) -> tuple[str, bool]:
    result = asyncio.run(toolbox.call(agent, ToolCall("c1", name, json.dumps(arguments))))  # type: ignore[arg-type]
    return result.content, result.is_error


def test_recall_search_clamps_k(toolbox_and_agents: tuple[Toolbox, dict, RunMemory]) -> None:
    toolbox, agents, _ = toolbox_and_agents
    one, error = call(toolbox, agents["a"], "recall_search", query="garden", k=0)
    assert not error and one.count("\n") == 0 and "about the garden" in one
    many, _ = call(toolbox, agents["a"], "recall_search", query="garden", k=500)
    assert many.count("\n") == 19  # 20 lines of 31 memories


def test_recall_timeframe_days_ranges_and_bad_dates(
    toolbox_and_agents: tuple[Toolbox, dict, RunMemory],
) -> None:
    toolbox, agents, _ = toolbox_and_agents
    day, _ = call(toolbox, agents["a"], "recall_timeframe", date="2026-12-01")
    assert day.count("\n") == 29 and "next day" not in day  # 30 lines
    assert day.startswith("[2026-12-01 12:00:00] memory 0 about the garden")
    later, _ = call(toolbox, agents["a"], "recall_timeframe", **{"from": "2026-12-02"})
    assert later == "[2026-12-02 12:00:00] a note from the next day"
    both, _ = call(
        toolbox, agents["a"], "recall_timeframe", **{"from": "2026-11-30", "to": "2026-12-02"}
    )
    assert both.count("\n") == 30 and "more:" not in both  # 31 lines: at most 50 are listed
    bad, error = call(toolbox, agents["a"], "recall_timeframe", date="yesterday")
    assert error and "'date' is not a date (YYYY-MM-DD) or ISO 8601 time: 'yesterday'" in bad
    none, error = call(toolbox, agents["a"], "recall_timeframe")
    assert error and "give 'date'" in none
    backwards, error = call(
        toolbox, agents["a"], "recall_timeframe", **{"from": "2026-12-02", "to": "2026-12-01"}
    )
    assert error and "is before" in backwards


def test_core_tools_act_for_the_calling_agent(
    toolbox_and_agents: tuple[Toolbox, dict, RunMemory],
) -> None:
    toolbox, agents, memory = toolbox_and_agents
    over, error = call(toolbox, agents["a"], "core_memory_append", block="notes", text="x" * 11)
    assert error and "over its limit of 10" in over
    _, error = call(toolbox, agents["b"], "core_memory_append", block="notes", text="b's own")
    assert not error
    values = {
        agent: dict((blk.label, v) for blk, v in memory.core.values(agents[agent]))
        for agent in "ab"
    }
    assert values == {"a": {"notes": ""}, "b": {"notes": "b's own"}}
    tool = toolbox.tools["core_memory_append"]
    alone = asyncio.run(tool.run({"block": "notes", "text": "x"}))
    assert alone.is_error and "acts for an agent" in alone.content
