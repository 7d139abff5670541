"""The hot table records (`record`: agents, units, routes) are immutable for the type checker
and behave as frozen dataclasses otherwise: equal records are equal and hash equal."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from axoc.kernel.table import AgentSpec, Route, Unit
from tests.conftest import ROOT

MUTATIONS = """
from axoc.kernel.table import AgentSpec, Route, Unit


def mutate(route: Route, unit: Unit, agent: AgentSpec) -> None:
    route.weight = 2.0
    unit.threshold = 1.0
    agent.model = "other"
"""


def test_assigning_a_field_of_a_record_is_a_type_error(tmp_path: Path) -> None:
    snippet = tmp_path / "mutate.py"
    snippet.write_text(MUTATIONS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    for name, kind in (("weight", "Route"), ("threshold", "Unit"), ("model", "AgentSpec")):
        assert f'Property "{name}" defined in "{kind}" is read-only' in done.stdout, done.stdout
    assert "Found 3 errors in 1 file" in done.stdout


def test_records_compare_and_hash_by_value() -> None:
    one = Route("TaskCompleted", "a", "w/b/deps", 0.5)
    same = Route("TaskCompleted", "a", "w/b/deps", 0.5)
    assert one == same and hash(one) == hash(same) and len({one, same}) == 1
    assert one != dataclasses.replace(one, weight=0.6)
    unit = Unit("w/b/deps", "b", "deps", 1.0, 0.0, "w", True, True)
    assert {unit: 1}[dataclasses.replace(unit)] == 1
    for kind in (AgentSpec, Unit, Route):
        assert dataclasses.is_dataclass(kind) and "__slots__" in vars(kind)
