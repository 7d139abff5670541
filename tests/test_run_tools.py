"""`axoc run --dry-run` exercises the tool loop: echo calls the `emit` tool of an agent that
may emit, the event is published into the run's lattice and drives a second agent; the journal
records it, and the run's outputs are what a run with tools gives."""

from __future__ import annotations

import json
from pathlib import Path

from axoc.kernel.journal import read
from tests.helpers import axoc

CONFIG = """
agents:
  - {id: scout, provider: echo, tools: [emit], emits: [Found]}
  - {id: reader, provider: echo}
  - {id: watcher, provider: echo, activation: "Found(scout)"}
skills:
  - {id: read, agents: [reader], reacts_to: [Found], prompt: "read what was found"}
workflows:
  - {id: w, agents: [scout, watcher]}
"""


def test_a_dry_run_emits_and_a_second_agent_reacts(tmp_path: Path) -> None:
    path = tmp_path / "emit.axoc.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    state = tmp_path / "state"
    done = axoc("run", str(path), "--dry-run", "-i", "hunt", "--json", "--state-dir", str(state))
    assert done.code == 0, done.err
    events = [json.loads(line) for line in done.out.splitlines()]
    kinds = [(e["event"], e.get("agent") or e.get("name")) for e in events]
    assert ("tool", "scout") in kinds
    published = kinds.index(("published", "Found"))
    assert published < kinds.index(("completed", "scout"))  # before its TaskCompleted
    assert ("completed", "reader") in kinds and ("completed", "watcher") in kinds
    usage = [e for e in events if e["event"] == "usage" and e["agent"] == "scout"]
    assert len(usage) == 2  # two turns: the call, then the answer
    output = events[-1]
    assert output["stop_reason"] == "completed" and output["outputs"]["watcher"].startswith(
        "watcher <- Previous agent outputs:"
    )
    (folder,) = (state / "runs").iterdir()
    ticks = [r for r in read(folder / "journal.jsonl").records if r["k"] == "tick"]
    assert ticks[0]["o"][0]["m"] == [["Found", ""]]  # journaled, so a replay publishes it
