"""`axoc plan`: golden plans, determinism, round trips, saved-plan errors, diffs and drawings."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from axoc.kernel.consistency import problems
from axoc.kernel.table import SignalTable, TableError
from axoc.pipeline import compile_file
from axoc.schema import dumps, table_schema
from tests.conftest import ROOT
from tests.golden import compare
from tests.helpers import axoc, axoc_process

CASES = sorted((ROOT / "tests" / "golden" / "plan").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").glob("*.axoc.yaml"))
TABLE_SCHEMA = ROOT / "schema" / "signal-table.schema.json"


def table_of(path: Path | str) -> SignalTable:
    unit = compile_file(str(path), os.environ)
    assert unit.lowered is not None, unit.diagnostics
    return unit.lowered.table


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_plan(case: Path, update_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    fmt = "mermaid" if case.stem.endswith("-mermaid") else "text"
    result = axoc("plan", case.relative_to(ROOT).as_posix(), "--format", fmt)
    assert result.code == 0, result.err
    compare(case, result.out, update_golden)


def test_there_are_golden_plans() -> None:
    assert len(CASES) >= 6
    assert any(c.stem.endswith("-mermaid") for c in CASES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_plans(example: Path) -> None:
    for fmt in ("text", "json", "mermaid", "dot"):
        result = axoc("plan", str(example), "--format", fmt)
        assert result.code == 0, result.err
        assert result.out


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_round_trip_and_schema(example: Path) -> None:
    table = table_of(example)
    text = table.to_json()
    again = SignalTable.from_json(text)
    assert again == table
    assert again.to_json() == text
    assert again.digest == table.digest == json.loads(text)["digest"]
    schema = json.loads(TABLE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(json.loads(text))


def test_signal_table_schema_is_committed_and_current(update_golden: bool) -> None:
    fresh = dumps(table_schema())
    if update_golden:
        TABLE_SCHEMA.write_text(fresh, encoding="utf-8")
    assert TABLE_SCHEMA.read_text(encoding="utf-8") == fresh
    jsonschema.Draft7Validator.check_schema(json.loads(fresh))


def shuffled(node: object, rng: random.Random) -> object:
    """The same config with every mapping's keys and every top-level list reordered."""
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(node, list):
        return [shuffled(v, rng) for v in node]
    return node


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_bytes_whatever_key_order_whitespace_and_comments(
    example: Path, seed: int, tmp_path: Path
) -> None:
    original = table_of(example).to_json()
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    data = shuffled(data, rng)
    for section in ("agents", "workflows", "skills", "proactive"):
        if isinstance(data, dict) and isinstance(data.get(section), list):
            rng.shuffle(data[section])
    text = yaml.safe_dump(data, sort_keys=False, width=60 + seed * 20, indent=2 + seed % 2)
    lines = [
        f"# before {line.split(':')[0]}\n\n{line}" if line[:1].isalpha() else line
        for line in text.splitlines()
    ]
    text = "# a comment\n" + "\n".join(lines) + "\n# trailing comment\n"
    variant = tmp_path / "variant.axoc.yaml"
    variant.write_text(text, encoding="utf-8")
    assert table_of(variant).to_json() == original


def test_planning_twice_gives_the_same_bytes() -> None:
    for example in EXAMPLES:
        assert table_of(example).to_json() == table_of(example).to_json()


def saved(tmp_path: Path, example: str = "hello-world") -> Path:
    path = tmp_path / "plan.json"
    result = axoc(
        "plan", str(ROOT / "examples" / f"{example}.axoc.yaml"), "--format", "json", "-o", str(path)
    )
    assert result.code == 0
    return path


def test_against_an_unchanged_plan(tmp_path: Path) -> None:
    old = saved(tmp_path)
    result = axoc("plan", str(ROOT / "examples" / "hello-world.axoc.yaml"), "--against", str(old))
    assert result.code == 0
    assert result.out.startswith("unchanged (sha256:")


