"""Core memory (tier 3) on its own: the default blocks, every limit and refusal an agent can
meet (with a message naming the limit and the current size, the file left unchanged), read-only
and unknown blocks, dry runs that write nothing, a file that is not a memory file, and two real
processes appending 500 times each to one shared block without losing any of the 1,000 edits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from axoc.kernel.table import AgentSpec
from axoc.memory.core import CoreMemory, CoreStore, EditRefused, MemoryFileError, uses_core
from tests.kernel.fakes import table

BLOCKS = """\
agents:
  - id: a
    provider: echo
    tools: [core_memory_append, core_memory_replace, core_memory_set]
    memory:
      core:
        blocks:
          - {label: notes, limit: 20}
          - {label: rules, value: "be brief", read_only: true}
          - {label: team, limit: 0, shared: true}
  - id: b
    provider: echo
    tools: [core_memory_append]
    memory: {core: {blocks: [{label: team, limit: 0, shared: true}]}}
  - {id: plain, provider: echo}
workflows: [{id: w, agents: [a, b, plain]}]
"""


def agents(tmp_path: Path) -> dict[str, AgentSpec]:
    return {a.id: a for a in table(tmp_path, BLOCKS).agents}


def test_an_agent_without_blocks_has_persona_human_and_project(tmp_path: Path) -> None:
    plain = agents(tmp_path)["plain"]
    assert [(b.label, b.limit) for b in plain.memory.blocks] == [
        ("persona", 2000), ("human", 2000), ("project", 3000)
    ]  # fmt: skip
    assert not uses_core(plain)  # no tool, no blocks of its own: its prompt is unchanged


def test_limits_are_enforced_with_the_limit_and_size_named(tmp_path: Path) -> None:
    a = agents(tmp_path)["a"]
    memory = CoreMemory(CoreStore(tmp_path / "state"))
    assert "15/20" in memory.append(a, "notes", "x" * 15)
    path = tmp_path / "state" / "memory" / "agents" / "a.json"
    before = path.read_bytes()
    with pytest.raises(EditRefused) as over:
        memory.append(a, "notes", "y" * 10)
    assert "limit of 20" in str(over.value) and "holds 15" in str(over.value)
    assert "26 characters" in str(over.value)  # "x"*15 + "\n" + "y"*10
    with pytest.raises(EditRefused, match="limit of 20"):
        memory.set(a, "notes", "z" * 21)
    with pytest.raises(EditRefused, match="limit of 20"):
        memory.replace(a, "notes", "x", "w" * 10)
    assert path.read_bytes() == before  # nothing refused was written
    assert memory.set(a, "notes", "z" * 20).startswith("block 'notes' updated: 20/20")


def test_replace_changes_the_first_occurrence_and_an_absent_text_says_what_is_there(
    tmp_path: Path,
) -> None:
    a = agents(tmp_path)["a"]
    memory = CoreMemory(CoreStore(tmp_path / "state"))
    memory.set(a, "notes", "cat cat")
    memory.replace(a, "notes", "cat", "dog")
    assert dict((b.label, v) for b, v in memory.values(a))["notes"] == "dog cat"
    with pytest.raises(EditRefused) as absent:
        memory.replace(a, "notes", "bird", "fish")
    assert '"bird" does not occur' in str(absent.value) and '"dog cat"' in str(absent.value)


def test_read_only_and_unknown_blocks_are_refused(tmp_path: Path) -> None:
    a = agents(tmp_path)["a"]
    memory = CoreMemory(CoreStore(tmp_path / "state"))
    with pytest.raises(EditRefused, match="'rules' is read-only"):
        memory.set(a, "rules", "anything")
    with pytest.raises(
        EditRefused, match=r"no core memory block 'persona' \(blocks: notes, rules, team\)"
    ):
        memory.append(a, "persona", "x")
    rendered = memory.render(a)
    assert rendered.startswith("## Core Memory\n")
    assert "<rules 8/2000 characters; read-only>\nbe brief\n</rules>" in rendered


def test_shared_blocks_are_one_block_for_every_agent_declaring_them(tmp_path: Path) -> None:
    found = agents(tmp_path)
    memory = CoreMemory(CoreStore(tmp_path / "state"))
    memory.append(found["a"], "team", "from a")
    memory.append(found["b"], "team", "from b")
    assert dict((b.label, v) for b, v in memory.values(found["b"]))["team"] == "from a\nfrom b"
    assert (tmp_path / "state" / "memory" / "shared.json").is_file()
    assert not (tmp_path / "state" / "memory" / "agents" / "b.json").exists()


def test_a_dry_run_sees_its_edits_and_writes_nothing(tmp_path: Path) -> None:
    a = agents(tmp_path)["a"]
    state = tmp_path / "state"
    CoreMemory(CoreStore(state)).set(a, "notes", "kept")
    dry = CoreMemory(CoreStore(state), dry_run=True)
    assert "dry run" in dry.append(a, "notes", "more")
    assert dict((b.label, v) for b, v in dry.values(a))["notes"] == "kept\nmore"
    fresh = CoreMemory(CoreStore(state))
    assert dict((b.label, v) for b, v in fresh.values(a))["notes"] == "kept"


def test_a_file_that_is_not_core_memory_is_named_not_overwritten(tmp_path: Path) -> None:
    a = agents(tmp_path)["a"]
    path = tmp_path / "state" / "memory" / "agents" / "a.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(MemoryFileError, match=r"a\.json: not JSON"):
        CoreMemory(CoreStore(tmp_path / "state")).append(a, "notes", "x")
    assert path.read_text(encoding="utf-8") == "{not json"


WRITER = """
import sys
from pathlib import Path
from axoc.kernel.table import SignalTable
from axoc.memory.core import CoreMemory, CoreStore
plan, state, who = sys.argv[1:]
agents = {a.id: a for a in SignalTable.from_json(Path(plan).read_text()).agents}
memory = CoreMemory(CoreStore(Path(state)))
for n in range(500):
    memory.append(agents[who], "team", f"{who}-{n}")
"""


def test_two_processes_appending_to_a_shared_block_keep_all_1000_edits(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(table(tmp_path, BLOCKS).to_json(), encoding="utf-8")
    state = tmp_path / "state"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(plan), str(state), who])
        for who in ("a", "b")
    ]
    assert [w.wait(timeout=240) for w in writers] == [0, 0]
    document = json.loads((state / "memory" / "shared.json").read_text(encoding="utf-8"))
    lines = document["blocks"]["team"]["value"].split("\n")
    assert len(lines) == 1000
    assert sorted(lines) == sorted(f"{w}-{n}" for w in ("a", "b") for n in range(500))
    for who in ("a", "b"):  # each writer's edits land in the order it made them
        mine = [line for line in lines if line.startswith(f"{who}-")]
        assert mine == [f"{who}-{n}" for n in range(500)]
