"""The crash suite: `axoc run` killed with SIGKILL at random instants and resumed until it ends.

A 34-agent lattice (a chain, a fan-out and join, a layered block, and a reactive loop that only
`max_activations` stops) runs against a real OpenAI-compatible server on loopback that answers
from the prompt and logs every call. After every kill the run is resumed. The final output and
the token totals must equal an uninterrupted run's, and the calls must add up exactly: every
call is either a recorded outcome or was in flight at one of the kills — so no completed
activation's call ever happened twice. Every checkpoint left after a kill is whole, and the
run's checkpoints are gone once it ends. The default suite kills 6 times; `pytest -m slow` 50.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import CheckpointStore
from axoc.kernel.journal import JournalError, read
from axoc.pipeline import STAGES, compile_file
from tests.providers.servers import FakeServer, Received, Reply


def lattice(base_url: str) -> str:
    # each agent's model is its id, so every call the server logs names its agent
    def agent(name: str, deps: list[str] | None = None) -> str:
        after = f", depends_on: [{', '.join(deps)}]" if deps else ""
        return f"  - {{id: {name}, provider: lab, model: {name}{after}}}"

    agents = [agent(f"c{i}", [f"c{i - 1}"] if i else None) for i in range(10)]
    agents += [agent(f"f{i}", ["c9"]) for i in range(8)]
    agents.append(agent("join", [f"f{i}" for i in range(8)]))
    agents += [agent(f"l{i}", ["join"]) for i in range(4)]
    agents += [agent(f"k{i}", [f"l{i % 4}", f"l{(i + 1) % 4}"]) for i in range(8)]
    agents.append(agent("final", ["k0", "k3", "k7"]))
    agents += [agent("drafter"), agent("editor")]
    members = [a.split("id: ")[1].split(",")[0] for a in agents[:-2]]
    return (
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{base_url}/v1'}}\n"
        "agents:\n" + "\n".join(agents) + "\n"
        "skills:\n"
        "  - {id: draft, agents: [drafter], reacts_to: [Revised, 'TaskCompleted(final)'], "
        "emits: [Drafted]}\n"
        "  - {id: revise, agents: [editor], reacts_to: [Drafted], emits: [Revised]}\n"
        f"workflows:\n  - {{id: crash, agents: [{', '.join(members)}], max_activations: 60}}\n"
    )


def answer(received: Received) -> tuple[str, str] | None:
    """(agent, answer) of a call: what the journal records for it once it completes. None for
    a request cut short by a kill (its body never arrived whole: no model saw it)."""
    try:
        body = received.json()
    except ValueError:
        return None
    prompt = " ".join(body["messages"][-1]["content"].split())
    return body["model"], f"<{prompt[:60]}>"


def echo(received: Received, hang: float = 0.015) -> Reply:
    called = answer(received)
    if called is None:
        return Reply(400, {"error": {"message": "truncated request"}})
    prompt = " ".join(received.json()["messages"][-1]["content"].split())
    text = called[1]
    usage = {"prompt_tokens": len(prompt) // 4 + 1, "completion_tokens": len(text) // 4 + 1}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    body = {
        "id": "chatcmpl-crash", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": usage,
    }  # fmt: skip
    return Reply(200, body, hang=hang)


def plan(tmp_path: Path, base_url: str) -> Path:
    """The lattice as a saved plan: `check` rejects its unbounded loop (AX505); the kernel must
    stop it with max_activations, and resuming must too."""
    config = tmp_path / "crash.axoc.yaml"
    config.write_text(lattice(base_url), encoding="utf-8")
    unit = compile_file(str(config), os.environ, STAGES[:-1])
    errors = [d for d in unit.diagnostics if d.severity == "error"]
    assert unit.lowered is not None and not errors, errors
    path = tmp_path / "crash.plan.json"
    path.write_text(unit.lowered.table.to_json(), encoding="utf-8")
    return path


def axoc_run(plan_path: Path, state: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "axoc",
            "run",
            str(plan_path),
            "-i",
            "go",
            "--state-dir",
            str(state),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def recorded(state: Path) -> list[tuple[str, str]]:
    """(agent, answer) of every outcome the run's journal records."""
    journals = list(state.glob("runs/*/journal.jsonl"))
    if not journals:
        return []
    ticks = [r for r in read(journals[0]).records if r["k"] == "tick"]
    return [(o["a"], o["x"]) for r in ticks for o in r["o"]]


