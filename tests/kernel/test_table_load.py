"""Loading saved plans: `SignalTable.from_json` / `from_dict` against the field-by-field reader
they replaced, kept below as the reference definition of what a plan may contain and of every
message a mistyped plan gets.

Round trips: every example, a config using every section (tools with nested parameters,
schedules, proactive triggers, skills, sampling, core memory) and a generated 2,000-agent layered
workflow load back equal, with the same digest and the same bytes. Errors: every value of a plan
replaced by a value of another type, every field removed, an unknown field added to every object:
the outcome (the table, or the `TableError` message with its location) is the reference's. Random
combinations of such edits check that the first problem found is the same one.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import random
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axoc.kernel.consistency import problems
from axoc.kernel.table import FORMAT, AgentSpec, Budget, SignalTable, TableError
from axoc.kernel.typed import recorded
from axoc.pipeline import compile_file
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.axoc.yaml"))
Document = dict[str, Any]
Where = tuple[str | int, ...]  # keys and indices from the document's root to one value

EVERY_SECTION = """\
providers:
  local:
    kind: openai_compatible
    base_url: http://127.0.0.1:9/v1
    model: tiny
agents:
  - id: coder
    provider: local
    system_prompt: "Write the change."
    tools: [grep, fmt]
    sampling: { temperature: 0.2, top_p: 0.9, max_tokens: 800, response_format: json }
    memory:
      recall: { passive_inject: false, top_k: 3, min_score: 0.5 }
      core:
        blocks:
          - { label: persona, value: "terse", limit: 500, shared: true, description: "who" }
    timeout: 30
  - id: reviewer
    provider: echo
    depends_on: [coder]
    token_budget: { per_call: 4096, per_execution: 16384, overflow_policy: warn }
    supervision: { max_restarts: 2, within: 300, backoff: 2 }
workflows:
  - id: change
    agents: [coder, reviewer]
    entry_point: coder
    timeout: 600
skills:
  - id: review
    description: "Review a ready change."
    reacts_to: [CodeReady]
    emits: [Reviewed]
    agents: [reviewer]
    prompt: "Review:"
schedules:
  - { id: nightly, workflow: change, every: 1d, input: "Tidy up." }
proactive:
  - id: on-failure
    agent: reviewer
    trigger: { type: on_event, event: AgentFailed }
    input: "Investigate."
  - id: hourly
    agent: coder
    trigger: { type: schedule, every: 1h }
    input: "Check."
tools:
  - id: grep
    module: grep.wasm
    description: "Search."
    parameters:
      type: object
      properties: { pattern: { type: string }, limit: { type: integer, default: 10 } }
      required: [pattern]
    limits: { fuel: 1000, memory_mb: 16, timeout_ms: 250 }
  - id: fmt
    module: fmt.wasm
lattice:
  weights: { AgentFailed: 1.0, CodeReady: 2 }
