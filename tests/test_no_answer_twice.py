"""No answer is paid for twice: a real `axoc run` against a real loopback server is killed with
SIGKILL once every agent but the last has answered; then its journal loses what a power cut can
make it lose (everything but its header, or its second half: it is flushed to disk only when
the run ends, its checkpoints before the run acts on each answer), other runs of the same config
come and go in the same state directory, and the run is resumed. The server counts what it is
asked: on resume, only the call that was in flight at the kill — nothing that was checkpointed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import CheckpointStore
from tests.helpers import axoc
from tests.providers.servers import FakeServer, Received, Reply

CHAINS = ["x0", "x1", "x2", "y0", "y1", "y2"]
FANOUT = ["f0", "f1", "f2", "f3"]


def config(tmp_path: Path, url: str) -> str:
    """Two chains and a fan-out, joined by `z`; each agent's model is its id."""

    def agent(name: str, deps: list[str]) -> str:
        after = f", depends_on: [{', '.join(deps)}]" if deps else ""
        return f"  - {{id: {name}, provider: lab, model: {name}{after}}}"

    agents = [agent(n, [n[0] + str(int(n[1]) - 1)] if n[1] != "0" else []) for n in CHAINS]
    agents += [agent(f, ["y0"]) for f in FANOUT]
    agents.append(agent("z", ["x2", "y2", *FANOUT]))
    members = ", ".join([*CHAINS, *FANOUT, "z"])
    path = tmp_path / "lab.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{url}/v1'}}\n"
        "agents:\n" + "\n".join(agents) + f"\nworkflows:\n  - {{id: w, agents: [{members}]}}\n",
        encoding="utf-8",
    )
    return str(path)


def model(received: Received) -> str:
    return str(received.json()["model"])


def answering(hang: dict[str, float]) -> object:
    """A model that answers from its prompt (so outputs are reproducible), `hang[agent]` s late."""

    def respond(received: Received) -> Reply:
        prompt = " ".join(received.json()["messages"][-1]["content"].split())
        text = f"<{model(received)}: {prompt[-48:]}>"
        usage = {"prompt_tokens": len(prompt) // 4 + 1, "completion_tokens": len(text) // 4 + 1}
        body = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {**usage, "total_tokens": sum(usage.values())}}  # fmt: skip
        return Reply(200, body, hang=hang.get(model(received), 0.0))

    return respond


def tokens(state: Path, run_id: str) -> dict[str, object]:
    report = axoc(
        "tokens", "report", "--run", run_id, "--format", "json", "--state-dir", str(state)
    )
    assert report.code == 0, report.err
    return dict(json.loads(report.out)["totals"])


def killed_when_z_is_asked(path: str, state: Path, server: FakeServer) -> str:
    """Start the run, SIGKILL it once `z` — the last — has been asked; its id."""
    before = len(server.received)
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", path, "-i", "go", "--state-dir", str(state)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "z" not in {model(r) for r in server.received[before:]}:
            assert child.poll() is None, "the run ended before z was asked"
            assert time.monotonic() < deadline, "z was never asked"
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    (folder,) = state.glob("runs/*")
    return folder.name


def power_cut(journal: Path, keep: str) -> int:
    """Cut the journal as a power cut may: to its header, or to its first half. The records
    it keeps."""
    lines = journal.read_bytes().splitlines(keepends=True)
    kept = 1 if keep == "header" else 1 + (len(lines) - 1) // 2
    journal.write_bytes(b"".join(lines[:kept]))
    return kept - 1


@pytest.mark.parametrize(
    ("cut", "others"),
    [(None, 0), ("header", 0), ("half", 0), ("header", 3), ("half", 3)],
    ids=["kill", "power-cut-to-header", "power-cut-to-half", "header-and-other-runs",
         "half-and-other-runs"],
)  # fmt: skip
def test_a_resumed_run_asks_only_what_was_in_flight(
    tmp_path: Path, server: FakeServer, cut: str | None, others: int
) -> None:
    server.respond = answering({"x0": 0.3})  # the y chain runs ahead of x0
    path = config(tmp_path, server.url)
    reference = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "reference"))
    assert reference.code == 0, reference.err
    (reference_run,) = (tmp_path / "reference").glob("runs/*")
    expected_tokens = tokens(tmp_path / "reference", reference_run.name)

    state = tmp_path / "state"
    server.respond = answering({"x0": 0.3, "z": 60})  # z hangs: killed while it is asked
    run_id = killed_when_z_is_asked(path, state, server)
    root = state / "runs" / run_id / "checkpoints"
    checkpointed = {p.name for p in root.iterdir()}
    assert checkpointed == {*CHAINS, *FANOUT}  # every answer that arrived
    journal = state / "runs" / run_id / "journal.jsonl"
    if cut is not None:
        power_cut(journal, cut)

    server.respond = answering({})
    for n in range(others):  # other runs come, checkpoint, end
        assert axoc("run", path, "-i", f"other {n}", "--state-dir", str(state)).code == 0
    assert {p.name for p in root.iterdir()} == checkpointed  # they left this run's alone
    for agent in checkpointed:
        loaded = CheckpointStore(root).load(agent)
        assert loaded.warnings == [] and len(loaded.checkpoints) == 1

    asked = len(server.received)
    resumed = axoc("run", path, "--resume", run_id, "--state-dir", str(state))
    assert resumed.code == 0, resumed.err
    assert [model(r) for r in server.received[asked:]] == ["z"]  # nothing checkpointed re-sent
    assert resumed.out == reference.out
    assert tokens(state, run_id) == expected_tokens  # each answer charged once
    assert not root.exists()  # the run ended: its checkpoints are gone


def test_a_run_interrupted_before_the_upgrade_finds_its_checkpoints_where_they_were(
    tmp_path: Path, server: FakeServer
) -> None:
    """Earlier versions kept checkpoints in `agents/<agent>/checkpoints/`, shared by all runs:
    a run interrupted then is resumed from them (read, never written, never discarded)."""
    server.respond = answering({"z": 60})
    path = config(tmp_path, server.url)
    state = tmp_path / "state"
    run_id = killed_when_z_is_asked(path, state, server)
    root = state / "runs" / run_id / "checkpoints"
    for folder in list(root.iterdir()):  # as the earlier version laid them out
        (state / "agents" / folder.name).mkdir(parents=True)
        folder.rename(state / "agents" / folder.name / "checkpoints")
    root.rmdir()
    power_cut(state / "runs" / run_id / "journal.jsonl", "header")
    server.respond = answering({})
    asked = len(server.received)
    resumed = axoc("run", path, "--resume", run_id, "--state-dir", str(state))
    assert resumed.code == 0, resumed.err
    assert [model(r) for r in server.received[asked:]] == ["z"]
    assert sorted(p.name for p in (state / "agents").iterdir()) == sorted([*CHAINS, *FANOUT])
