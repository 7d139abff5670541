"""The kernel's driver for a run — made here and nowhere else — and the run on an event loop.

In: the table, its providers, the started run (target, input, journal, checkpoints, replay,
seed, toolbox) and the listener. Out: the driver, and `execute`, which runs it to its
`RunResult` with SIGTERM handled as Ctrl-C is (the main task cancelled: the run stops,
resumable), the live status redrawn while calls are out, and every provider closed at the end,
however it ends.

The toolbox's MCP servers start on the run's loop before the driver's first activation and
stop at its end, however it ends. Their tools' digests are recorded in the journal (a `tools`
record, `{name: digest}`); a resumed run compares them with the last one recorded, and one that
changed refuses the resume (`RunRefused`, code `tool_changed`). A server that cannot start
refuses the run (`RunRefused`, code `tool`) before anything is activated; its record stays,
resumable.
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
from axoc.runnable import RunRefused
from axoc.runtime.startup import Started
from axoc.runtime.terminal import Live
from axoc.tools.toolbox import Toolbox, ToolsError


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


def execute(
    driver: Driver, built: dict[str, Provider], live: Live | None, run: Started | None = None
) -> RunResult:
    """The run to its end, on a new event loop."""
    return asyncio.run(_run(driver, built, live, run))


async def _run(
    driver: Driver, built: dict[str, Provider], live: Live | None, run: Started | None
) -> RunResult:
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
    toolbox = run.toolbox if run is not None else None
    try:
        if toolbox is not None and run is not None:
            await start_tools(toolbox, run)
        return await driver.run()
    finally:
        if terminable:
            loop.remove_signal_handler(signal.SIGTERM)
        if ticker is not None:
            ticker.cancel()
        if toolbox is not None:
            await toolbox.aclose()
        for provider in {id(p): p for p in built.values()}.values():
            await provider.aclose()


async def start_tools(toolbox: Toolbox, run: Started) -> None:
    """Start the MCP servers; record their tools' digests, or compare them with the recorded
    ones when resuming. `_run` calls it, and `axoc serve` for each run it drives; whoever calls
    it closes the toolbox (`aclose`) when the run ends."""
    try:
        digests = await toolbox.start()
    except ToolsError as exc:
        raise RunRefused(str(exc), "tool") from None
    if run.tool_digests is not None:
        changed = sorted(
            name
            for name in {*digests, *run.tool_digests}
            if name in run.tool_digests and digests.get(name) != run.tool_digests[name]
        )
        if changed:
            raise RunRefused(
                f"cannot resume {run.run_id}: the definition of MCP tool "
                f"{', '.join(repr(n) for n in changed)} changed since the run started "
                "(its server now describes it differently)",
                "tool_changed",
            )
    if digests and digests != run.tool_digests:
        run.writer.append("tools", digests=digests)


async def _tick(live: Live, driver: Driver) -> None:
    while True:
        await asyncio.sleep(Live.TICK)
        live.draw(driver.elapsed())