def test_against_a_changed_plan(tmp_path: Path) -> None:
    old = saved(tmp_path)
    text = (ROOT / "examples" / "hello-world.axoc.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "per_execution: 2000, per_call: 1000", "per_execution: 4000, per_call: 1000", 1
    )
    text = text.replace(
        '    model: llama3.2\n    system_prompt: "You take',
        '    model: qwen2.5\n    system_prompt: "You take',
    )
    text += "  - id: second\n    agents: [summarizer]\n    entry_point: summarizer\n"
    changed = tmp_path / "changed.axoc.yaml"
    changed.write_text(text, encoding="utf-8")
    result = axoc("plan", str(changed), "--against", str(old))
    assert result.code == 2, result.err
    assert result.out.splitlines() == [
        f"5 changes since {old}:",
        "+ unit second/summarizer/entry (θ 1, λ 0)",
        "+ route UserInput → second/summarizer/entry (×1)",
        "~ agent researcher: budget.per_execution 2000 → 4000",
        "~ agent summarizer: model 'llama3.2' → 'qwen2.5'",
        "+ workflow second",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not a signal table: not JSON"),
        ('{"format": "axoc.signal-table/0"}', "unsupported format 'axoc.signal-table/0'"),
        ("[]", "a signal table is a JSON object"),
    ],
)
def test_against_a_corrupt_plan(tmp_path: Path, content: str, message: str) -> None:
    old = tmp_path / "old.json"
    old.write_text(content, encoding="utf-8")
    result = axoc("plan", str(ROOT / "examples" / "hello-world.axoc.yaml"), "--against", str(old))
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err


def test_from_json_refuses_tampering_and_bad_fields(tmp_path: Path) -> None:
    document = json.loads(table_of(ROOT / "examples" / "hello-world.axoc.yaml").to_json())
    tampered = dict(
        document, units=[dict(document["units"][0], threshold=9.0), *document["units"][1:]]
    )
    with pytest.raises(TableError, match="digest mismatch"):
        SignalTable.from_dict(tampered)
    missing = {k: v for k, v in document.items() if k not in ("routes", "digest")}
    with pytest.raises(TableError, match="missing field 'routes'"):
        SignalTable.from_dict(missing)
    wrong = dict(document, digest=None, units=[dict(document["units"][0], threshold="high")])
    with pytest.raises(TableError, match=r"table.units\[0\].threshold: expected float, got str"):
        SignalTable.from_dict(wrong)
    extra = dict(document, digest=None, surprise=1)
    with pytest.raises(TableError, match="unknown field 'surprise'"):
        SignalTable.from_dict(extra)
    agents = document["agents"]
    twice = dict(agents[1], depends_on=agents[1]["depends_on"] * 2)
    doubled = dict(document, digest=None, agents=[agents[0], twice, *agents[2:]])
    with pytest.raises(TableError, match=r"table.agents\[1\].depends_on: 'researcher' is listed"):
        SignalTable.from_dict(doubled)


HELLO = ROOT / "examples" / "hello-world.axoc.yaml"
SKILLS = ROOT / "examples" / "skills-lattice.axoc.yaml"
NAN, INF = float("nan"), float("inf")
Document = dict[str, Any]


def without_digest(example: Path) -> Document:
    document: Document = json.loads(table_of(example).to_json())
    del document["digest"]
    return document


def edit(section: str, index: int, **fields: Any) -> Callable[[Document], Document]:
    """A mutation: the item at `index` of `section` with `fields` changed."""

    def mutate(document: Document) -> Document:
        items = list(document[section])
        items[index] = {**items[index], **fields}
        return {**document, section: items}

    return mutate


def append(section: str, item: Document | int) -> Callable[[Document], Document]:
    """A mutation: `item` (or a copy of the section's item at that index) added at the end."""

    def mutate(document: Document) -> Document:
        added = document[section][item] if isinstance(item, int) else item
        return {**document, section: [*document[section], added]}

    return mutate


