"""The value tuples the per-activation path builds with `tuple.__new__` (for speed, see
axoc.kernel.session.outcome_of) carry every field of their NamedTuple: a field added to one of them later
must be added there too, or this fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from axoc.kernel.core import Event, RunState, step
from axoc.kernel.driver import Driver
from axoc.kernel.executor import AsyncioExecutor
from axoc.kernel.index import RunIndex
from axoc.kernel.ports import Request, Response
from axoc.providers.echo import EchoProvider
from tests.kernel.fakes import table

CONFIG = """
agents:
  - {id: root, provider: echo, system_prompt: "be brief"}
  - {id: leaf, provider: echo, depends_on: [root]}
workflows:
  - {id: w, agents: [root, leaf]}
"""


def whole(value: Any) -> bool:
    return len(value) == len(type(value)._fields)


class Capturing(EchoProvider):
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.responses: list[Response] = []

    def complete_now(self, request: Request) -> Response:
        self.requests.append(request)
        self.responses.append(super().complete_now(request))
        return self.responses[-1]


def test_the_per_activation_tuples_are_whole(tmp_path: Path) -> None:
    t = table(tmp_path, CONFIG)
    activations = step(RunIndex(t, "w"), RunState(), [Event("UserInput", None, "go")], 0.0)
    assert activations and all(whole(a) for a in activations)

    provider = Capturing()
    driver = Driver(t, {"echo": provider}, workflow="w", input="go")
    driver.executor.submit(activations[0])  # answered in place: the fast path
    executor = driver.executor
    assert isinstance(executor, AsyncioExecutor) and len(executor.answered) == 1
    outcome = executor.answered[0]
    assert whole(outcome)
    assert all(whole(e) for e in driver._complete([outcome], []))
    leaf = driver.sessions.agents["leaf"]
    grant = driver.ledger.authorize(leaf, 2, provider.requests[0].messages)
    assert whole(grant)

    result = asyncio.run(Driver(t, {"echo": provider}, workflow="w", input="go").run())
    assert result.stop_reason == "completed"
    assert all(whole(r) and all(whole(m) for m in r.messages) for r in provider.requests)
    assert all(whole(r) and whole(r.usage) for r in provider.responses)