def crash_and_resume(tmp_path: Path, kills: int, seed: int, hang: float, pause: float) -> None:
    """Kill the run `kills` times, each after a random pause of up to `pause` s, while every
    call takes `hang` s; then let it finish."""
    rng = random.Random(seed)
    with FakeServer() as server:
        server.respond = functools.partial(echo, hang=hang)
        plan_path = plan(tmp_path, server.url)
        reference_state = tmp_path / "reference"
        reference = axoc_run(plan_path, reference_state)
        expected_out, _ = reference.communicate(timeout=120)
        assert reference.returncode == 5  # the loop ends at max_activations
        expected_tokens = _tokens(reference_state)
        server.received.clear()

        state = tmp_path / "state"
        in_flight = 0  # calls made but never recorded: in flight at a kill, they run again
        run_id: str | None = None
        finished = None
        landed = 0  # kills that hit a run in the middle of its work
        for _ in range(kills):
            done_before = set(recorded(state))
            first_call = len(server.received)
            child = axoc_run(plan_path, state, *(["--resume", run_id] if run_id else []))
            if not started(child, server, first_call):  # the pause counts from its first call
                finished = child  # killed after its last answer: the resume had none to ask
                break
            time.sleep(rng.uniform(0.0, pause))
            if child.poll() is not None:
                finished = child  # it ended during the pause: nothing left to kill
                break
            child.send_signal(signal.SIGKILL)
            landed += 1
            child.wait(timeout=30)
            if run_id is None and list(state.glob("runs/*/journal.jsonl")):
                run_id = next(state.glob("runs/*")).name
            calls = {answer(r) for r in server.received[first_call:]} - {None}
            assert not done_before & calls, "a completed activation was called again"
            in_flight = len(server.received) - len(recorded(state))
            assert 0 <= in_flight <= 8 * kills  # at most the fan-out's width per kill
            if run_id is not None:
                answered = {answer(r) for r in server.received} - {None}
                assert checkpointed(state, run_id) <= answered  # whole, and real answers
        done_before = set(recorded(state))
        first_call = len(server.received)
        if finished is None:
            finished = axoc_run(plan_path, state, *(["--resume", run_id] if run_id else []))
        out, err = finished.communicate(timeout=120)
        assert finished.returncode == 5, err.decode()
        assert landed >= kills // 2, f"only {landed} of {kills} kills landed: make calls slower"
        assert not done_before & ({answer(r) for r in server.received[first_call:]} - {None})
        assert out == expected_out
        assert _tokens(state) == expected_tokens
        final = recorded(state)
        assert len(final) == len(set(final))  # every activation recorded exactly once
        # calls in flight at the last kill ran again, unless their answer had been checkpointed
        assert len(final) <= len(server.received) <= len(final) + in_flight
        assert run_id is not None and not (state / "runs" / run_id / "checkpoints").exists()
        assert not (state / "agents").exists()  # the run ended: its checkpoints went with it


def started(child: subprocess.Popen[bytes], server: FakeServer, calls: int) -> bool:
    """Wait until `child` sends its first call (True), or ends without one (False): starting
    Python and reading the plan takes from 0.3 s to over a second on a busy machine, and a kill
    before that proves little."""
    deadline = time.monotonic() + 60
    while len(server.received) <= calls:
        if child.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run sent no call within 60 s"
        time.sleep(0.005)
    return True


