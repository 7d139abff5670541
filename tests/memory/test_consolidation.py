"""Sleep-time consolidation: an idle agent's recent semantic memories become core-memory edits
through one budgeted model call — through `axoc memory consolidate` and `axoc serve` as real
processes, the real embedding model storing the memories, a loopback OpenAI-compatible server
as the model. The edits pass the tools' checks (limit, read-only, text not found), the call's
tokens are in its run's journal and the tokens report, a budget that cannot hold the call sends
nothing, a pass killed mid-call changes nothing and is not resumed, and the next one reads the
same memories."""

from __future__ import annotations

import calendar
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from axoc.kernel.table import AgentSpec
from axoc.memory.consolidation import BUSY, INSTRUCTIONS, MAX_EDITS, Passes, apply, due, proposed
from axoc.memory.core import CoreMemory, CoreStore
from axoc.memory.stored import Recollection
from tests.helpers import axoc_process
from tests.providers.servers import FakeServer, Received, Reply, ScriptedModel, openai_reply
from tests.serve.daemon import Served

FACT = "Ada prefers metric units."


class Model(ScriptedModel):
    """Answers `answer` to every request (`hang`: seconds to wait first)."""

    def __init__(self, answer: str, hang: float = 0.0) -> None:
        super().__init__()
        self.answer, self.hang = answer, hang

    def __call__(self, received: Received) -> Reply:
        body, _ = self.record(received)
        reply = openai_reply(body["model"], {"role": "assistant", "content": self.answer}, "stop")
        return Reply(reply.status, reply.body, hang=self.hang)


def edits(*items: dict[str, str]) -> str:
    return json.dumps({"edits": list(items)})


def config(
    folder: Path, url: str, *, per_call: int = 20_000, idle: int = 0, name: str = "keeper"
) -> Path:
    path = folder / f"{name}.axoc.yaml"
    path.write_text(
        f"""\
providers:
  local: {{kind: openai_compatible, base_url: '{url}/v1'}}
consolidation: {{idle_threshold_secs: {idle}, interval_secs: 0}}
agents:
  - id: keeper
    provider: local
    model: m1
    system_prompt: You help Ada plan trips.
    tools: [core_memory_append, core_memory_replace, core_memory_set, recall_search]
    token_budget: {{per_call: {per_call}, per_execution: 40000}}
    memory:
      core:
        blocks:
          - {{label: human, limit: 120, description: what you know of the user}}
          - {{label: rules, value: Answer briefly., read_only: true}}
workflows:
  - {{id: ask, agents: [keeper]}}
""",
        encoding="utf-8",
    )
    return path


def remember(path: Path, state: Path, server: FakeServer, text: str) -> None:
    """One run of the agent, which stores one semantic memory (the real model)."""
    server.respond = Model(text)
    done = axoc_process("run", str(path), "-i", "Note this.", "--state-dir", str(state),
                        timeout=120)  # fmt: skip
    assert done.code == 0, done.err


