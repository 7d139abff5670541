"""A run with a tool loop, journaled and checkpointed as `axoc run` does it: used in-process by
tests/kernel/test_tool_resume.py, and as a real process killed with SIGKILL by
tests/test_crash.py (`python -m tests.kernel.toolrun STATE [--delay S]`: runs, or resumes the
run whose journal STATE holds; every model call and tool call it makes is appended to
STATE/calls.log, one JSON line each, flushed, before it is made).

Each of `WORKERS` agents answers from its transcript: it calls `add` (its arguments numbered by
the results it holds), twice, in separate turns, then answers the sum of what it got (30);
`total` answers the sum of the workers' answers in its hand-off. The answers depend only on the transcript, so a resumed run gets the
answers an uninterrupted one gets."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path

from axoc.kernel.budget import estimate_input
from axoc.kernel.checkpoint import Checkpointer, CheckpointStore
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.durable import Recorder, Replay
from axoc.kernel.journal import Writer, read
from axoc.kernel.ports import (
    Request,
    Response,
    ToolCall,
    ToolDefinition,
    ToolResult,
    Usage,
)
from axoc.kernel.table import AgentSpec, SignalTable
from axoc.pipeline import STAGES, compile_file

WORKERS = 6
RUN_ID = "toolrun"
ADD = ToolDefinition(
    "add", "Add.", {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
)


def config() -> str:
    agents = "".join(
        f"  - {{id: w{i}, provider: lab, model: m, tools: [add]}}\n" for i in range(WORKERS)
    )
    members = ", ".join(f"w{i}" for i in range(WORKERS))
    return (
        "providers:\n  lab: {kind: openai_compatible, base_url: 'http://127.0.0.1:9/v1'}\n"
        f"agents:\n{agents}"
        "  - {id: total, provider: lab, model: m, depends_on: [" + members + "]}\n"
        f"workflows:\n  - {{id: w, agents: [{members}, total]}}\n"
    )


def compiled(folder: Path) -> SignalTable:
    path = folder / "toolrun.axoc.yaml"
    path.write_text(config(), encoding="utf-8")
    unit = compile_file(str(path), os.environ, STAGES[:-1])
    assert unit.lowered is not None, unit.diagnostics
    return unit.lowered.table


class Log:
    def __init__(self, path: Path | None) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if path else None
        self.lines: list[dict[str, object]] = []

    def write(self, **line: object) -> None:
        self.lines.append(line)
        if self.fd is not None:
            os.write(self.fd, (json.dumps(line) + "\n").encode())


class Model:
    """The workers' model: two `add` calls in two turns, then the sum; `total` echoes."""

    def __init__(self, log: Log, delay: float = 0.0, hang_at_turn: int | None = None) -> None:
        self.log, self.delay, self.hang_at_turn = log, delay, hang_at_turn
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        got = [m.content for m in request.messages if m.role == "tool"]
        self.log.write(kind="model", agent=request.agent, turn=len(got) + 1)
        if self.hang_at_turn == len(got) + 1:
            await asyncio.Event().wait()
        await asyncio.sleep(self.delay)
        if request.agent == "total":  # the sum of the workers' sums, from its hand-off
            found = re.findall(r"\]: w\d+: (\d+)", request.messages[-1].content)
            return self._answer(request, f"total: {sum(map(int, found))}", ())
        if len(got) == 2:
            return self._answer(request, f"{request.agent}: {sum(int(g) for g in got)}", ())
        call = ToolCall(f"{request.agent}-{len(got) + 1}", "add", json.dumps({"n": len(got) + 1}))
        return self._answer(request, "", (call,))

    @staticmethod
    def _answer(request: Request, text: str, calls: tuple[ToolCall, ...]) -> Response:
        output = len(text) + sum(len(c.arguments) for c in calls)
        usage = Usage(request.input_estimate or estimate_input(request.messages), output)
        return Response(text, usage, "m", "tool_calls" if calls else "stop", calls)

    async def aclose(self) -> None:
        return None


class Tools:
    def __init__(self, log: Log, delay: float = 0.0) -> None:
        self.log, self.delay = log, delay
        self.calls: list[ToolCall] = []

    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        return (ADD,)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        self.calls.append(call)
        self.log.write(kind="tool", agent=agent.id, id=call.id)
        await asyncio.sleep(self.delay)
        return ToolResult(str(10 * json.loads(call.arguments)["n"]))


def run(state: Path, model: Model, tools: Tools, table: SignalTable | None = None) -> RunResult:
    """Run, or resume the run whose journal `state` holds; the result."""
    journal = state / "journal.jsonl"
    store = CheckpointStore(state / "checkpoints")
    replay = None
    if journal.exists():
        replay = Replay.of(read(journal).records, store, RUN_ID)
        writer = Writer(journal)
    else:
        writer = Writer(journal, {"run_id": RUN_ID})
    checkpointer = Checkpointer(store)
    driver = Driver(
        table or compiled(state), {"lab": model}, workflow="w", input="sum it",
        recorder=Recorder(writer, checkpointer, RUN_ID), replay=replay, toolbox=tools,
        keep_log=False,
    )  # fmt: skip
    try:
        return asyncio.run(driver.run())
    finally:
        checkpointer.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("state", type=Path)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    log = Log(args.state / "calls.log")
    result = run(args.state, Model(log, args.delay), Tools(log, args.delay))
    print(json.dumps({"stop": result.stop_reason, "outputs": result.outputs,
                      "used": result.ledger.used}))  # fmt: skip
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