"""


# -- the reference: the reader before per-type loaders, verbatim but for names ---------------

_HINTS: dict[type, dict[str, Any]] = {}


def reference_build(kind: Any, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise TableError(f"{where}: expected an object")
    hints = _HINTS.get(kind)
    if hints is None:
        hints = _HINTS[kind] = typing.get_type_hints(kind)
    fields = [
        f for f in dataclasses.fields(kind) if not f.name.startswith("_") and f.name != "format"
    ]
    names = {f.name for f in fields}
    unknown = set(data) - names
    if unknown:
        raise TableError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    values = {}
    for f in fields:
        if f.name not in data:
            if f.default is dataclasses.MISSING:
                raise TableError(f"{where}: missing field {f.name!r}")
            continue
        values[f.name] = reference_convert(hints[f.name], data[f.name], f"{where}.{f.name}")
    return kind(**values)


def reference_convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return reference_convert(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise TableError(f"{where}: expected a list")
        return tuple(
            reference_convert(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)
        )
    if origin is Mapping or hint is Mapping:
        if not isinstance(value, dict):
            raise TableError(f"{where}: expected an object")
        return {
            k: reference_convert(args[1], v, f"{where}.{k}") if args else v
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(hint):
        return reference_build(hint, value, where)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    raise TableError(
        f"{where}: expected {getattr(hint, '__name__', hint)}, got {type(value).__name__}"
    )


def reference_from_dict(document: Any) -> SignalTable:
    if not isinstance(document, dict):
        raise TableError("a signal table is a JSON object")
    version = document.get("format")
    if version != FORMAT:
        raise TableError(f"unsupported format {version!r}; this kernel reads {FORMAT!r}")
    body = {k: v for k, v in document.items() if k not in ("format", "digest")}
    table: SignalTable = reference_build(SignalTable, body, "table")
    problem = next(problems(table), None)
    if problem is not None:
        raise TableError(problem)
    claimed = document.get("digest")
    if claimed is not None and claimed != table.digest:
        raise TableError(f"digest mismatch: the file says {claimed}, its content is {table.digest}")
    return table


# -- plans -----------------------------------------------------------------------------------


def compiled(path: Path) -> SignalTable:
    unit = compile_file(str(path), os.environ)
    assert unit.ok and unit.lowered is not None, unit.diagnostics
    return unit.lowered.table


def layered_yaml(n: int, fan_in: int = 3, seed: int = 42) -> str:
    """A root, then layers of ~√n agents, each depending on `fan_in` agents of the layer before
    (the shape of the shared benchmark's layered workload)."""
    rng = random.Random(seed)
    ids = [f"a{i:05d}" for i in range(n)]
    width = max(fan_in, round(n**0.5))
    lines, previous, i = ["agents:", f"  - {{id: {ids[0]}, provider: echo}}"], [ids[0]], 1
    while i < n:
        layer = ids[i : i + width]
        for agent in layer:
            deps = sorted(rng.sample(previous, min(fan_in, len(previous))))
            lines.append(f"  - {{id: {agent}, provider: echo, depends_on: [{', '.join(deps)}]}}")
        previous, i = layer, i + len(layer)
    lines += ["workflows:", f"  - {{id: layered, agents: [{', '.join(ids)}], entry_point: a00000}}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def every_section(tmp_path_factory: pytest.TempPathFactory) -> SignalTable:
    return compiled(write_every_section(tmp_path_factory.mktemp("plans")))


def write_every_section(folder: Path) -> Path:
    """EVERY_SECTION as a config in `folder`, with its tools' modules beside it (the smallest
    valid modules: check validates them)."""
    path = folder / "every-section.axoc.yaml"
    path.write_text(EVERY_SECTION, encoding="utf-8")
    for module in ("grep.wasm", "fmt.wasm"):
        (folder / module).write_bytes(b"\0asm\1\0\0\0")
    return path


def assert_round_trip(table: SignalTable) -> None:
    text = table.to_json()
    again = SignalTable.from_json(text)
    assert again == table
    assert again.digest == table.digest == json.loads(text)["digest"]
    assert again.to_json() == text
    assert reference_from_dict(json.loads(text)) == again


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_loads_back_equal(example: Path) -> None:
    assert_round_trip(compiled(example))


def test_every_section_loads_back_equal(every_section: SignalTable) -> None:
    assert every_section.tools and every_section.schedules and every_section.proactive
    assert every_section.skills and every_section.agents[0].memory.blocks
    assert_round_trip(every_section)


def test_a_layered_plan_of_2000_agents_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "layered.axoc.yaml"
    path.write_text(layered_yaml(2000), encoding="utf-8")
    table = compiled(path)
    assert len(table.agents) == 2000
    assert_round_trip(table)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_a_recorded_plan_reads_back_as_it_was_compiled(example: Path) -> None:
    table = compiled(example)
    text = table.to_json()
    again = SignalTable.from_recorded(text, table.digest)
    assert again == table and again.digest == table.digest and again.to_json() == text
    assert [type(a.depends_on) for a in again.agents] == [tuple] * len(table.agents)
    assert again.by_id("agents").keys() == table.by_id("agents").keys()


def test_a_recorded_plan_of_every_section_reads_back(every_section: SignalTable) -> None:
    again = SignalTable.from_recorded(every_section.to_json(), every_section.digest)
    assert again == every_section and again.tools[0].parameters == every_section.tools[0].parameters
    assert reference_from_dict(json.loads(again.to_json())) == again


def test_a_recorded_plan_builds_equal_settings_once(tmp_path: Path) -> None:
    path = tmp_path / "layered.axoc.yaml"
    path.write_text(layered_yaml(50), encoding="utf-8")
    table = compiled(path)
    again = SignalTable.from_recorded(table.to_json(), table.digest)
    assert again == table
    for setting in ("budget", "sampling", "supervision", "memory"):
        assert len({id(getattr(agent, setting)) for agent in again.agents}) == 1, setting
    assert len({id(unit) for unit in again.units}) == len(again.units)  # records stay apart


def test_an_agent_line_reads_back_whatever_its_own_fields_hold(tmp_path: Path) -> None:
    path = tmp_path / "tricky.axoc.yaml"
    path.write_text(
        "agents:\n"
        '  - {id: a, provider: echo, system_prompt: \'x ,"budget":{"per_call":1} \\\\ "q"\'}\n'
        "  - {id: b, provider: echo, depends_on: [a], timeout: 30, sampling: {temperature: 1}}\n"
        "  - {id: c, provider: echo, depends_on: [a], token_budget: {per_call: 500}}\n"
        "workflows:\n  - {id: w, agents: [a, b, c]}\n",
        encoding="utf-8",
    )
    table = compiled(path)
    assert ',"budget":' in table.agents[0].system_prompt
    text = table.to_json()
    again = SignalTable.from_recorded(text, table.digest)
    assert again == table and again.to_json() == text
    assert [type(agent.timeout) for agent in again.agents] == [type(None), float, type(None)]
    assert again.agents[0].budget is not again.agents[2].budget


def test_an_agent_holds_no_object_before_its_budget() -> None:
    """`SignalTable.from_recorded` reads an agent's settings from the first `,"budget":` of its
    line on: no field written before it may hold an object, whose keys could say "budget"."""
    hints = typing.get_type_hints(AgentSpec)
    names = [f.name for f in dataclasses.fields(AgentSpec)]
    before = names[: names.index("budget")]
    assert before and all(hints[name] in (str, tuple[str, ...]) for name in before), before


def test_shared_settings_keep_the_types_they_were_written_with() -> None:
    read = recorded(tuple[Budget, ...])
    plain = [{"per_call": 1, "per_execution": None, "overflow_policy": "warn"} for _ in range(3)]
    plain[1]["per_call"] = True  # equal to 1 in Python: never the same value in a plan
    plain[2]["per_call"] = 1.0
    first, second, third = read(plain)
    assert [type(b.per_call) for b in (first, second, third)] == [int, bool, float]
    again = read([{"per_call": 1, "per_execution": None, "overflow_policy": "warn"}])
    assert again[0] is first


def test_a_recorded_plan_must_be_exactly_the_plan_recorded(every_section: SignalTable) -> None:
    text, digest = every_section.to_json(), every_section.digest
    edited = text.replace('"Review:"', '"Review!"')
    reformatted = json.dumps(json.loads(text), indent=1)
    other = "sha256:" + "0" * 64
    for plan, claimed in ((edited, digest), (reformatted, digest), (text, other), ("", digest)):
        with pytest.raises(TableError, match=r"^not the plan sha256:"):
            SignalTable.from_recorded(plan, claimed)
    assert SignalTable.from_json(reformatted) == every_section  # any reader takes it


def test_an_int_where_a_float_goes_is_read_as_a_float(every_section: SignalTable) -> None:
    document = json.loads(every_section.to_json())
    del document["digest"]
    document["units"][0]["threshold"] = 1
    table = SignalTable.from_dict(document)
    assert table.units[0].threshold == 1.0
    assert type(table.units[0].threshold) is float
    assert table == reference_from_dict(document)


# -- errors: the reference's message at the reference's location ------------------------------

WRONG: tuple[Any, ...] = ("text", True, 7, 2.5, None, [], ["x"], [{}], {}, {"surprise": 1})


def outcome(load: Callable[[Any], SignalTable], document: Any) -> SignalTable | str:
    try:
        return load(document)
    except TableError as refused:
        return f"TableError: {refused}"


def assert_same_outcome(document: Any) -> None:
    assert outcome(SignalTable.from_dict, document) == outcome(reference_from_dict, document)


def paths(value: Any, path: Where = ()) -> Iterator[Where]:
    """Every value inside `value`, containers before their contents."""
    children: Iterator[tuple[str | int, Any]]
    if isinstance(value, dict):
        children = iter(value.items())
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return
    for key, child in children:
        yield (*path, key)
        yield from paths(child, (*path, key))


def replaced(document: Any, path: Where, change: Callable[[Any, str | int], None]) -> Any:
    """A copy of `document` with `change(parent, key)` applied at `path`."""
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    change(parent, path[-1])
    return copy


def put(value: Any) -> Callable[[Any, str | int], None]:
    def change(parent: Any, key: str | int) -> None:
        parent[key] = value

    return change


def remove(parent: Any, key: str | int) -> None:
    del parent[key]


def add_unknown(parent: Any, key: str | int) -> None:
    if isinstance(parent[key], dict):
        parent[key]["surprise"] = 1


def test_every_edit_of_a_plan_gets_the_reference_outcome(every_section: SignalTable) -> None:
    """With its digest, most edits are a digest mismatch; without, an inconsistency or none."""
    edits = 0
    signed = json.loads(every_section.to_json())
    for document in (signed, {k: v for k, v in signed.items() if k != "digest"}):
        for path in paths(document):
            for change in (*map(put, WRONG), remove, add_unknown):
                assert_same_outcome(replaced(document, path, change))
                edits += 1
    assert edits > 6000


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("units", 0, "threshold"), "high", "table.units[0].threshold: expected float, got str"),
        (("units", 0, "threshold"), True, "table.units[0].threshold: expected float, got bool"),
        (("agents", 0, "budget", "per_call"), True, "table.agents[0].budget.per_call: expected int, got bool"),
        (("agents", 0, "budget", "per_call"), 1.0, "table.agents[0].budget.per_call: expected int, got float"),
        (("agents", 0, "memory"), [], "table.agents[0].memory: expected an object"),
        (("agents", 0, "memory", "blocks", 0), None, "table.agents[0].memory.blocks[0]: expected an object"),
        (("agents", 0, "tools", 1), 3, "table.agents[0].tools[1]: expected str, got int"),
        (("agents", 0, "depends_on"), {}, "table.agents[0].depends_on: expected a list"),
        (("agents", 1, "name"), None, "table.agents[1].name: expected str, got NoneType"),
        (("event_weights", "CodeReady"), "2", "table.event_weights.CodeReady: expected float, got str"),
        (("event_weights",), [], "table.event_weights: expected an object"),
        (("tools", 0, "limits", "fuel"), None, "table.tools[0].limits.fuel: expected int, got NoneType"),
        (("routes",), None, "table.routes: expected a list"),
        (("routes", 0), "route", "table.routes[0]: expected an object"),
    ],
)  # fmt: skip
def test_mistyped_values_are_refused_where_they_are(
    every_section: SignalTable, path: Where, value: Any, message: str
) -> None:
    document = replaced(json.loads(every_section.to_json()), path, put(value))
    with pytest.raises(TableError) as refused:
        SignalTable.from_dict(document)
    assert str(refused.value) == message
    assert_same_outcome(document)


