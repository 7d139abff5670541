"""Schedules of `axoc serve`: the timetable's policy with explicit times, a daemon in this
process on a test clock (fires on time; a simulated downtime skipped, or caught up once), and a
real daemon process firing a 1 s schedule."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from axoc.runnable import Target
from axoc.serve.daemon import Daemon
from axoc.serve.schedules import FILE, Fire, Timetable, seconds
from tests.serve.daemon import Served

MINUTE = 60.0


def every_minute(catch_up: bool = False) -> Fire:
    return Fire("schedule:s", Target(workflow="w"), "go", MINUTE, catch_up)


def test_intervals_in_seconds() -> None:
    assert [seconds(i) for i in ("30s", "05m", "2h", "1d")] == [30, 300, 7200, 86400]


def test_the_first_fire_is_one_interval_after_start_and_fires_stay_on_their_grid(
    tmp_path: Path,
) -> None:
    table = Timetable(tmp_path / FILE, [every_minute()], now=1000.0)
    assert table.due(1059.9) == [] and table.wake_at() == 1060.0
    fire = table.due(1060.0)
    assert fire == [every_minute()]
    table.fired(fire[0], now=1063.5)  # started late: the grid does not drift
    assert table.wake_at() == 1120.0
    assert json.loads((tmp_path / FILE).read_text()) == {"schedule:s": 1060.0}
    table.fired(every_minute(), now=1300.0)  # four minutes late: next slot still ahead
    assert table.wake_at() == 1360.0


def test_missed_fires_are_skipped_by_default(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text(json.dumps({"schedule:s": 1000.0}))
    table = Timetable(tmp_path / FILE, [every_minute()], now=1000.0 + 10 * MINUTE + 5)
    assert table.due(1000.0 + 10 * MINUTE + 5) == []
    assert table.skipped == {"schedule:s": 10}
    assert table.wake_at() == 1000.0 + 11 * MINUTE


def test_catch_up_runs_once_however_many_were_missed(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text(json.dumps({"schedule:s": 1000.0}))
    now = 1000.0 + 10 * MINUTE + 5
    table = Timetable(tmp_path / FILE, [every_minute(catch_up=True)], now=now)
    assert table.due(now) == [every_minute(catch_up=True)]
    table.fired(every_minute(catch_up=True), now)
    assert table.due(now) == [] and table.wake_at() == now + MINUTE


def test_an_unusable_record_starts_new_grids_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text("{torn")
    table = Timetable(tmp_path / FILE, [every_minute()], now=5.0)
    assert table.warning is not None and FILE in table.warning
    assert table.wake_at() == 65.0


class ManualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def scheduled(tmp_path: Path, catch_up: bool) -> Path:
    config = tmp_path / "scheduled.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo, model: m}\n"
        "workflows:\n  - {id: w, agents: [a]}\n"
        f"schedules:\n  - {{id: s, workflow: w, every: 1m, input: tick, catch_up: {str(catch_up).lower()}}}\n",
        encoding="utf-8",
    )
    return config


async def started_runs(daemon: Daemon, count: int, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(daemon.manager.runs) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return list(daemon.manager.runs)


@pytest.mark.parametrize("catch_up", [False, True])
def test_a_daemon_fires_on_its_clock_and_follows_the_policy_after_downtime(
    tmp_path: Path, catch_up: bool
) -> None:
    config = scheduled(tmp_path, catch_up)
    state = tmp_path / "state"
    clock = ManualClock(1_000_000.0)

    async def first_life() -> None:
        daemon = Daemon(str(config), state, 4, clock=clock)
        await daemon.start(daemon.compile())
        await asyncio.sleep(0.2)
        assert daemon.manager.runs == {}  # nothing fires at start
        clock.now += MINUTE
        daemon.wake()
        ids = await started_runs(daemon, 1)
        assert len(ids) == 1
        live = daemon.manager.runs[ids[0]]
        while not live.done:
            await asyncio.sleep(0.01)
        assert (live.target, live.status) == ("w", "completed")
        assert live.events[-1]["outputs"] == {"a": "a <- tick"}
        clock.now += 30  # half an interval: nothing more
        daemon.wake()
        await asyncio.sleep(0.2)
        assert len(daemon.manager.runs) == 1
        await daemon.stop()

    async def second_life() -> int:
        clock.now += 10 * MINUTE  # the daemon was down for ten minutes
        daemon = Daemon(str(config), state, 4, clock=clock)
        await daemon.start(daemon.compile())
        await asyncio.sleep(0.5)
        fired = len(daemon.manager.runs)
        await daemon.stop()
        return fired

    asyncio.run(first_life())
    assert asyncio.run(second_life()) == (1 if catch_up else 0)


def test_a_real_daemon_fires_a_one_second_schedule(tmp_path: Path) -> None:
    config = tmp_path / "tick.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo, model: m}\n"
        "workflows:\n  - {id: w, agents: [a]}\n"
        "schedules:\n  - {id: tick, workflow: w, every: 1s, input: tick}\n"
        "proactive:\n  - {id: p, agent: a, trigger: {type: schedule, every: 1s}, input: hey}\n",
        encoding="utf-8",
    )
    with Served(config, tmp_path / "state", "--dry-run") as served:
        listed = served.client.get("/schedules").json()
        assert {s["id"] for s in listed["schedules"]} == {"schedule:tick", "proactive:p"}
        assert all(listed["now"] < s["next"] <= listed["now"] + 1 for s in listed["schedules"])
        time.sleep(3.4)
        runs = served.client.get("/runs").json()["runs"]
    targets = [r["target"] for r in runs]
    assert 2 <= targets.count("w") <= 4 and 2 <= targets.count("agent:a") <= 4