def extra_agent(document: Document) -> Document:
    """An agent 'extra' outside the workflow, whose deps unit claims to be in it."""
    agents = document["agents"]
    document = {**document, "agents": [*agents, {**agents[0], "id": "extra"}]}
    return edit("units", 1, agent="extra")(document)


PROACTIVE = {"id": "nightly", "agent": "coder", "trigger": "schedule", "every": 60.0,
             "event": None, "input": "", "enabled": True}  # fmt: skip
SCHEDULE = {"id": "night", "workflow": "ghost", "every": 60.0, "input": "", "enabled": True}
INCONSISTENT = [
    # ids: each section lists an id once
    ("agent-twice", HELLO, append("agents", 0), "table.agents[2].id: 'researcher' is listed twice (table.agents[0])"),
    ("unit-twice", HELLO, append("units", 1), "table.units[2].id: 'hello-world/summarizer/deps' is listed twice (table.units[1])"),
    ("workflow-twice", HELLO, append("workflows", 0), "table.workflows[1].id: 'hello-world' is listed twice (table.workflows[0])"),
    ("provider-twice", HELLO, append("providers", 0), "table.providers[1].name: 'ollama' is listed twice (table.providers[0])"),
    ("skill-twice", SKILLS, append("skills", 1), "table.skills[4].id: 'deploy-gate' is listed twice (table.skills[1])"),
    ("trigger-twice", SKILLS, lambda d: append("proactive", 0)(append("proactive", PROACTIVE)(d)), "table.proactive[1].id: 'nightly' is listed twice (table.proactive[0])"),
    # agents
    ("renamed-agent", HELLO, edit("agents", 0, id="scholar"), "table.agents[1].depends_on[0]: no agent 'researcher'"),
    ("unknown-provider", HELLO, edit("agents", 0, provider="nope"), "table.agents[0].provider: no provider 'nope'"),
    ("unknown-dependency", HELLO, edit("agents", 1, depends_on=["ghost"]), "table.agents[1].depends_on[0]: no agent 'ghost'"),
    ("zero-per-call", HELLO, edit("agents", 0, budget={"per_call": 0, "per_execution": None, "overflow_policy": "abort"}), "table.agents[0].budget.per_call: expected an integer >= 1, got 0"),
    ("unknown-policy", HELLO, edit("agents", 0, budget={"per_call": 10, "per_execution": None, "overflow_policy": "pray"}), "table.agents[0].budget.overflow_policy: expected 'abort' or 'warn', got 'pray'"),
    ("nan-backoff", HELLO, edit("agents", 1, supervision={"max_restarts": 3, "within": 60.0, "backoff": NAN}), "table.agents[1].supervision.backoff: expected a finite number > 0, got nan"),
    ("negative-timeout", HELLO, edit("agents", 0, timeout=-5.0), "table.agents[0].timeout: expected a finite number > 0, got -5.0"),
    # workflows
    ("unknown-member", HELLO, edit("workflows", 0, agents=["researcher", "summarizer", "ghost"]), "table.workflows[0].agents[2]: no agent 'ghost'"),
    ("member-twice", HELLO, edit("workflows", 0, agents=["researcher", "summarizer", "researcher"]), "table.workflows[0].agents: 'researcher' is listed twice"),
    ("unknown-entry", HELLO, edit("workflows", 0, entry=["ghost"]), "table.workflows[0].entry[0]: 'ghost' is not one of the workflow's agents"),
    ("unknown-sink", HELLO, edit("workflows", 0, sinks=["ghost"]), "table.workflows[0].sinks[0]: 'ghost' is not one of the workflow's agents"),
    ("zero-max-activations", HELLO, edit("workflows", 0, max_activations=0), "table.workflows[0].max_activations: expected an integer >= 1, got 0"),
    ("infinite-timeout", HELLO, edit("workflows", 0, timeout=INF), "table.workflows[0].timeout: expected a finite number > 0, got inf"),
    # skills, schedules, proactive triggers
    ("unknown-holder", SKILLS, edit("skills", 0, holders=["ghost"]), "table.skills[0].holders[0]: no agent 'ghost'"),
    ("unknown-schedule-workflow", SKILLS, append("schedules", SCHEDULE), "table.schedules[0].workflow: no workflow 'ghost'"),
    ("unknown-trigger-agent", SKILLS, append("proactive", {**PROACTIVE, "agent": "ghost"}), "table.proactive[0].agent: no agent 'ghost'"),
    # units
    ("unit-of-unknown-agent", HELLO, edit("units", 1, agent="ghost"), "table.units[1].agent: no agent 'ghost'"),
    ("unit-of-unknown-workflow", HELLO, edit("units", 0, workflow="ghost"), "table.units[0].workflow: no workflow 'ghost'"),
    ("unit-of-a-non-member", HELLO, extra_agent, "table.units[1].agent: 'extra' is not an agent of workflow 'hello-world'"),
    ("unit-of-unknown-kind", HELLO, edit("units", 0, kind="magic"), "table.units[0].kind: expected one of entry, deps, act, skill, proactive, got 'magic'"),
    ("workflow-unit-with-a-skill", HELLO, edit("units", 0, skill="review"), "table.units[0].skill: 'review', but a unit of kind entry has no skill"),
    ("skill-unit-without-skill", SKILLS, edit("units", 0, skill=None), "table.units[0].skill: null, but a unit of kind skill has a skill"),
    ("unit-of-unknown-skill", SKILLS, edit("units", 0, skill="ghost"), "table.units[0].skill: no skill 'ghost'"),
    ("unit-of-a-non-holder", SKILLS, edit("units", 0, agent="scribe"), "table.units[0].agent: 'scribe' is not an agent of skill 'write-code'"),
    ("unit-of-unknown-trigger", SKILLS, edit("units", 0, kind="proactive", skill=None, proactive="ghost"), "table.units[0].proactive: no proactive trigger 'ghost'"),
    ("nan-threshold", HELLO, edit("units", 0, threshold=NAN), "table.units[0].threshold: expected a finite number > 0, got nan"),
    ("negative-threshold", HELLO, edit("units", 1, threshold=-0.5), "table.units[1].threshold: expected a finite number > 0, got -0.5"),
    ("zero-threshold", SKILLS, edit("units", 2, threshold=0), "table.units[2].threshold: expected a finite number > 0, got 0.0"),
    ("negative-decay", SKILLS, edit("units", 0, decay=-0.01), "table.units[0].decay: expected a finite number >= 0, got -0.01"),
    ("nan-cooldown", SKILLS, edit("units", 0, cooldown=NAN), "table.units[0].cooldown: expected a finite number >= 0, got nan"),
    # routes and event strengths
    ("route-to-unknown-unit", HELLO, edit("routes", 0, unit="ghost"), "table.routes[0].unit: no unit 'ghost'"),
    ("route-from-renamed-agent", HELLO, edit("routes", 0, source="scholar"), "table.routes[0].source: no agent, skill or proactive trigger 'scholar'"),
    ("fire-of-unknown-skill", SKILLS, edit("routes", 3, source="ghost"), "table.routes[3].source: no agent, skill or proactive trigger 'ghost'"),
    ("zero-weight", HELLO, edit("routes", 1, weight=0.0), "table.routes[1].weight: expected a finite number > 0, got 0.0"),
    ("infinite-weight", SKILLS, edit("routes", 0, weight=INF), "table.routes[0].weight: expected a finite number > 0, got inf"),
    ("nan-event-strength", HELLO, lambda d: {**d, "event_weights": {**d["event_weights"], "TaskCompleted": NAN}}, "table.event_weights.TaskCompleted: expected a finite number > 0, got nan"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("example", "mutate", "message"),
    [case[1:] for case in INCONSISTENT],
    ids=[case[0] for case in INCONSISTENT],
)
def test_a_plan_without_digest_must_hold_together(
    example: Path, mutate: Callable[[Document], Document], message: str
) -> None:
    document = without_digest(example)
    SignalTable.from_dict(document)  # as written, it loads
    with pytest.raises(TableError) as refused:
        SignalTable.from_dict(mutate(document))
    assert str(refused.value) == message


@pytest.mark.parametrize("config", [*EXAMPLES, *CASES], ids=[p.stem for p in [*EXAMPLES, *CASES]])
def test_every_compiled_table_holds_together(config: Path) -> None:
    assert list(problems(table_of(config))) == []


def test_an_inconsistent_plan_is_refused_by_run_before_it_starts(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(without_digest(HELLO)), encoding="utf-8")
    state = str(tmp_path / "state")
    ran = axoc_process("run", str(plan), "--dry-run", "-i", "q", "--state-dir", state)
    assert ran.code == 0, ran.err  # no digest, nothing wrong: a hand-edited plan runs
    ghost = edit("units", 1, agent="ghost")(without_digest(HELLO))
    plan.write_text(json.dumps(ghost), encoding="utf-8")
    refused = axoc_process("run", str(plan), "--dry-run", "-i", "q", "--state-dir", state)
    assert refused.code == 2
    assert "is not a signal table: table.units[1].agent: no agent 'ghost'" in refused.err
    assert "Traceback" not in refused.err and "internal error" not in refused.err
    assert refused.out == ""
    assert len(list((tmp_path / "state" / "runs").iterdir())) == 1  # the first run only


def test_plan_of_a_broken_config_exits_1_with_diagnostics(tmp_path: Path) -> None:
    broken = tmp_path / "b.axoc.yaml"
    broken.write_text(
        "agents:\n  - id: a\n    provider: echo\n    depends_on: [zz]\n", encoding="utf-8"
    )
    result = axoc("plan", str(broken))
    assert result.code == 1
    assert result.out == ""
    assert "unknown agent 'zz' [AX302]" in result.err


def test_unknown_workflow_is_a_usage_error() -> None:
    result = axoc("plan", str(ROOT / "examples" / "hello-world.axoc.yaml"), "-w", "nope")
    assert result.code == 2
    assert "no workflow 'nope'" in result.err and "(workflows: hello-world)" in result.err


def test_a_misspelt_workflow_gets_a_did_you_mean() -> None:
    hello = str(ROOT / "examples" / "hello-world.axoc.yaml")
    result = axoc("plan", hello, "-w", "helo-world")
    assert result.code == 2
    assert result.err == (
        f"axoc plan: {hello}: no workflow 'helo-world' "
        "(did you mean 'hello-world'? workflows: hello-world)\n"
    )


def test_workflow_filter() -> None:
    result = axoc(
        "plan", str(ROOT / "tests" / "golden" / "plan" / "shared-agents.yaml"), "-w", "quick"
    )
    assert result.code == 0
    assert "workflow quick" in result.out and "workflow full" not in result.out


def test_svg_through_graphviz(tmp_path: Path) -> None:
    assert shutil.which("dot"), "Graphviz must be installed (.ci/run installs it)"
    out = tmp_path / "lattice.svg"
    result = axoc(
        "plan",
        str(ROOT / "examples" / "research-pipeline.axoc.yaml"),
        "--format",
        "svg",
        "-o",
        str(out),
    )
    assert result.code == 0, result.err
    svg = out.read_text(encoding="utf-8")
    assert "<svg" in svg and "synthesizer" in svg and "TaskCompleted ×0.5" in svg


def test_svg_without_graphviz_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = axoc("plan", str(ROOT / "examples" / "hello-world.axoc.yaml"), "--format", "svg")
    assert result.code == 2
    assert "apt-get install graphviz" in result.err and "--format dot" in result.err