def test_missing_and_unknown_fields_are_refused_at_their_object(
    every_section: SignalTable,
) -> None:
    document = json.loads(every_section.to_json())
    cases = [
        (replaced(document, ("units", 2, "decay"), remove), "table.units[2]: missing field 'decay'"),
        (replaced(document, ("routes",), remove), "table: missing field 'routes'"),
        (replaced(document, ("agents", 1, "budget"), add_unknown), "table.agents[1].budget: unknown field 'surprise'"),
        ({**document, "surprise": 1}, "table: unknown field 'surprise'"),
    ]  # fmt: skip
    for edited, message in cases:
        with pytest.raises(TableError) as refused:
            SignalTable.from_dict(edited)
        assert str(refused.value) == message
        assert_same_outcome(edited)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_several_edits_get_the_reference_outcome(
    every_section: SignalTable, data: st.DataObject
) -> None:
    """One to four random edits: when several values are wrong, the first problem reported is
    the reference's."""
    document = json.loads(every_section.to_json())
    if data.draw(st.booleans(), label="without digest"):
        del document["digest"]
    everywhere = list(paths(document))
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        path = data.draw(st.sampled_from(everywhere), label="at")
        change = data.draw(st.sampled_from((*map(put, WRONG), remove, add_unknown)))
        try:
            document = replaced(document, path, change)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced what this path leads to
    assert_same_outcome(document)


def test_loading_leaves_the_garbage_collector_as_it_was(every_section: SignalTable) -> None:
    """Loading pauses the cyclic collector; the caller's setting survives a load and a refusal."""
    text = every_section.to_json()
    mistyped = replaced(json.loads(text), ("units", 0, "threshold"), put("x"))
    tampered = replaced(json.loads(text), ("units", 0, "threshold"), put(9.0))
    refused = ["{", text + "x", json.dumps(mistyped), json.dumps(tampered)]
    enabled = gc.isenabled()
    try:
        for setting in (True, False):
            (gc.enable if setting else gc.disable)()
            SignalTable.from_json(text)
            assert gc.isenabled() is setting
            for bad in refused:
                with pytest.raises(TableError):
                    SignalTable.from_json(bad)
                assert gc.isenabled() is setting
    finally:
        (gc.enable if enabled else gc.disable)()
