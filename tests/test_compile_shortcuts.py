"""The compiler's shortcuts for large configs give what the long way gives.

Each shortcut (issue 10 §5) skips work when a cheap test shows it cannot find anything: these
cases are the ones where the cheap test must say "do the work", and the orders the shortcuts
stand in for."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from axoc.cycles import topological_order
from axoc.kernel.table import Route
from axoc.lower import _route_key
from axoc.pipeline import Compilation, compile_file

AGENT = "  - {{id: {id}, provider: echo, system_prompt: {prompt}, depends_on: [{deps}]}}\n"


def compiled(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Compilation:
    path = tmp_path / "x.axoc.yaml"
    path.write_text(text, encoding="utf-8")
    return compile_file(str(path), env or {})


@pytest.mark.parametrize("dollar", [r"\x24", r"\u0024", r"\U00000024", "$"])
def test_a_dollar_written_as_an_escape_is_interpolated(tmp_path: Path, dollar: str) -> None:
    text = "agents:\n" + AGENT.format(id="a", prompt=f'"{dollar}{{GREETING}}"', deps="")
    unit = compiled(tmp_path, text, {"GREETING": "hello"})
    assert unit.config is not None
    assert unit.config.agents[0].system_prompt == "hello"


def test_a_config_without_a_dollar_keeps_its_values(tmp_path: Path) -> None:
    text = "agents:\n" + AGENT.format(id="a", prompt='"costs 5 \\x25"', deps="")
    unit = compiled(tmp_path, text, {"GREETING": "hello"})
    assert unit.config is not None and unit.document is not None
    assert unit.config.agents[0].system_prompt == "costs 5 %"
    assert unit.data == unit.document.data


@pytest.mark.parametrize(
    ("order", "cycle"),
    [
        (["a", "b", "c"], False),  # every dependency defined above: the one-pass answer
        (["c", "b", "a"], False),  # defined below, no cycle: the graph decides
        (["c", "a", "b"], True),
    ],
)
def test_dependency_cycles_whatever_the_order_of_definition(
    tmp_path: Path, order: list[str], cycle: bool
) -> None:
    deps = {"a": "", "b": "a", "c": "b"}
    if cycle:
        deps["a"] = "c"
    text = "agents:\n" + "".join(AGENT.format(id=i, prompt="x", deps=deps[i]) for i in order)
    text += "workflows:\n  - {id: w, agents: [a, b, c]}\n"
    found = [d.code for d in compiled(tmp_path, text).diagnostics]
    assert ("AX401" in found) is cycle


def test_topological_order_does_not_depend_on_the_order_of_dependencies() -> None:
    rng = random.Random(7)
    nodes = [f"n{i}" for i in range(60)]
    graph = {n: rng.sample(nodes[:i], min(i, 3)) for i, n in enumerate(nodes)}
    expected = topological_order(graph)
    assert expected is not None
    for _ in range(20):
        shuffled = {n: rng.sample(deps, len(deps)) for n, deps in graph.items()}
        assert topological_order(shuffled) == expected
        assert topological_order({n: set(deps) for n, deps in graph.items()}) == expected


def test_routes_sort_as_the_tuple_of_event_source_and_unit() -> None:
    names = ["a", "a-1", "a_1", "ab", "b", "A", "Z9", "a1-b"]
    routes = [
        Route(event, source, unit, 1.0)
        for event, source, unit in itertools.product(["Ev", "Ev_2", "EvX"], [None, *names], names)
    ]
    random.Random(3).shuffle(routes)
    by_tuple = sorted(routes, key=lambda r: (r.event, r.source or "", r.unit))
    assert sorted(routes, key=_route_key) == by_tuple
