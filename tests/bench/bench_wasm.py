"""Benchmark WASM tools: one call of a cached module against the same logic as a plain Python
function, and the first-call compile cost.

In: examples/tools/echo.wat, compiled here with `wasmtime.wat2wasm`. Out, on stdout:

- compile: `axoc.tools.wasm.load` of the module the first time (reads and compiles it; the
  engine created before timing) — a fresh copy of the file each time, so the cache never hits;
  median of `--compiles` loads. Beside it, a cached load (the same file again).
- cached call: `await tool.run(arguments)` of the loaded tool — a fresh store, WASI set up,
  instantiation, `_start`, stdout parsed as JSON, in a worker thread (`asyncio.to_thread`), as
  the toolbox calls it; median of rounds of `--calls` calls. Beside it, the same call without
  the thread (`_Call.run` directly), and the same logic as a plain async Python function
  (`{"echo": arguments}` through JSON both ways, as the tool's bytes go).

Goal: a cached call under 1 ms. Check: every call answers `{"echo": arguments}`.

    python -m tests.bench.bench_wasm [--calls N] [--compiles N]

Exit status 0 when the check and the goal pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import wasmtime

from axoc.kernel.ports import ToolResult
from axoc.kernel.table import ToolLimits, ToolSpec
from axoc.tools import wasm

ROOT = Path(__file__).resolve().parents[2]
GOAL_MS = 1.0
ARGUMENTS = {"text": "the quick brown fox", "n": 3}
EXPECTED = json.dumps({"echo": ARGUMENTS})
LIMITS = ToolLimits(fuel=100_000_000, memory_mb=16, timeout_ms=5000)


async def python_echo(arguments: Mapping[str, Any]) -> ToolResult:
    stdin = json.dumps(arguments).encode()
    return ToolResult(json.dumps({"echo": json.loads(stdin)}))


def per_call_ms(run: Callable[[], Awaitable[ToolResult]], calls: int, rounds: int = 5) -> float:
    async def timed() -> float:
        for _ in range(min(calls, 50)):  # warm up
            assert (await run()).content == EXPECTED
        medians = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                result = await run()
            medians.append((time.perf_counter() - start) / calls * 1000)
            assert result.content == EXPECTED, result
        return statistics.median(medians)

    return asyncio.run(timed())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_wasm")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--compiles", type=int, default=5)
    args = parser.parse_args(argv)
    binary = wasmtime.wat2wasm((ROOT / "examples" / "tools" / "echo.wat").read_text())
    wasm.engine()  # created once per process: not part of a compile
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        loads = []
        for i in range(args.compiles):
            (base / f"echo{i}.wasm").write_bytes(binary)
            spec = ToolSpec("echo", "wasm", f"echo{i}.wasm", "", {"type": "object"}, LIMITS)
            start = time.perf_counter()
            tool = wasm.load(spec, base)
            loads.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        tool = wasm.load(spec, base)
        cached_load = (time.perf_counter() - start) * 1000
        module = wasm.compiled("echo", base / spec.module)
        call = wasm._Call("echo", module, *LIMITS_ARGS, wasm._prepared(module))
        stdin = json.dumps(ARGUMENTS).encode()

        async def in_thread() -> ToolResult:
            return await tool.run(ARGUMENTS)

        async def no_thread() -> ToolResult:
            return call.run(stdin)

        async def plain() -> ToolResult:
            return await python_echo(ARGUMENTS)

        cached = per_call_ms(in_thread, args.calls)
        direct = per_call_ms(no_thread, args.calls)
        python = per_call_ms(plain, args.calls * 10)
    print(f"wasmtime {importlib.metadata.version('wasmtime')}")
    print(
        f"first load (read + compile), median of {args.compiles}: {statistics.median(loads):.2f} ms"
    )
    print(f"load of a cached module:                  {cached_load:.3f} ms")
    print(f"cached call, as the toolbox makes it (worker thread): {cached:.3f} ms")
    print(f"cached call, in the caller's thread:                  {direct:.3f} ms")
    print(f"same logic as a plain Python function:                {python * 1000:.1f} µs")
    ok = cached < GOAL_MS
    print(f"goal: cached call < {GOAL_MS} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


LIMITS_ARGS = (LIMITS.fuel, LIMITS.memory_mb * wasm.MIB, LIMITS.timeout_ms)

if __name__ == "__main__":
    sys.exit(main())
