"""The kernel's memory port (`MemoryPort`): a session of an agent the memory `uses` gets the
memory's context at the end of its system prompt (a system message made when the agent has no
system prompt) before its first call, and gives its answer to `remember`; an agent the memory
does not use is untouched; an instant provider (echo) no longer answers such an agent in place;
a memory that raises is a `memory_error` record and the activation still answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axoc.kernel.driver import Driver
from axoc.kernel.ports import Request, Response, Usage
from axoc.kernel.table import AgentSpec
from tests.kernel.fakes import Scripted, table

CONFIG = """\
agents:
  - {id: a, provider: echo, system_prompt: You are a.}
  - {id: b, provider: echo, depends_on: [a]}
  - {id: c, provider: echo, depends_on: [b], system_prompt: You are c.}
workflows: [{id: w, agents: [a, b, c]}]
"""


class Notebook:
    """A memory for agents a and b: their context names the prompt; answers are kept."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.remembered: list[tuple[str, str, str]] = []

    def uses(self, agent: AgentSpec) -> bool:
        return agent.id in ("a", "b")

    async def context(self, agent: AgentSpec, prompt: str) -> str:
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("the memory folder is gone")
        return f"## Core Memory\n{agent.id} remembers ({len(prompt)} characters asked)"

    async def remember(self, agent: AgentSpec, prompt: str, answer: str) -> None:
        self.remembered.append((agent.id, prompt, answer))


def system_of(request: Request) -> str | None:
    first = request.messages[0]
    return first.content if first.role == "system" else None


def test_context_goes_into_the_system_prompt_and_answers_are_remembered(tmp_path: Path) -> None:
    provider, memory = Scripted(), Notebook()
    driver = Driver(table(tmp_path, CONFIG), {"echo": provider}, workflow="w", input="hello",
                    memory=memory)  # fmt: skip
    result = asyncio.run(driver.run())
    assert result.exit_code == 0
    sent = {r.agent: system_of(r) for r in provider.requests}
    assert sent["a"] == "You are a.\n\n## Core Memory\na remembers (5 characters asked)"
    assert sent["b"] is not None and sent["b"].startswith("## Core Memory\nb remembers")
    assert sent["c"] == "You are c."  # not an agent of the memory: its prompt is unchanged
    assert [(agent, answer) for agent, _, answer in memory.remembered] == [
        ("a", "a:1"),
        ("b", "b:1"),
    ]
    assert memory.remembered[0][1] == "hello"


class Instant:
    """An in-process provider (the echo kind): answers without I/O."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def complete_now(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(f"{request.agent} said", Usage(1, 1))

    async def complete(self, request: Request) -> Response:
        return self.complete_now(request)

    async def aclose(self) -> None:
        return None


def test_an_instant_provider_still_gets_the_memory_and_a_failing_memory_fails_nothing(
    tmp_path: Path,
) -> None:
    provider, memory = Instant(), Notebook()
    driver = Driver(table(tmp_path, CONFIG), {"echo": provider}, workflow="w", input="hi",
                    memory=memory)  # fmt: skip
    assert asyncio.run(driver.run()).exit_code == 0
    assert "a remembers" in (system_of(provider.requests[0]) or "")
    assert len(memory.remembered) == 2
    failing, records = Notebook(fail=True), []
    driver = Driver(table(tmp_path, CONFIG), {"echo": Instant()}, workflow="w", input="hi",
                    memory=failing, listener=records.append)  # fmt: skip
    result = asyncio.run(driver.run())
    assert result.exit_code == 0 and result.outputs
    errors = [r for r in records if r.get("event") == "memory_error"]
    assert [(r["agent"], r["error"]) for r in errors] == [
        ("a", "OSError: the memory folder is gone"), ("b", "OSError: the memory folder is gone")
    ]  # fmt: skip