def checkpointed(state: Path, run_id: str) -> set[tuple[str, str]]:
    """(agent, answer) of every checkpoint of the run; none may be torn, whatever the kills
    hit."""
    root = state / "runs" / run_id / "checkpoints"
    store = CheckpointStore(root)
    found = set()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        loaded = store.load(folder.name)
        assert loaded.warnings == []
        found |= {(c.agent, c.answer) for c in loaded.checkpoints}
    return found


def _tokens(state: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "tokens", "report", "--format", "json", "--state-dir", str(state)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(done.stdout)
    return {"usage": report["usage"], "totals": report["totals"]}


def test_crash_and_resume(tmp_path: Path) -> None:
    crash_and_resume(tmp_path, kills=6, seed=1124, hang=0.015, pause=0.6)


@pytest.mark.slow
def test_crash_and_resume_fifty_times(tmp_path: Path) -> None:
    """50 kills at seeded random instants (about a minute): `pytest -m slow`. All 50 land in
    the middle of the run on the development machine (28 with pauses of up to 0.45 s)."""
    crash_and_resume(tmp_path, kills=50, seed=2026, hang=0.1, pause=0.2)


# --- killed in the middle of a tool loop ------------------------------------------------------


def tool_lines(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def latest_turns(state: Path) -> tuple[dict[str, int], set[str]]:
    """Per agent, the turn of its latest checkpoint (non-final ones: where a resume continues),
    and the ids of every tool call whose result a checkpoint holds. Every checkpoint is whole."""
    from tests.kernel import toolrun

    store = CheckpointStore(state / "checkpoints")
    turns, answered = {}, set()
    for agent in [f"w{i}" for i in range(toolrun.WORKERS)] + ["total"]:
        loaded = store.load(agent)
        assert loaded.warnings == []
        if loaded.checkpoints and not loaded.checkpoints[0].final:
            turns[agent] = loaded.checkpoints[0].turn
        answered |= {m.tool_call_id or "" for c in loaded.checkpoints for m in c.transcript
                     if m.role == "tool"}  # fmt: skip
    return turns, answered


def toolrun_process(state: Path, delay: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.kernel.toolrun", str(state), "--delay", str(delay)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_mid_tool_loop(tmp_path: Path, kills: int, seed: int, delay: float) -> None:
    """A run whose agents call tools in loops (tests/kernel/toolrun.py) is killed with SIGKILL
    at random instants once its first tool call ran, and resumed each time: a resumed session
    starts at the turn after its last checkpointed one (at most the turn in flight is sent
    again), runs no tool call whose result was checkpointed, and the run ends as an
    uninterrupted one does, every turn charged once."""
    rng = random.Random(seed)
    reference_state = tmp_path / "reference"
    reference_state.mkdir()
    reference = toolrun_process(reference_state, 0.0)
    expected, err = reference.communicate(timeout=120)
    assert reference.returncode == 0, err.decode()
    state = tmp_path / "state"
    state.mkdir()
    log = state / "calls.log"
    mid_loop = 0
    finished = None
    for _ in range(kills):
        turns, answered = latest_turns(state)
        before = len(tool_lines(log))
        child = toolrun_process(state, delay)
        deadline = time.monotonic() + 60
        while not any(line["kind"] == "tool" for line in tool_lines(log)[before:]):
            if child.poll() is not None:
                break
            assert time.monotonic() < deadline, "no tool call within 60 s"
            time.sleep(0.005)
        if child.poll() is None:
            time.sleep(rng.uniform(0.0, 4 * delay))
        if child.poll() is not None:
            finished = child
            break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        resumed = tool_lines(log)[before:]
        assert not answered & {str(line["id"]) for line in resumed if line["kind"] == "tool"}
        for agent, turn in turns.items():
            sent = [line["turn"] for line in resumed if line["kind"] == "model"
                    and line["agent"] == agent]  # fmt: skip
            assert not sent or sent[0] == turn + 1, (agent, turn, sent)
        now, _ = latest_turns(state)
        mid_loop += bool(now)  # some session was between two turns when it died
    if finished is None:
        finished = toolrun_process(state, delay)
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err.decode()
    assert json.loads(out) == json.loads(expected)  # outputs, and every turn charged once
    assert mid_loop >= 1, "no kill landed in the middle of a tool loop"
    assert not (state / "checkpoints").exists()


def test_kill_mid_tool_loop(tmp_path: Path) -> None:
    kill_mid_tool_loop(tmp_path, kills=3, seed=12, delay=0.05)


@pytest.mark.slow
def test_kill_mid_tool_loop_thirty_times(tmp_path: Path) -> None:
    kill_mid_tool_loop(tmp_path, kills=30, seed=2612, delay=0.03)


def emitting(n: int) -> str:
    """n scouts that call `emit`, each watched by an agent its event activates."""
    scouts = "".join(
        f"  - {{id: s{i}, provider: echo, tools: [emit], emits: [Found]}}\n"
        f"  - {{id: v{i}, provider: echo, activation: 'Found(s{i})'}}\n"
        for i in range(n)
    )
    members = ", ".join(f"s{i}, v{i}" for i in range(n))
    return f"agents:\n{scouts}workflows:\n  - {{id: w, agents: [{members}]}}\n"


def _journaled(state: Path) -> bool:
    """The run's journal records an outcome (a journal still without its header records none)."""
    try:
        return bool(recorded(state))
    except JournalError:
        return False


def _checkpointed(state: Path) -> bool:
    """A turn of the run is checkpointed (folders may vanish under the scan: the run ends)."""
    try:
        return any(state.glob("runs/*/checkpoints/*/*.json"))
    except FileNotFoundError:
        return False


def dry_run(config: Path, state: Path, *extra: str) -> subprocess.Popen[bytes]:
    """The run, its --json stream written to `<state>.out` (a pipe nobody reads would fill up
    and stop it), its stderr to `<state>.err`."""
    with open(f"{state}.out", "wb") as out, open(f"{state}.err", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "axoc", "run", str(config), "--dry-run", "-i", "go",
             "--json", "--state-dir", str(state), *extra],
            stdout=out, stderr=err,
        )  # fmt: skip


def outputs(state: Path) -> dict[str, object]:
    last = json.loads(Path(f"{state}.out").read_text().splitlines()[-1])
    return {"stop": last["stop_reason"], "outputs": last["outputs"]}


def kill_emitting_dry_run(tmp_path: Path, kills: int, seed: int, n: int) -> None:
    """`emitting_campaign` until one of its kills lands in the middle of a tool loop (at most 6
    campaigns, each checked whole): a dry run's loops last a few milliseconds of a run of a few
    tenths of a second, so random instants may all miss them on a fast machine."""
    landed = 0
    for campaign in range(6):
        folder = tmp_path / f"campaign{campaign}"
        folder.mkdir()
        landed += emitting_campaign(folder, kills, seed + campaign, n)
        if landed:
            break
    assert landed >= 1, "no kill landed in the middle of a tool loop in 6 campaigns"


def emitting_campaign(tmp_path: Path, kills: int, seed: int, n: int) -> int:
    """`axoc run --dry-run` of scouts whose echo turns call `emit` (each checkpointed, as a turn
    of a tool loop), killed with SIGKILL at random instants after its first activation and
    resumed: every watcher runs exactly once, and the outputs and tokens are an uninterrupted
    run's. Returns how many kills landed between two turns of a session."""
    rng = random.Random(seed)
    config = tmp_path / "emit.axoc.yaml"
    config.write_text(emitting(n), encoding="utf-8")
    reference_state = tmp_path / "reference"
    reference = dry_run(config, reference_state)
    assert reference.wait(timeout=120) == 0, Path(f"{reference_state}.err").read_text()
    state = tmp_path / "state"
    run_id: str | None = None
    mid_loop = 0
    finished = None
    for attempt in range(kills):
        child = dry_run(config, state, *(["--resume", run_id] if run_id else []))
        deadline = time.monotonic() + 60
        while not (_journaled(state) or _checkpointed(state)):
            if child.poll() is not None:
                break
            assert time.monotonic() < deadline, "the run started nothing within 60 s"
            time.sleep(0.002)
        if child.poll() is None and attempt > 0:  # the first: at its first checkpoint, mid loop
            time.sleep(rng.uniform(0.0, 0.15))
        if child.poll() is not None:
            finished = child
            break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        run_id = run_id or next(state.glob("runs/*")).name
        done = {agent for agent, _ in recorded(state)}
        root = state / "runs" / run_id / "checkpoints"
        store = CheckpointStore(root)
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            loaded = store.load(folder.name)
            assert loaded.warnings == []
            mid_loop += any(not c.final and c.agent not in done for c in loaded.checkpoints)
    if finished is None:
        assert run_id is not None
        finished = dry_run(config, state, "--resume", run_id)
    assert finished.wait(timeout=120) == 0, Path(f"{state}.err").read_text()
    assert outputs(state) == outputs(reference_state)
    final = recorded(state)
    assert sorted(agent for agent, _ in final) == sorted(
        [f"s{i}" for i in range(n)] + [f"v{i}" for i in range(n)]
    )  # every scout and every watcher exactly once
    assert _tokens(state) == _tokens(reference_state)
    return mid_loop


def test_kill_an_emitting_dry_run(tmp_path: Path) -> None:
    kill_emitting_dry_run(tmp_path, kills=3, seed=7, n=150)


@pytest.mark.slow
def test_kill_an_emitting_dry_run_twenty_times(tmp_path: Path) -> None:
    kill_emitting_dry_run(tmp_path, kills=20, seed=2027, n=300)


def tool_looping(base_url: str, n: int) -> str:
    """n scouts on a loopback OpenAI-compatible server, each calling `emit` in its first turn,
    each watched by an agent the event activates."""
    agents = "".join(
        f"  - {{id: s{i}, provider: lab, model: s{i}, tools: [emit], emits: [Found]}}\n"
        f"  - {{id: v{i}, provider: lab, model: v{i}, activation: 'Found(s{i})'}}\n"
        for i in range(n)
    )
    members = ", ".join(f"s{i}, v{i}" for i in range(n))
    return (
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{base_url}/v1'}}\n"
        f"agents:\n{agents}workflows:\n  - {{id: w, agents: [{members}]}}\n"
    )


def loop_turn(received: Received) -> tuple[str, int] | None:
    """(agent, turn) of a call: turn 2 once the transcript holds a tool result."""
    try:
        body = received.json()
    except ValueError:
        return None
    return body["model"], 2 if any(m["role"] == "tool" for m in body["messages"]) else 1


def tool_caller(received: Received) -> Reply:
    """OpenAI's wire format: a scout's first turn calls `emit`; every other turn answers."""
    called = loop_turn(received)
    if called is None:
        return Reply(400, {"error": {"message": "truncated request"}})
    agent, turn = called
    body = received.json()
    message: dict[str, object] = {"role": "assistant", "content": f"{agent} done"}
    finish = "stop"
    if turn == 1 and body.get("tools"):
        arguments = json.dumps({"event": "Found", "payload": agent})
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{agent}", "type": "function",
             "function": {"name": "emit", "arguments": arguments}},
        ]}  # fmt: skip
        finish = "tool_calls"
    usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    reply = {"id": "chatcmpl-loop", "object": "chat.completion", "created": 0, "model": agent,
             "choices": [{"index": 0, "message": message, "finish_reason": finish}],
             "usage": usage}  # fmt: skip
    return Reply(200, reply, hang=0.25)


