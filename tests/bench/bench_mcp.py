"""Benchmark MCP tools: one stdio round trip (a call of a trivial tool) against a plain Python
call, and what starting a server costs.

In: examples/tools/mcp_server.py, started with this Python. Out, on stdout:

- SDK import: the client's `import mcp` (once per run that starts servers; `check` and `plan`
  never pay it).
- start: `Servers.start()` — the server's process started, `initialize`, `tools/list`, the
  offered tool made — until ready; median of `--starts` starts (each stopped after).
- stop: `Servers.aclose()` of a started server (stdin closed, the process waited for).
- round trip, as the toolbox makes it: `await tool.run({"a": 1, "b": 2})` of `add` — the
  re-list that guards against a changed definition, then `tools/call`; median of rounds of
  `--calls` calls. Beside it: the `tools/call` alone, the `tools/list` alone, and the same
  logic as a plain async Python function.

Check: every call answers `3.0`. Exit status 0 when it holds, 1 otherwise.

    python -m tests.bench.bench_mcp [--calls N] [--starts N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from axoc.kernel.ports import ToolResult
from axoc.kernel.table import McpServerSpec
from axoc.tools.mcp import Servers

ROOT = Path(__file__).resolve().parents[2]
SERVER = McpServerSpec(
    "text", "stdio", sys.executable, (str(ROOT / "examples" / "tools" / "mcp_server.py"),),
    {}, None, {},
)  # fmt: skip
ARGUMENTS = {"a": 1, "b": 2}
EXPECTED = "3.0"


async def plain_add(arguments: Mapping[str, Any]) -> ToolResult:
    return ToolResult(str(float(arguments["a"] + arguments["b"])))


async def per_call_ms(run: Callable[[], Awaitable[Any]], calls: int, rounds: int = 5) -> float:
    for _ in range(min(calls, 20)):  # warm up
        await run()
    medians = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            await run()
        medians.append((time.perf_counter() - start) / calls * 1000)
    return statistics.median(medians)


def servers() -> Servers:
    return Servers((SERVER,), frozenset({"mcp__text__add"}), {}, os.environ)


async def measure(calls: int, starts: int) -> tuple[list[float], list[float], dict[str, float]]:
    start_ms, stop_ms = [], []
    for _ in range(starts):
        run = servers()
        began = time.perf_counter()
        await run.start()
        start_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        await run.aclose()
        stop_ms.append((time.perf_counter() - began) * 1000)
    run = servers()
    (tool,) = await run.start()
    connection = run.connections["text"]
    try:
        assert (await tool.run(ARGUMENTS)).content == EXPECTED
        results: list[str] = []

        async def toolbox() -> None:
            results.append((await tool.run(ARGUMENTS)).content)

        async def call_only() -> None:
            await connection.session.call_tool("add", dict(ARGUMENTS))

        async def list_only() -> None:
            await connection.verify()

        async def plain() -> None:
            results.append((await plain_add(ARGUMENTS)).content)

        figures = {
            "toolbox": await per_call_ms(toolbox, calls),
            "call": await per_call_ms(call_only, calls),
            "list": await per_call_ms(list_only, calls),
            "plain": await per_call_ms(plain, calls * 100),
        }
        assert set(results) == {EXPECTED}, set(results)
    finally:
        await run.aclose()
    return start_ms, stop_ms, figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_mcp")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    import mcp.client.stdio  # noqa: F401  (what the first start of a run imports)

    imported = (time.perf_counter() - began) * 1000
    try:
        start_ms, stop_ms, f = asyncio.run(measure(args.calls, args.starts))
    except AssertionError as failed:
        print(f"check failed: {failed}")
        return 1
    print(f"mcp {importlib.metadata.version('mcp')}, Python {sys.version.split()[0]}")
    print(f"client SDK import (once per run with servers):        {imported:.0f} ms")
    print(f"server start + initialize + tools/list, median of {args.starts}: "
          f"{statistics.median(start_ms):.0f} ms")  # fmt: skip
    print(f"server stop, median of {args.starts}:                        "
          f"{statistics.median(stop_ms):.0f} ms")  # fmt: skip
    print(f"round trip as the toolbox makes it (re-list + call): {f['toolbox']:.2f} ms")
    print(f"tools/call alone:                                   {f['call']:.2f} ms")
    print(f"tools/list alone (the rug-pull guard):              {f['list']:.2f} ms")
    print(f"same logic as a plain Python function:              {f['plain'] * 1000:.2f} µs")
    print(f"ratio: round trip / plain Python call = {f['toolbox'] / f['plain']:,.0f}x; "
          f"re-list share of the round trip = {f['list'] / f['toolbox']:.0%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
