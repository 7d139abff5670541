"""Benchmark the tool loop: whole-run overhead per activation when every activation makes two
model turns and one tool call, against LangGraph's prebuilt ReAct agent doing the same.

In: the shared workload generator (../shared/bench/gen.py, or $AXOC_SHARED_BENCH), the peers'
Python ($PEERENV/bin/python, default ~/.cache/axoc-peerenv, created as bench_run.py does when
missing). Out, on stdout, every figure from the same run:

- axoc: `gen.generate("layered", N)` compiled once, every agent granted one tool (`lookup`,
  from a toolbox answering "42" at once); a run is `asyncio.run(Driver(...).run())` with the
  echo provider, which calls the tool in its first turn and answers in its second: N
  activations, 2N model turns, N tool calls, all budget-checked. Driver construction included,
  the `RunIndex` built once (as bench_run.py does). Beside it, the same run without tools.
- LangGraph: `tests/bench/react_peer.py` in the peers' Python — `create_react_agent` built once,
  a fake chat model making one tool call then answering; one `invoke` per activation.

Both timed as peers.py times (one untimed run; then until 1 s or 1,000 runs, at least 3;
median). Ratio = LangGraph µs per activation ÷ axoc's. Goal: ≥ 20×. Checks: every axoc run
completes with N activations and N tool calls.

    python -m tests.bench.bench_tools [--n N] [--json OUT]

Exit status 0 when the checks and the goal pass, 1 otherwise, 2 when the peer cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from axoc.kernel.driver import Driver
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import ToolCall, ToolDefinition, ToolResult
from axoc.kernel.table import AgentSpec, SignalTable
from axoc.providers.echo import EchoProvider
from tests.bench.bench_check import load_gen
from tests.bench.bench_run import WORKFLOW, compile_workload, more_runs, peer_python

GOAL = 20.0  # LangGraph µs per activation ≥ this many times axoc's
LOOKUP = ToolDefinition(
    "lookup",
    "Look something up.",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)


class Lookup:
    def __init__(self) -> None:
        self.calls = 0

    def definitions(self, agent: AgentSpec) -> tuple[ToolDefinition, ...]:
        return (LOOKUP,)

    async def call(self, agent: AgentSpec, call: ToolCall) -> ToolResult:
        self.calls += 1
        return ToolResult("42")


def with_tool(table: SignalTable) -> SignalTable:
    agents = tuple(dataclasses.replace(a, tools=("lookup",)) for a in table.agents)
    return table.derived(agents=agents)


def timed(table: SignalTable, n: int, toolbox: Lookup | None) -> tuple[list[float], str]:
    """Runs as peers.py times them; the check ("ok" or what went wrong)."""
    index = RunIndex(table, WORKFLOW)

    def once() -> Any:
        driver = Driver(table, {"echo": EchoProvider()}, workflow=WORKFLOW, input="x",
                        keep_log=False, index=index, toolbox=toolbox)  # fmt: skip
        return asyncio.run(driver.run())

    result = once()
    check = "ok"
    if result.stop_reason != "completed" or result.activations != n:
        check = f"{result.stop_reason}, {result.activations} activations"
    elif toolbox is not None and toolbox.calls != n:
        check = f"{toolbox.calls} tool calls for {n} activations"
    runs: list[float] = []
    while more_runs(runs):
        started = time.perf_counter()
        once()
        runs.append(time.perf_counter() - started)
    return runs, check


def peer() -> dict[str, Any]:
    script = Path(__file__).with_name("react_peer.py")
    done = subprocess.run(
        [str(peer_python()), str(script)], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise SystemExit(f"bench_tools: the LangGraph peer failed:\n{done.stderr[-2000:]}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="activations per axoc run")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    gen = load_gen()
    with tempfile.TemporaryDirectory() as directory:
        plain = compile_workload(gen, "layered", args.n, Path(directory))
    tools = with_tool(plain)
    print(f"layered {args.n}: axoc with a tool loop...", file=sys.stderr, flush=True)
    loop_runs, check = timed(tools, args.n, Lookup())
    print("  axoc without tools...", file=sys.stderr, flush=True)
    plain_runs, plain_check = timed(plain, args.n, None)
    print("  langgraph create_react_agent...", file=sys.stderr, flush=True)
    try:
        langgraph = peer()
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"bench_tools: the LangGraph peer cannot run: {exc}", file=sys.stderr)
        return 2
    axoc_us = statistics.median(loop_runs) / args.n * 1e6
    plain_us = statistics.median(plain_runs) / args.n * 1e6
    ratio = langgraph["us_per_activation"] / axoc_us
    passed = check == "ok" and plain_check == "ok" and ratio >= GOAL
    print(f"\nTool loop, whole run, per activation (2 model turns + 1 tool call), layered {args.n}")
    print(
        f"  axoc, echo + toolbox      {axoc_us:9.1f} µs   ({len(loop_runs)} runs; check: {check})"
    )
    print(f"  axoc, same run, no tools  {plain_us:9.1f} µs   (check: {plain_check})")
    print(f"  langgraph {langgraph['version']:<8} ReAct  {langgraph['us_per_activation']:9.1f} µs"
          f"   ({langgraph['reps']} invokes)")  # fmt: skip
    print(f"  ratio LangGraph / axoc    {ratio:9.1f}×   goal ≥ {GOAL:g}×: "
          f"{'PASS' if passed else 'FAIL'}")  # fmt: skip
    if args.json is not None:
        figures = {"n": args.n, "axoc_us": axoc_us, "axoc_runs_s": loop_runs,
                   "axoc_plain_us": plain_us, "langgraph": langgraph, "ratio": ratio,
                   "goal": GOAL, "passed": passed, "check": check}  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
