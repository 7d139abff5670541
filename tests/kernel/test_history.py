"""`Driver(history=...)`: a conversation's earlier turns go between the system prompt and the
input of the run's entry activations, and nowhere else; they count in the budget estimate."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver
from axoc.kernel.ports import Message
from tests.kernel.fakes import Scripted, table

CONFIG = """
providers:
  lab: {kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}
agents:
  - {id: first, provider: lab, model: m, system_prompt: "You are first."}
  - {id: second, provider: lab, model: m, depends_on: [first]}
workflows:
  - {id: w, agents: [first, second]}
"""
HISTORY = (Message("user", "earlier question"), Message("assistant", "earlier answer"))


def test_history_goes_to_entry_activations_only(tmp_path: Path) -> None:
    provider = Scripted()
    driver = Driver(table(tmp_path, CONFIG), {"lab": provider}, workflow="w", input="now?",
                    history=HISTORY)  # fmt: skip
    result = asyncio.run(driver.run())
    assert result.stop_reason == "completed"
    first, second = provider.requests
    assert [(m.role, m.content) for m in first.messages] == [
        ("system", "You are first."), ("user", "earlier question"),
        ("assistant", "earlier answer"), ("user", "now?"),
    ]  # fmt: skip
    assert [m.role for m in second.messages] == ["user"]  # a hand-off: no conversation
    assert "earlier" not in second.messages[0].content
    assert (
        first.input_estimate
        >= estimate_input(first.messages)
        > estimate_input(first.messages[:1] + first.messages[3:])
    )


def test_without_history_the_prompt_is_as_before(tmp_path: Path) -> None:
    provider = Scripted()
    asyncio.run(Driver(table(tmp_path, CONFIG), {"lab": provider}, workflow="w",
                       input="now?").run())  # fmt: skip
    assert [m.role for m in provider.requests[0].messages] == ["system", "user"]
