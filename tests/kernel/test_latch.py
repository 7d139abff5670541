"""Latched units count each (event, source) once. A join fed by an agent that runs at most once
keeps no record of what it counted (its key is None in the index); one fed by an agent that may
run again (it holds a skill) still counts that agent once, however often it completes."""

from __future__ import annotations

from pathlib import Path

from axoc.kernel.core import Event, RunState, step
from axoc.kernel.index import RunIndex
from tests.kernel.fakes import table

CONFIG = """
agents:
  - {id: a, provider: echo}
  - {id: r, provider: echo}
  - {id: j, provider: echo, depends_on: [a, r]}
skills:
  - {id: again, agents: [r], prompt: "Again:"}
workflows:
  - {id: w, agents: [a, r, j], entry_point: a}
"""


def keys(index: RunIndex, source: str) -> list[object]:
    return [key for unit, _, key, _ in index.matching("TaskCompleted", source) if unit.agent == "j"]


def test_only_keys_of_agents_that_run_at_most_once_are_left_uncounted(tmp_path: Path) -> None:
    index = RunIndex(table(tmp_path, CONFIG), "w")
    assert "r" in index.reactive_agents and "a" not in index.reactive_agents
    assert keys(index, "a") == [None]
    assert keys(index, "r") == [("TaskCompleted", "r")]


def test_a_join_counts_an_agent_that_completes_twice_once(tmp_path: Path) -> None:
    index = RunIndex(table(tmp_path, CONFIG), "w")
    state = RunState()
    twice = [Event("TaskCompleted", "r", "1"), Event("TaskCompleted", "r", "2")]
    assert step(index, state, twice, 1.0) == []  # r's weight, once: half of θ
    assert state.counted == {"w/j/deps": {("TaskCompleted", "r")}}
    fired = step(index, state, [Event("TaskCompleted", "a", "x")], 2.0)
    assert [(f.agent, f.kind) for f in fired] == [("j", "deps")]
    assert state.counted == {}  # a once-unit that fires forgets what it counted
