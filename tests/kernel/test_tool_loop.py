"""The tool loop of an activation session, through the real driver: parallel calls and their
correlation, the allow-list, bad calls answered as errors, the rounds limit, `emit` publishing
into the lattice, calls written as JSON text, budgets over the whole loop, timeouts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.ports import Message, Request, Response, ToolDefinition
from axoc.kernel.table import Budget, SignalTable
from axoc.kernel.toolcalls import emit_definition
from tests.kernel.fakes import table
from tests.kernel.toolfakes import (
    ADD,
    ScriptedTools,
    Toolbox,
    call,
    calls,
    granted,
    says,
)

CONFIG = """
agents:
  - {id: worker, provider: lab, model: m}
  - {id: reader, provider: lab, model: m}
skills:
  - {id: read, agents: [reader], reacts_to: [Found], prompt: "read it"}
workflows:
  - {id: w, agents: [worker]}
"""


def worker(tmp_path: Path, **changes: Any) -> SignalTable:
    changes.setdefault("tools", ("add", "slow", "boom", "emit"))
    changes.setdefault("emits", ("Found",))
    return granted(table(tmp_path, CONFIG, analysed=False), "worker", **changes)


def run(
    t: SignalTable, provider: ScriptedTools, toolbox: Toolbox | None = None, **options: Any
) -> RunResult:
    options.setdefault("logical", True)
    driver = Driver(t, {"lab": provider}, workflow="w", input="go", toolbox=toolbox, **options)
    return asyncio.run(driver.run())


def well_formed(transcript: tuple[Message, ...]) -> None:
    """Every call of an assistant message is answered, in order, before the next message."""
    pending: list[tuple[str, str]] = []
    for message in transcript:
        if message.role == "tool":
            assert pending, f"a result nobody asked for: {message}"
            assert (message.tool_call_id, message.name) == pending.pop(0)
        else:
            assert not pending, f"calls left unanswered before {message.role}: {pending}"
            pending = [(c.id, c.name) for c in message.tool_calls]
    assert not pending, f"calls left unanswered: {pending}"


def results(transcript: tuple[Message, ...]) -> list[tuple[str | None, str, bool]]:
    return [(m.name, m.content, m.is_error) for m in transcript if m.role == "tool"]


def test_parallel_calls_run_concurrently_and_answer_in_call_order(tmp_path: Path) -> None:
    provider = ScriptedTools({"worker": [
        calls(call("add", {"a": 1, "b": 2}, "c1"), call("add", {"a": 40, "b": 2}, "c2")),
        says("the sums are 3 and 42"),
    ]})  # fmt: skip
    toolbox = Toolbox(parallel=2)  # each add waits until both run: a sequential loop hangs
    result = run(worker(tmp_path), provider, toolbox)
    assert result.stop_reason == "completed", result.errors
    assert result.outputs == [("worker", "the sums are 3 and 42")]
    assert toolbox.most_at_once == 2
    second = provider.requests[1].messages
    assert [(m.role, m.tool_call_id, m.name, m.content) for m in second[-3:]] == [
        ("assistant", None, None, ""),
        ("tool", "c1", "add", "3"),
        ("tool", "c2", "add", "42"),
    ]
    assert [c.id for c in second[-3].tool_calls] == ["c1", "c2"]
    well_formed(result.transcripts[1])
    assert result.ledger.by_agent["worker"].output_tokens > 0
    assert [r["name"] for r in result.log if r["event"] == "tool"] == ["add", "add"]


def test_only_allowed_tools_are_offered(tmp_path: Path) -> None:
    provider = ScriptedTools({"worker": [says("done")]})
    run(worker(tmp_path, tools=("add", "emit")), provider, Toolbox())
    offered = [d.name for d in provider.requests[0].tools]
    assert offered == ["emit", "add"]  # not slow, boom nor secret, which the toolbox has
    assert provider.requests[0].tools[0] == emit_definition(("Found",))
    # no emits: emit is not offered; no tools: a plain completion
    run(worker(tmp_path, tools=("emit",), emits=()), provider, Toolbox())
    assert provider.requests[-1].tools == ()
    run(worker(tmp_path, max_tool_rounds=0), provider, Toolbox())
    assert provider.requests[-1].tools == ()


def test_bad_calls_are_error_results_the_model_sees(tmp_path: Path) -> None:
    bad = calls(
        call("secret", {}, "k1"),  # in the toolbox, not in the allow-list
        call("nope", {}, "k2"),
        call("add", "{not json", "k3"),
        call("add", "[1, 2]", "k4"),
        call("add", {"a": 1}, "k5"),
        call("add", {"a": "1", "b": 2}, "k6"),
        call("boom", {}, "k7"),
        call("emit", {"event": "Lost"}, "k8"),
        call("add", {"a": 1, "b": 1}, ""),  # no id: one is made up
    )
    provider = ScriptedTools({"worker": [bad, says("I see")]})
    toolbox = Toolbox()
    result = run(worker(tmp_path), provider, toolbox)
    assert result.stop_reason == "completed" and result.outputs == [("worker", "I see")]
    transcript = result.transcripts[1]
    well_formed(transcript)
    got = results(transcript)
    assert [error for _, _, error in got] == [True] * 8 + [False]
    texts = [text for _, text, _ in got]
    assert texts[0].startswith("unknown tool 'secret'") and "offered: add, boom, emit" in texts[0]
    assert texts[1].startswith("unknown tool 'nope'")
    assert "are not JSON" in texts[2]
    assert "must be a JSON object, not an array" in texts[3]
    assert "'b' is required" in texts[4]
    assert "'a' must be integer, not a string" in texts[5]
    assert texts[6] == "the tool 'boom' failed: RuntimeError: the tool broke"
    assert '"Lost", not one of "Found"' in texts[7]
    assert texts[8] == "2"
    assert transcript[-len(got) - 2].tool_calls[-1].id == "call_1_9"  # then "I see"
    assert [c.name for c in toolbox.calls] == ["boom", "add"]  # the others never ran


def test_a_cut_answer_runs_none_of_its_calls(tmp_path: Path) -> None:
    cut = calls(call("add", {"a": 1, "b": 2}), finish="length")
    provider = ScriptedTools({"worker": [cut, says("fine")]})
    toolbox = Toolbox()
    result = run(worker(tmp_path), provider, toolbox)
    assert result.stop_reason == "completed" and toolbox.calls == []
    ((_, text, error),) = results(result.transcripts[1])
    assert error and "finish_reason 'length'" in text


def test_duplicate_call_ids_fail_the_activation_with_a_located_error(tmp_path: Path) -> None:
    twice = calls(call("add", {"a": 1, "b": 2}, "same"), call("add", {"a": 3, "b": 4}, "same"))
    provider = ScriptedTools({"worker": [twice]})
    toolbox = Toolbox()
    result = run(worker(tmp_path), provider, toolbox)
    assert result.stop_reason == "failed" and toolbox.calls == []
    assert result.errors["worker"] == (
        "InvalidResponse: provider 'lab': two tool calls of one answer share the id 'same'"
    )


def test_after_the_last_round_no_tool_may_be_called(tmp_path: Path) -> None:
    def answer(request: Request) -> Response:  # calls while it may; then it must answer
        may = request.tools and request.tool_choice == "auto"
        return calls(call("add", {"a": 1, "b": 1})) if may else says("enough")

    provider = ScriptedTools({"worker": [answer]})
    toolbox = Toolbox()
    result = run(worker(tmp_path, max_tool_rounds=3), provider, toolbox)
    assert result.stop_reason == "completed" and result.outputs == [("worker", "enough")]
    # the tools are still sent with the last turn (its transcript holds calls of theirs), as
    # context: the model may call none
    assert [r.tool_choice for r in provider.requests] == ["auto", "auto", "auto", "none"]
    assert all(r.tools for r in provider.requests)
    assert len(toolbox.calls) == 3
    last = provider.requests[-1]
    assert last.input_estimate == estimate_input(last.messages, last.tools)  # all of it counted
    well_formed(result.transcripts[1])


def test_a_model_that_only_calls_tools_after_the_last_round_fails(tmp_path: Path) -> None:
    forever = calls(call("add", {"a": 1, "b": 1}))
    provider = ScriptedTools({"worker": [forever]})
    toolbox = Toolbox()
    result = run(worker(tmp_path, max_tool_rounds=2), provider, toolbox)
    assert result.stop_reason == "failed"
    assert result.errors["worker"] == (
        "agent 'worker' still called tools after its 2 tool rounds (max_tool_rounds), "
        "with no answer"
    )
    assert len(provider.requests) == 3 and len(toolbox.calls) == 2


def test_emit_publishes_before_task_completed_and_drives_a_reader(tmp_path: Path) -> None:
    provider = ScriptedTools({
        "worker": [calls(call("emit", {"event": "Found", "payload": "a clue"})), says("done")],
        "reader": [says("read")],
    })  # fmt: skip
    result = run(worker(tmp_path), provider)  # no toolbox: emit is the kernel's own
    assert result.stop_reason == "completed"
    published = [(r["name"], r["source"]) for r in result.log if r["event"] == "published"]
    assert published == [("UserInput", None), ("Found", "worker")]
    kinds = [r["event"] for r in result.log if r.get("agent") == "worker" or "name" in r]
    assert kinds.index("completed") > kinds.index("tool")
    found_at = next(i for i, r in enumerate(result.log) if r.get("name") == "Found")
    completed_at = next(
        i for i, r in enumerate(result.log) if r["event"] == "completed" and r["agent"] == "worker"
    )
    assert found_at < completed_at  # in emission order, before its TaskCompleted
    (reader,) = [r for r in provider.requests if r.agent == "reader"]
    assert reader.messages[-1].content == "read it\n\na clue"
    assert result.status["reader"] == "done"
    again = run(worker(tmp_path), ScriptedTools(provider.script))
    assert json.dumps(again.log) == json.dumps(result.log)  # logical clock: byte for byte


def test_a_failed_activation_still_publishes_what_it_emitted(tmp_path: Path) -> None:
    provider = ScriptedTools({
        "worker": [calls(call("emit", {"event": "Found"}), call("add", {"a": 1, "b": 1}, "x"),
                         call("add", {"a": 1, "b": 1}, "x"))],
        "reader": [says("read")],
    })  # fmt: skip
    provider.script["worker"].insert(0, calls(call("emit", {"event": "Found"})))
    result = run(worker(tmp_path), provider)
    assert result.status["worker"] == "failed" and result.status["reader"] == "done"
    names = [r.get("name") or r["event"] for r in result.log if r.get("agent") != "reader"]
    assert names.index("Found") < names.index("failed")


def test_a_call_written_as_json_text_is_recovered_only_for_offered_names(tmp_path: Path) -> None:
    text = '```json\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n```'
    provider = ScriptedTools({"worker": [says(text), says("five")]})
    toolbox = Toolbox()
    result = run(worker(tmp_path), provider, toolbox)
    assert result.outputs == [("worker", "five")] and [c.name for c in toolbox.calls] == ["add"]
    assert results(result.transcripts[1]) == [("add", "5", False)]
    not_offered = '{"name": "secret", "arguments": {}}'
    provider = ScriptedTools({"worker": [says(not_offered)]})
    result = run(worker(tmp_path), provider, Toolbox())
    assert result.outputs == [("worker", not_offered)]  # the answer, not a call


def test_every_call_of_the_loop_is_estimated_with_its_tools(tmp_path: Path) -> None:
    provider = ScriptedTools({"worker": [calls(call("add", {"a": 1, "b": 2})), says("3")]})
    run(worker(tmp_path), provider, Toolbox())
    for request in provider.requests:
        assert request.input_estimate == estimate_input(request.messages, request.tools)
        assert request.input_estimate > estimate_input(request.messages) + 60  # the schemas
    first, second = provider.requests
    grew = second.input_estimate - first.input_estimate
    # the call (id, name, arguments) and its result (id, name, content) are counted
    assert grew >= len('{"a": 1, "b": 2}') + len("add") * 2 + len("id_add") * 2 + len("3")


def test_a_refused_follow_up_fails_with_a_well_formed_transcript(tmp_path: Path) -> None:
    provider = ScriptedTools({"worker": [calls(call("add", {"a": 1, "b": 2})), says("3")]})
    t = worker(tmp_path, budget=Budget(per_call=8192, per_execution=900, overflow_policy="abort"),
               sampling=dataclasses.replace(worker(tmp_path).agents[0].sampling,
                                            max_tokens=50))  # fmt: skip
    result = run(t, provider, Toolbox())
    assert result.stop_reason == "budget_exhausted", result.errors
    assert "budget refused a call of agent 'worker'" in result.errors["worker"]
    assert "per_execution" in result.errors["worker"] and len(provider.requests) == 1
    well_formed(result.transcripts[1])
    assert result.ledger.by_activation[1] <= 900


def test_a_tool_running_past_the_timeout_is_answered_and_fails_the_activation(
    tmp_path: Path,
) -> None:
    provider = ScriptedTools({"worker": [
        calls(call("slow", {}, "s1"), call("add", {"a": 1, "b": 1}, "a1")), says("never"),
    ]})  # fmt: skip
    toolbox = Toolbox(slow_s=30)
    result = run(worker(tmp_path, timeout=0.5), provider, toolbox, logical=False)
    assert result.stop_reason == "failed" and result.elapsed < 5
    assert result.errors["worker"] == "timed out after 0.5 s (1 attempt)"
    transcript = result.transcripts[1]
    well_formed(transcript)
    assert results(transcript) == [
        ("slow", "not finished: the activation's 0.5 s timeout passed", True),
        ("add", "2", False),
    ]


def test_tool_definitions_in_a_request_are_what_adapters_send(tmp_path: Path) -> None:
    """The Request carries ToolDefinitions as the port defines them."""
    provider = ScriptedTools({"worker": [says("ok")]})
    run(worker(tmp_path, tools=("add",)), provider, Toolbox())
    (request,) = provider.requests
    assert isinstance(request, Request) and request.tools == (ADD,)
    assert all(isinstance(d, ToolDefinition) for d in request.tools)
    assert isinstance(provider.script["worker"][0], Response)
