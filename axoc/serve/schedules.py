"""When the daemon starts runs on its own: `schedules[]` and proactive schedule triggers.

In: the config (its enabled `schedules` — a workflow every interval — and its enabled
`proactive` entries with `trigger: {type: schedule}` — one agent alone every interval), the
state directory's `schedules.json` (when each last fired), and the time. Out: a `Timetable`
that says which are due and when the next one is, and records each fire.

The policy, decided here and documented in docs/serve.md:
- A schedule's first fire is one interval after the daemon first runs it (never at start).
- Fires are kept on their grid: the next is one interval after the slot that fired, not after
  the moment it fired, so a slow start does not make a schedule drift.
- Missed runs — the daemon was down when one or more slots passed: skipped by default (the next
  fire is the next slot still ahead, and the log says how many were skipped); with
  `catch_up: true` on the entry (or its trigger), one run at start however many were missed,
  and the grid starts again from it.
- `schedules.json` is written atomically after each fire, so a crash between a fire and its
  record at worst runs that slot again after the restart; it never loses the grid. Entries of
  schedules no longer in the config are dropped; a new entry starts its own grid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axoc.config import Config
from axoc.runnable import Target
from axoc.statedir import write_text

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FILE = "schedules.json"


def seconds(interval: str) -> int:
    """`30s`, `05m`, `2h`, `1d` (as the config's interval pattern allows) in seconds."""
    return int(interval[:-1]) * UNITS[interval[-1]]


@dataclass(frozen=True)
class Fire:
    """What one schedule starts, and how often."""

    id: str  # `schedule:<id>` or `proactive:<id>`
    target: Target
    input: str
    every: float
    catch_up: bool


def fires(config: Config) -> list[Fire]:
    """The enabled schedules and proactive schedule triggers of `config`."""
    found = [
        Fire(f"schedule:{s.id}", Target(workflow=s.workflow), s.input, seconds(s.every), s.catch_up)
        for s in config.schedules
        if s.enabled
    ]
    for p in config.proactive:
        if p.enabled and p.trigger.type == "schedule":
            every = seconds(p.trigger.every)
            fire = Fire(f"proactive:{p.id}", Target(agent=p.agent), p.input, every,
                        p.trigger.catch_up)  # fmt: skip
            found.append(fire)
    return found


class Timetable:
    """The next fire of each schedule; `last` is persisted in `path`."""

    def __init__(self, path: Path, schedules: Iterable[Fire], now: float) -> None:
        self.path = path
        self.schedules = {f.id: f for f in schedules}
        self.skipped: dict[str, int] = {}  # slots skipped while the daemon was down
        recorded, self.warning = _read(path)
        self.last = {k: v for k, v in recorded.items() if k in self.schedules}
        self.next: dict[str, float] = {}
        for fire in self.schedules.values():
            slot = self.last.get(fire.id)
            if slot is None or slot > now:  # new, or a clock that went back: a new grid
                self.next[fire.id] = now + fire.every
                continue
            due = slot + fire.every
            if due > now:
                self.next[fire.id] = due
                continue
            missed = math.floor((now - slot) / fire.every)  # >= 1
            if fire.catch_up:
                self.next[fire.id] = now
                self.skipped[fire.id] = missed - 1
            else:
                self.next[fire.id] = slot + (missed + 1) * fire.every
                self.skipped[fire.id] = missed

    def due(self, now: float) -> list[Fire]:
        """The schedules whose next fire is at or before `now`, soonest first."""
        ready = sorted((when, fid) for fid, when in self.next.items() if when <= now)
        return [self.schedules[fid] for _, fid in ready]

    def fired(self, fire: Fire, now: float) -> None:
        """`fire` ran for its slot: the next slot ahead of `now` on its grid, recorded."""
        slot = self.next[fire.id]
        self.last[fire.id] = slot
        ahead = slot + fire.every
        if ahead <= now:  # late by more than an interval (a slow start, a suspended machine)
            ahead = slot + (math.floor((now - slot) / fire.every) + 1) * fire.every
        self.next[fire.id] = ahead
        write_text(self.path, json.dumps(self.last, indent=1, sort_keys=True) + "\n")

    def wake_at(self) -> float | None:
        """When the next schedule is due; None when there is none."""
        return min(self.next.values(), default=None)

    def listing(self) -> list[dict[str, Any]]:
        """Each schedule with its target, interval and next fire (epoch seconds)."""
        return [
            {
                "id": f.id,
                "target": f.target.workflow or f"agent:{f.target.agent}",
                "every": f.every,
                "next": self.next[f.id],
                "last": self.last.get(f.id),
            }
            for f in self.schedules.values()
        ]


def _read(path: Path) -> tuple[dict[str, float], str | None]:
    """The recorded last fires, and a warning when the file is there and cannot be used: then
    every schedule starts a new grid (nothing runs twice; missed slots are not known)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"{path} cannot be read ({exc}); every schedule starts a new grid"
    if not isinstance(data, dict):
        return {}, f"{path} is not a JSON object; every schedule starts a new grid"
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }, None
