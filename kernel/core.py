"""The lattice core: a deterministic state machine executing a signal table, one run at a time.

In: a `RunIndex` (the table seen from one run), the run's `RunState`, a batch of events and the
kernel time `now` in seconds. Out: the activations the batch triggers, in order. `step` performs
no I/O and reads no clock: the same state, events and times give the same activations, byte for
byte. It mutates the state it is given.

Arithmetic (docs/lattice.md): before adding, a unit's level decays `I ← I·e^(−λΔt)`; the
route's weight is added; at `I ≥ θ` the unit fires and `I ← 0`. Once-units (entry, deps, act)
fire at most once per run, and the first of an agent's once-units to fire spends the others;
latched units count each route once; a unit in cooldown ignores events; the run's
`max_activations` caps every firing. When an agent fails or is skipped, `settle` marks at once
every agent that can no longer fire as skipped.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import NamedTuple

from axoc.kernel.index import RunIndex
from axoc.kernel.table import Route, Unit

EPSILON = 1e-9  # thresholds are compared with this slack against float rounding


class Event(NamedTuple):  # immutable, and five times cheaper to create than a frozen dataclass
    name: str
    source: str | None  # an agent id, a skill id (SkillFired), a trigger id (ScheduleTick)
    payload: str = ""


class Activation(NamedTuple):
    seq: int  # 1, 2, 3... in the order the run started them: the deterministic tie-breaker
    agent: str
    unit: str
    kind: str  # entry | deps | act | skill | proactive
    trigger: Event
    at: float  # kernel time
    skill: str | None = None
    proactive: str | None = None


class Status(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


# An enum member read from its class is a slow lookup (the class's metaclass is not `type`);
# these are read once per activation.
RUNNING, DONE = Status.RUNNING, Status.DONE


@dataclass
class RunState:
    """Everything that changes during a run. Invariant: an agent in `spent` has no once-unit
    that may fire again in this run; `level[u]` is the value at time `updated[u]`."""

    level: dict[str, float] = field(default_factory=dict)
    updated: dict[str, float] = field(default_factory=dict)
    counted: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)
    cooldown_until: dict[str, float] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    status: dict[str, Status] = field(default_factory=dict)
    activations: int = 0
    capped: bool = False  # a unit reached θ after max_activations: the run stops with that reason


def snapshot(state: RunState) -> dict[str, object]:
    """The run's accumulators as plain JSON values, in a canonical order: what a journal keeps
    to check that a replay rebuilt the same lattice. Spent agents and statuses are left out:
    they follow from the outcomes the journal records."""
    return {
        "activations": state.activations,
        "capped": state.capped,
        "level": dict(sorted(state.level.items())),
        "updated": dict(sorted(state.updated.items())),
        "counted": {
            unit: sorted(([e, s] for e, s in keys), key=lambda key: (key[0], key[1] or ""))
            for unit, keys in sorted(state.counted.items())
        },
        "cooldown": dict(sorted(state.cooldown_until.items())),
    }


def step(index: RunIndex, state: RunState, events: list[Event], now: float) -> list[Activation]:
    """Publish `events` (in order) at time `now`; return the activations they trigger."""
    fired: list[Activation] = []
    spent, counted, levels = state.spent, state.counted, state.level
    for event in events:
        for unit, weight, key, join in index.matching(event.name, event.source):
            if not join:
                activation = _deliver(index, state, unit, weight, key, event, now)
                if activation is not None:
                    fired.append(activation)
                continue
            # A join (once, latched, no decay, no cooldown: every `depends_on` unit) is the
            # common case, so it is delivered here, inline: the same arithmetic as `_deliver`
            # without its call and the branches that cannot apply.
            if unit.agent in spent:
                continue
            uid = unit.id
            if key is not None:  # a key that may come again: counted once (None: comes once)
                seen = counted.get(uid)
                if seen is not None and key in seen:
                    continue
            level = levels.get(uid, 0.0) + weight
            if level < unit.threshold - EPSILON:
                levels[uid] = level
            elif state.activations < index.max_activations:
                levels.pop(uid, None)  # a level of 0 is stored as no level
                fired.append(_fire(state, unit, event, now))
                continue  # a once-unit that fires is spent: nothing more to count
            else:
                state.capped = True  # reached θ after max_activations
                levels.pop(uid, None)
            if key is None:
                continue
            if seen is None:
                counted[uid] = {key}
            else:
                seen.add(key)
    return fired


def _deliver(
    index: RunIndex,
    state: RunState,
    unit: Unit,
    weight: float,
    key: tuple[str, str | None] | None,
    event: Event,
    now: float,
) -> Activation | None:
    uid = unit.id
    once = unit.once
    if once and unit.agent in state.spent:
        return None
    # A key of None comes once (see axoc.kernel.index): nothing to count.
    seen = state.counted.get(uid) if unit.latch and key is not None else None
    if seen is not None and key in seen:
        return None
    if unit.cooldown and now < state.cooldown_until.get(uid, -math.inf):
        return None
    level = state.level.get(uid, 0.0)
    if level and unit.decay > 0:
        level *= math.exp(-unit.decay * (now - state.updated.get(uid, now)))
    level += weight
    if unit.decay > 0:
        state.updated[uid] = now
    fires = level >= unit.threshold - EPSILON and state.activations < index.max_activations
    # A once-unit that fires is spent: recording what it counted would be wasted work.
    if unit.latch and key is not None and not (fires and once):
        if seen is None:
            seen = state.counted[uid] = set()
        seen.add(key)
    if not fires:
        if level >= unit.threshold - EPSILON:
            state.capped = True  # reached θ after max_activations
            state.level.pop(uid, None)
        else:
            state.level[uid] = level
        return None
    state.level.pop(uid, None)  # a level of 0 is stored as no level
    return _fire(state, unit, event, now)


def _fire(state: RunState, unit: Unit, event: Event, now: float) -> Activation:
    state.activations += 1
    if unit.once:
        state.spent.add(unit.agent)
        state.counted.pop(unit.id, None)  # never read again: free it now, not with the run
    if unit.cooldown:
        state.cooldown_until[unit.id] = now + unit.cooldown
    state.status[unit.agent] = RUNNING
    # Once per activation, so built as `tuple.__new__` does it, in C: every field, in order,
    # without the Python-level `__new__` of the NamedTuple (which costs twice as much).
    return tuple.__new__(
        Activation,
        (state.activations, unit.agent, unit.id, unit.kind, event, now, unit.skill, unit.proactive),
    )


def settle(index: RunIndex, state: RunState, agent: str) -> list[str]:
    """After `agent` failed or was skipped: mark every agent that can no longer fire in this run
    as skipped, transitively, and return them in the order they were found."""
    skipped: list[str] = []
    pending = [agent]
    while pending:
        source = pending.pop()
        for candidate in sorted(index.fed_by.get(source, ())):
            if candidate in state.spent or not _dead(index, state, candidate):
                continue
            state.spent.add(candidate)
            state.status[candidate] = Status.SKIPPED
            skipped.append(candidate)
            pending.append(candidate)
    return skipped


def _dead(index: RunIndex, state: RunState, agent: str) -> bool:
    """No once-unit of `agent` can reach its threshold with the inputs still to come."""
    units = index.once_units.get(agent, ())
    return bool(units) and all(not _can_fire(index, state, unit) for unit in units)


def _can_fire(index: RunIndex, state: RunState, unit: Unit) -> bool:
    level = state.level.get(unit.id, 0.0)
    seen = state.counted.get(unit.id, set())
    possible = sum(
        route.weight
        for route in index.routes_of[unit.id]
        if (route.event, route.source) not in seen and _may_arrive(index, state, route)
    )
    return level + possible >= unit.threshold - EPSILON


def _may_arrive(index: RunIndex, state: RunState, route: Route) -> bool:
    source = route.source
    if source is None or source not in index.members:
        return True  # any source, or a skill/trigger id: cannot be ruled out
    if source in index.reactive_agents:
        return True  # may run again through a skill or trigger
    status = state.status.get(source, Status.WAITING)
    if status in (Status.WAITING, Status.RUNNING):
        return True
    if status is Status.DONE:
        return route.event not in ("AgentFailed", "TaskCompleted", "AgentActivated")
    return False  # failed or skipped: it publishes nothing more
