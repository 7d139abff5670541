"""The kernel's driver for a run — made here and nowhere else — and the run on an event loop.

In: the table, its providers, the started run (target, input, journal, checkpoints, replay,
seed, toolbox) and the listener. Out: the driver, and `execute`, which runs it to its
`RunResult` with SIGTERM handled as Ctrl-C is (the main task cancelled: the run stops,
resumable), the live status redrawn while calls are out, and every provider closed at the end,
however it ends.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from axoc import process, telemetry
from axoc.kernel.checkpoint import Checkpointer
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.durable import Recorder
from axoc.kernel.ports import Provider
from axoc.kernel.table import SignalTable
from axoc.runtime.startup import Started
from axoc.runtime.terminal import Live


def make_driver(
    table: SignalTable, built: dict[str, Provider], run: Started,
    listener: Callable[[dict[str, Any]], None],
    checkpointer: Checkpointer,
) -> Driver:  # fmt: skip
    """The one place a run's `Driver` is made; traced when the `OTEL_*` variables ask for it
    (`axoc.telemetry`)."""
    toolbox = run.toolbox
    target = run.workflow or (f"fire:{run.skill}" if run.skill else "run")
    traced = telemetry.tracing(table, run.run_id, target)
    if traced is not None:
        listener = traced.listener(listener)
        built = {name: traced.provider(p, name) for name, p in built.items()}
        toolbox = traced.toolbox(toolbox) if toolbox is not None else None
    return Driver(
        table, built, workflow=run.workflow, skill=run.skill, input=run.input,
        listener=listener, keep_log=False,
        recorder=Recorder(run.writer, checkpointer, run.run_id), replay=run.replay, seed=run.seed,
        toolbox=toolbox, history=run.history, memory=run.memory,
    )  # fmt: skip


def execute(driver: Driver, built: dict[str, Provider], live: Live | None) -> RunResult:
    """The run to its end, on a new event loop."""
    return asyncio.run(_run(driver, built, live))


async def _run(driver: Driver, built: dict[str, Provider], live: Live | None) -> RunResult:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    try:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
        terminable = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread; Windows
        terminable = False
    ticker = asyncio.create_task(_tick(live, driver)) if live is not None else None
    process.settle()  # the run collects its garbage; the compiled config is frozen out of it
    try:
        return await driver.run()
    finally:
        if terminable:
            loop.remove_signal_handler(signal.SIGTERM)
        if ticker is not None:
            ticker.cancel()
        for provider in {id(p): p for p in built.values()}.values():
            await provider.aclose()


async def _tick(live: Live, driver: Driver) -> None:
    while True:
        await asyncio.sleep(Live.TICK)
        live.draw(driver.elapsed())