def consolidate(path: Path, state: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    done = axoc_process("memory", "consolidate", str(path), "--json", "--state-dir", str(state),
                        *extra, timeout=120)  # fmt: skip
    assert "Traceback" not in done.err, done.err
    return done.code, json.loads(done.out) if done.out else {}, done.err


def blocks(state: Path) -> dict[str, str]:
    stored = json.loads((state / "memory" / "agents" / "keeper.json").read_text())["blocks"]
    return {label: block["value"] for label, block in stored.items()}


def test_an_idle_agents_memories_become_core_edits_through_one_call(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        path = config(tmp_path, server.url)
        remember(path, state, server, f"Noted: {FACT}")
        model = Model(edits(
            {"op": "append", "block": "human", "text": FACT},
            {"op": "set", "block": "rules", "value": "Answer at length."},
            {"op": "append", "block": "human", "text": "x" * 200},
            {"op": "replace", "block": "human", "old": "imperial", "new": "metric"},
            {"op": "delete", "block": "human"},
        ))  # fmt: skip
        server.respond = model
        code, report, err = consolidate(path, state)
        assert code == 0, err
        (only,) = report["passes"]
        assert only["status"] == "consolidated" and only["memories"] == 1
        assert len(only["applied"]) == 1 and len(only["refused"]) == 4
        refused = " | ".join(only["refused"])
        assert "read-only" in refused and "over its limit of 120" in refused
        assert "does not occur" in refused and "'op' is \"delete\"" in refused
        (request,) = model.requests  # one call
        assert "tools" not in request
        system, user = request["messages"][0]["content"], request["messages"][1]["content"]
        assert system.startswith(INSTRUCTIONS) and "## Core Memory\n" in system
        assert "<rules 15/2000 characters; read-only>" in system
        assert FACT in user and "You help Ada plan trips." in user
        assert blocks(state)["human"] == FACT  # the rules block was never edited
        # nothing new: the next pass is not due, and nothing is sent
        code, report, err = consolidate(path, state)
        assert code == 0 and report["passes"][0]["status"] == "not_due"
        assert "no new memories" in report["passes"][0]["why"]
        assert len(model.requests) == 1
    run_id = only["run_id"]
    journal = (state / "runs" / run_id / "journal.jsonl").read_text().splitlines()
    header = json.loads(journal[0])
    assert header["origin"] == "consolidation" and header["target"] == "consolidate:keeper"
    ticks = [json.loads(line) for line in journal if '"k":"tick"' in line]
    assert [(o["a"], o["u"]) for tick in ticks for o in tick["o"]] == [("keeper", [40, 12])]
    tokens = axoc_process("tokens", "report", "--run", run_id, "--format", "json",
                          "--state-dir", str(state))  # fmt: skip
    assert tokens.code == 0, tokens.err
    reported = json.loads(tokens.out)
    assert reported["target"] == "consolidate:keeper" and reported["totals"]["total"] == 52
    shown = axoc_process("memory", "show", str(path), "--state-dir", str(state))
    assert FACT in shown.out
    assert "last consolidation: " in shown.out
    assert f"consolidated (1 edit(s) applied, 4 refused; run {run_id})" in shown.out


def test_a_budget_that_cannot_hold_the_call_sends_nothing_and_keeps_the_memories(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        path = config(tmp_path, server.url)
        remember(path, state, server, f"Noted: {FACT}")
        tight = config(tmp_path, server.url, per_call=50, name="tight")
        model = Model(edits({"op": "append", "block": "human", "text": FACT}))
        server.respond = model
        code, report, err = consolidate(tight, state)
        assert code == 1, err
        assert report["passes"][0]["status"] == "budget_exhausted"
        assert "per_call" in report["passes"][0]["error"]
        assert model.requests == []
        assert not (state / "memory" / "agents" / "keeper.json").exists()
        # the memories were not consolidated: a pass with a budget that holds reads them again
        code, report, err = consolidate(path, state)
        assert code == 0 and report["passes"][0]["status"] == "consolidated", err
        assert blocks(state)["human"] == FACT


def test_a_pass_killed_mid_call_changes_nothing_and_is_not_resumed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        path = config(tmp_path, server.url)
        remember(path, state, server, f"Noted: {FACT}")
        hanging = Model(edits({"op": "append", "block": "human", "text": FACT}), hang=60)
        server.respond = hanging
        process = subprocess.Popen(
            [sys.executable, "-m", "axoc", "memory", "consolidate", str(path),
             "--state-dir", str(state)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not hanging.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hanging.requests, "the pass never called the model"
        # while it runs, no other process consolidates the agent
        code, report, err = consolidate(path, state, "--now")
        assert code == 0 and report["passes"][0]["why"] == BUSY, err
        assert len(hanging.requests) == 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert not (state / "memory" / "agents" / "keeper.json").exists()
        assert Passes(state).read() == {}
        listed = axoc_process("runs", "list", "--state-dir", str(state)).out.splitlines()
        killed = [line.split() for line in listed if " consolidate:keeper " in line]
        assert [row[2] for row in killed] == ["interrupted"]
        resumed = axoc_process("run", str(path), "--resume", killed[0][0], "--json",
                               "--state-dir", str(state))  # fmt: skip
        assert resumed.code == 2 and "not resumed" in resumed.err, resumed.err
        assert json.loads(resumed.out.splitlines()[-1])["code"] == "not_resumable"
        answering = Model(edits({"op": "append", "block": "human", "text": FACT}))
        server.respond = answering
        code, report, err = consolidate(path, state)
        assert code == 0 and report["passes"][0]["status"] == "consolidated", err
        assert FACT in answering.requests[0]["messages"][1]["content"]
    assert blocks(state)["human"] == FACT


def test_the_daemon_consolidates_an_agent_once_it_is_idle(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with FakeServer() as server:
        path = config(tmp_path, server.url, idle=2)
        server.respond = Model(f"Noted: {FACT}")
        with Served(path, state) as served:
            run_id = served.submit(workflow="ask", input="Note this.")
            assert served.wait(run_id)["status"] == "completed"
            stored = time.time()
            server.respond = Model(edits({"op": "append", "block": "human", "text": FACT}))
            deadline = time.monotonic() + 60
            passes: list[dict[str, Any]] = []
            while not passes and time.monotonic() < deadline:
                listed = served.client.get("/runs").json()["runs"]
                passes = [r for r in listed if r["target"] == "consolidate:keeper"]
                time.sleep(0.2)
            assert passes, "".join(served.stderr)
            done = served.wait(passes[0]["run_id"])
            assert done["status"] == "completed"
            started = json.loads((state / "runs" / passes[0]["run_id"] / "journal.jsonl")
                                 .read_text().splitlines()[0])["started"]  # fmt: skip
            began = calendar.timegm(time.strptime(started, "%Y-%m-%dT%H:%M:%SZ"))
            assert began >= int(stored) + 1  # not before the agent was idle for 2 s
            time.sleep(3)  # nothing new: no second pass
            listed = served.client.get("/runs").json()["runs"]
            assert len([r for r in listed if r["target"] == "consolidate:keeper"]) == 1
    assert blocks(state)["human"] == FACT
    assert Passes(state).last("keeper")["status"] == "consolidated"


def test_an_agent_with_the_default_blocks_is_consolidated_too(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = tmp_path / "plain.axoc.yaml"
    with FakeServer() as server:
        path.write_text(
            f"""\
providers:
  local: {{kind: openai_compatible, base_url: '{server.url}/v1'}}
consolidation: {{idle_threshold_secs: 3600}}
agents:
  - {{id: keeper, provider: local, model: m1, tools: [core_memory_set, recall_timeframe]}}
""",
            encoding="utf-8",
        )
        server.respond = Model(f"Noted: {FACT}")
        done = axoc_process("run", str(path), "--agent", "keeper", "-i", "Note this.",
                            "--state-dir", str(state), timeout=120)  # fmt: skip
        assert done.code == 0, done.err
        model = Model(edits({"op": "append", "block": "human", "text": FACT}))
        server.respond = model
        code, report, err = consolidate(path, state)  # idle for less than an hour: not due
        assert code == 0 and "not idle" in report["passes"][0]["why"], err
        assert model.requests == []
        code, report, err = consolidate(path, state, "--now")
        assert code == 0 and report["passes"][0]["status"] == "consolidated", err
    system = model.requests[0]["messages"][0]["content"]
    assert system.count("## Core Memory\n") == 1
    assert "<persona 0/2000 characters>" in system and "<project 0/3000 characters>" in system
    assert blocks(state)["human"] == FACT


# --- the pieces, in process ----------------------------------------------------------------------


def keeper_spec(tmp_path: Path) -> AgentSpec:
    from axoc.pipeline import compile_file

    unit = compile_file(str(config(tmp_path, "http://127.0.0.1:9")), {})
    assert unit.lowered is not None
    spec: AgentSpec = unit.lowered.table.by_id("agents")["keeper"]
    return spec


@pytest.mark.parametrize(
    "answer",
    [
        '{"edits": [{"op": "set", "block": "human", "value": "v"}]}',
        'Here you go:\n```json\n{"edits": [{"op": "set", "block": "human", "value": "v"}]}\n```',
        'Sure. {"edits": [{"op": "set", "block": "human", "value": "v"}]} Done.',
    ],
)
def test_the_edits_are_read_from_json_fenced_or_in_prose(answer: str) -> None:
    assert proposed(answer) == [{"op": "set", "block": "human", "value": "v"}]


@pytest.mark.parametrize("answer", ["", "no edits", '{"edits": 3}', "[1, 2]", '{"edits": [1'])
def test_an_answer_without_an_edits_list_changes_nothing(tmp_path: Path, answer: str) -> None:
    spec = keeper_spec(tmp_path)
    core = CoreMemory(CoreStore(tmp_path / "state"))
    report = apply(spec, core, answer, "r", 1)
    assert report.status == "unreadable_answer" and report.applied == []
    assert CoreStore(tmp_path / "state").read("keeper") == {}


def test_at_most_max_edits_are_applied_from_one_answer(tmp_path: Path) -> None:
    spec = keeper_spec(tmp_path)
    core = CoreMemory(CoreStore(tmp_path / "state"))
    many = edits(*({"op": "set", "block": "human", "value": f"v{n}"} for n in range(25)))
    report = apply(spec, core, many, "r", 1)
    assert len(report.applied) == MAX_EDITS and len(report.refused) == 25 - MAX_EDITS
    assert CoreStore(tmp_path / "state").read("keeper")["human"].value == f"v{MAX_EDITS - 1}"


def write_memories(state: Path, *times: float) -> None:
    folder = state / "memory" / "semantic" / "keeper"
    folder.mkdir(parents=True)
    lines = [json.dumps({"key": n, "time": t, "text": f"memory {n}"}) for n, t in enumerate(times)]
    (folder / "memories.jsonl").write_text("\n".join(lines) + "\n")


def test_a_pass_is_due_when_idle_past_the_threshold_and_the_interval(tmp_path: Path) -> None:
    from axoc.config import Consolidation

    state = tmp_path / "state"
    settings = Consolidation(idle_threshold_secs=120, interval_secs=1800, recent=2)
    assert "no new memories" in due(state, "keeper", settings, 1000.0).why
    write_memories(state, 100.0, 200.0, 300.0)
    assert "not idle" in due(state, "keeper", settings, 400.0).why
    found = due(state, "keeper", settings, 420.0)
    assert found.memories == (Recollection(200.0, "memory 1"), Recollection(300.0, "memory 2"))
    Passes(state).record("keeper", {"attempted": 500.0, "through": 200.0})
    assert "interval" in due(state, "keeper", settings, 600.0).why
    assert due(state, "keeper", settings, 600.0, force=True).memories == (found.memories[1],)
    assert due(state, "keeper", settings, 2300.0).memories == (found.memories[1],)
    assert (found.since, due(state, "keeper", settings, 2300.0).since) == (0.0, 200.0)
    Passes(state).record("keeper", {"attempted": 500.0, "through": 300.0})
    assert "no new memories" in due(state, "keeper", settings, 9999.0, force=True).why


def test_a_corrupt_record_of_passes_is_named_and_never_overwritten(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = config(tmp_path, "http://127.0.0.1:9")
    write_memories(state, 100.0)
    record = state / "memory" / "consolidation.json"
    record.write_text("{not json", encoding="utf-8")
    done = axoc_process("memory", "consolidate", str(path), "--now", "--state-dir", str(state))
    assert done.code == 2 and "Traceback" not in done.err
    assert f"{record}: not a consolidation record" in done.err
    shown = axoc_process("memory", "show", "--state-dir", str(state))
    assert shown.code == 0 and "warning:" in shown.err and "semantic memories: 1" in shown.out
    assert record.read_text(encoding="utf-8") == "{not json"
