"""The clock port: what a run's scheduler and sessions read the time from.

In: nothing but the process's monotonic clock. Out: two readings, kept apart on purpose:
- `now`, the **kernel time** of the current tick — what the core's decay sees and what the
  journal's `tick` records hold. The scheduler moves it once per batch (`tick`, `tick_to`).
- `monotonic()`, **real seconds**, for what must pass in real time whatever the clock: an
  agent's timeout, the backoff between retries, the restart intensity, a workflow's timeout.

Two implementations:
- `WallClock`: kernel time is the seconds since the run started; a record is stamped with the
  time it happened (`stamp()` reads the clock again).
- `LogicalClock`: kernel time is a tick counter, an activation of agent `a` completes
  `durations.get(a, 1)` ticks after it started, and every record is stamped with the kernel
  time, so the same inputs give the same event log byte for byte. The scheduler completes
  activations in tick order (`logical` is True) rather than as they finish.

Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol


class Clock(Protocol):
    logical: bool  # completions are delivered in tick order, not as they finish
    now: float  # kernel time of the current tick

    def start(self) -> None:
        """The run starts now."""

    def monotonic(self) -> float:
        """Real seconds, for deadlines and waits."""

    def elapsed(self) -> float:
        """Real seconds since the run started (its recorded time, when resumed); 0 before."""

    def stamp(self) -> float:
        """The time of a record happening now."""

    def finish(self, agent: str) -> float:
        """The kernel time an activation of `agent` starting now completes at (the order of
        the scheduler's queue; with the wall clock only an order, as tasks end when they end)."""

    def tick(self) -> None:
        """A batch arrived now (wall clock): kernel time catches up with real time."""

    def tick_to(self, when: float) -> None:
        """A batch is delivered at kernel time `when` (logical clock, or a replayed tick)."""

    def resume_at(self, when: float) -> None:
        """A replayed tick recorded at `when`: the run's time continues from there."""


class WallClock:
    logical = False

    def __init__(self) -> None:
        self.now = 0.0
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()

    def monotonic(self) -> float:
        return time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    def stamp(self) -> float:
        return time.monotonic() - self._started

    def finish(self, agent: str) -> float:
        return self.now + 1

    def tick(self) -> None:
        self.now = time.monotonic() - self._started

    def tick_to(self, when: float) -> None:
        self.now = when

    def resume_at(self, when: float) -> None:
        self.now = when
        self._started = time.monotonic() - when  # wall time continues from the recorded time


class LogicalClock(WallClock):
    logical = True

    def __init__(self, durations: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.durations = durations or {}

    def stamp(self) -> float:
        return self.now

    def finish(self, agent: str) -> float:
        return self.now + self.durations.get(agent, 1)

    def tick(self) -> None:  # kernel time moves only with `tick_to`
        return None