def kill_axoc_run_mid_tool_loop(tmp_path: Path, kills: int, seed: int, n: int) -> None:
    """`axoc run` against a loopback OpenAI-compatible server whose scouts call `emit`, killed
    with SIGKILL at random instants and resumed: a scout whose first turn (the call and its
    tool result) was checkpointed is never asked its first turn again, every watcher runs once,
    and the outputs and tokens are an uninterrupted run's."""
    rng = random.Random(seed)
    with FakeServer() as server:
        server.respond = tool_caller
        config = tmp_path / "loop.axoc.yaml"
        config.write_text(tool_looping(server.url, n), encoding="utf-8")
        reference_state = tmp_path / "reference"
        reference = dry_run_like(config, reference_state)
        assert reference.wait(timeout=120) == 0, Path(f"{reference_state}.err").read_text()
        server.received.clear()
        state = tmp_path / "state"
        run_id: str | None = None
        mid_loop = 0
        finished = None
        checked = 0  # resumes that had checkpointed first turns not to send again
        for _ in range(kills):
            first = len(server.received)
            turned = first_turns(state, run_id)
            checked += bool(turned)
            child = dry_run_like(config, state, *(["--resume", run_id] if run_id else []))
            if not started(child, server, first):
                finished = child
                break
            time.sleep(rng.uniform(0.3, 0.5))  # between the two turns: 0.25 s to 0.5 s
            if child.poll() is not None:
                finished = child
                break
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            run_id = run_id or next(state.glob("runs/*")).name
            again = {loop_turn(r) for r in server.received[first:]} - {None}
            assert not {(agent, 1) for agent in turned} & again, "a checkpointed turn re-sent"
            done = {agent for agent, _ in recorded(state)}
            root = state / "runs" / run_id / "checkpoints"
            store = CheckpointStore(root)
            for folder in sorted(root.iterdir()) if root.is_dir() else []:
                mid_loop += any(not c.final and c.agent not in done
                                for c in store.load(folder.name).checkpoints)  # fmt: skip
        if finished is None:
            assert run_id is not None
            turned, first = first_turns(state, run_id), len(server.received)
            checked += bool(turned)
            finished = dry_run_like(config, state, "--resume", run_id)
            assert finished.wait(timeout=120) == 0, Path(f"{state}.err").read_text()
            again = {loop_turn(r) for r in server.received[first:]} - {None}
            assert not {(agent, 1) for agent in turned} & again, "a checkpointed turn re-sent"
        assert finished.wait(timeout=120) == 0, Path(f"{state}.err").read_text()
        assert checked >= 1
        assert outputs(state) == outputs(reference_state)
        final = sorted(agent for agent, _ in recorded(state))
        assert final == sorted([f"s{i}" for i in range(n)] + [f"v{i}" for i in range(n)])
        assert _tokens(state) == _tokens(reference_state)
        assert mid_loop >= 1, "no kill landed in the middle of a tool loop"


