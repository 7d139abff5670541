"""`axoc plan`: golden plans, determinism, round trips, saved-plan errors, diffs and drawings."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from axoc.kernel.table import SignalTable, TableError
from axoc.pipeline import compile_file
from axoc.schema import dumps, table_schema
from tests.conftest import ROOT
from tests.golden import compare
from tests.helpers import axoc

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
