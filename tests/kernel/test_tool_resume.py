"""Checkpoints per turn of the tool loop, and resuming in the middle of it: a resumed activation
continues from its last checkpointed turn, re-sends at most the turn in flight, never runs again
a tool call whose result was checkpointed, and is charged once for what its turns used."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import CheckpointStore, decode
from axoc.kernel.ports import Message
from tests.kernel import toolrun


def checkpoints(state: Path) -> dict[str, list]:  # type: ignore[type-arg]
    store = CheckpointStore(state / "checkpoints")
    found = {}
    for i in range(toolrun.WORKERS):
        loaded = store.load(f"w{i}")
        assert loaded.warnings == []
        found[f"w{i}"] = loaded.checkpoints
    return found


def test_each_turn_is_checkpointed_with_its_tool_calls_and_results(tmp_path: Path) -> None:
    log = toolrun.Log(None)
    state = tmp_path / "s"
    state.mkdir()
    table = toolrun.compiled(state)
    store = CheckpointStore(state / "checkpoints")
    seen: list[list[int]] = []
    model = toolrun.Model(log)
    original = model.complete

    async def complete(request):  # type: ignore[no-untyped-def]
        if request.agent == "w0":  # what w0's checkpoints hold when each of its turns is sent
            seen.append([c.turn for c in store.load("w0").checkpoints])
        return await original(request)

    model.complete = complete  # type: ignore[method-assign]
    result = toolrun.run(state, model, toolrun.Tools(log), table)
    assert result.stop_reason == "completed"
    assert seen == [[], [1], [2, 1]]  # turn 1 and 2 durable before the next is sent
    assert not (state / "checkpoints").exists()  # gone once the run ended


def test_a_run_interrupted_mid_loop_resumes_from_its_last_checkpointed_turn(
    tmp_path: Path,
) -> None:
    reference_state = tmp_path / "ref"
    reference_state.mkdir()
    reference = toolrun.run(
        reference_state, toolrun.Model(toolrun.Log(None)), toolrun.Tools(toolrun.Log(None))
    )
    assert reference.stop_reason == "completed"
    assert reference.outputs == [("total", f"total: {30 * toolrun.WORKERS}")]

    state = tmp_path / "s"
    state.mkdir()

    class Interrupting(toolrun.Model):
        async def complete(self, request):  # type: ignore[no-untyped-def]
            if request.agent == "w0" and sum(m.role == "tool" for m in request.messages) == 2:
                raise KeyboardInterrupt  # Ctrl-C while w0's third turn is sent
            return await super().complete(request)

    first_tools = toolrun.Tools(toolrun.Log(None))
    with pytest.raises(KeyboardInterrupt):
        toolrun.run(state, Interrupting(toolrun.Log(None)), first_tools)
    kept = checkpoints(state)
    assert kept["w0"][0].turn == 2 and not kept["w0"][0].final  # two turns with tools, durable
    answered = {
        m.tool_call_id for cs in kept.values() for c in cs for m in c.transcript if m.role == "tool"
    }
    assert {"w0-1", "w0-2"} <= answered

    model, tools = toolrun.Model(toolrun.Log(None)), toolrun.Tools(toolrun.Log(None))
    resumed = toolrun.run(state, model, tools)
    assert resumed.stop_reason == "completed" and resumed.outputs == reference.outputs
    assert not answered & {c.id for c in tools.calls}  # checkpointed results: not run again
    assert resumed.ledger.used == reference.ledger.used  # every turn charged once
    for agent, cs in kept.items():
        sent = [r for r in model.requests if r.agent == agent]
        if cs:  # the first call of the resumed session re-sends the turn in flight, no earlier
            assert sent[0].messages == cs[0].transcript
            assert len(sent) == 3 - cs[0].turn
    w0 = [r for r in model.requests if r.agent == "w0"]
    assert len(w0) == 1 and [m.content for m in w0[0].messages if m.role == "tool"] == ["10", "20"]


def test_a_checkpoint_of_format_1_is_still_read(tmp_path: Path) -> None:
    body = {
        "format": "axoc.checkpoint/1", "agent": "a", "version": 1, "run": "r", "seq": 3,
        "turn": 1, "final": True,
        "transcript": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}],
        "usage": [3, 1], "cumulative": [3, 1], "state": {"status": "done"},
    }  # fmt: skip
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    crc = zlib.crc32(text.encode())
    old = decode((text[:-1] + f',"crc":{crc}}}\n').encode())
    assert old.transcript == (Message("user", "q"), Message("assistant", "x"))
    assert old.activation_usage == (3, 1) and old.emitted == () and old.answer == "x"