def first_turns(state: Path, run_id: str | None) -> set[str]:
    """The scouts whose first turn (the call and its tool result) a checkpoint holds."""
    if run_id is None:
        return set()
    root = state / "runs" / run_id / "checkpoints"
    store = CheckpointStore(root)
    turned = set()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        loaded = store.load(folder.name)
        assert loaded.warnings == []
        turned |= {c.agent for c in loaded.checkpoints
                   if any(m.role == "tool" for m in c.transcript)}  # fmt: skip
    return turned


def dry_run_like(config: Path, state: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`axoc run` (not a dry run: the loopback server is the provider), as `dry_run` runs it."""
    with open(f"{state}.out", "wb") as out, open(f"{state}.err", "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "axoc", "run", str(config), "-i", "go", "--json",
             "--state-dir", str(state), *extra],
            stdout=out, stderr=err,
        )  # fmt: skip


def test_kill_axoc_run_mid_tool_loop(tmp_path: Path) -> None:
    kill_axoc_run_mid_tool_loop(tmp_path, kills=3, seed=31, n=12)


@pytest.mark.slow
def test_kill_axoc_run_mid_tool_loop_until_it_ends(tmp_path: Path) -> None:
    """Up to 20 kills, with twice the scouts: killed at every resume until the run ends."""
    kill_axoc_run_mid_tool_loop(tmp_path, kills=20, seed=2031, n=24)
