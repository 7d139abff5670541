"""A call's input estimate is `budget.estimate_input` of the messages actually sent — with
non-ASCII outputs, failed dependencies, agents that answer again, skills and system prompts.
(An estimate counted from cached sizes of the hand-off's parts was tried for speed, and was
slower; this keeps any such shortcut honest.)"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver
from axoc.kernel.ports import FatalProviderError, Request, Response, Usage
from tests.kernel.fakes import table

LATTICE = """
agents:
  - {id: root, provider: p, system_prompt: "Résumé, brièvement ✓"}
  - {id: a, provider: p, depends_on: [root]}
  - {id: b, provider: p, depends_on: [root]}
  - {id: bad, provider: p, depends_on: [root]}
  - {id: join, provider: p, activation: "any(a, b, bad) or AgentFailed(bad)", system_prompt: s}
  - {id: last, provider: p, depends_on: [join]}
  - {id: echo, provider: p}
  - {id: r1, provider: p, activation: "TaskCompleted(echo)"}
  - {id: r2, provider: p, activation: "all(r1, echo)"}
skills:
  - {id: again, agents: [echo], reacts_to: ["TaskCompleted(last)", "TaskCompleted(echo)"],
     prompt: "Encore ↻", cooldown: 0s}
workflows:
  - {id: w, agents: [root, a, b, bad, join, last, r1, r2], max_activations: 14}
"""


@dataclass
class Varied:
    """Answers of random length and script (ASCII, Latin-1, CJK, emoji); fails `bad`."""

    instant: bool
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    requests: list[Request] = field(default_factory=list)

    def answer(self, request: Request) -> Response:
        self.requests.append(request)
        if request.agent == "bad":
            raise FatalProviderError("refusé ✗", status=400)
        alphabet = self.rng.choice(["abc def", "àéîõü ß", "漢字かな", "🙂🚀 x", "\n \t"])
        text = "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 300)))
        return Response(text, Usage(request.input_estimate or 0, 3))

    async def complete(self, request: Request) -> Response:
        return self.answer(request)

    async def aclose(self) -> None:
        return None


class Instant(Varied):
    def complete_now(self, request: Request) -> Response:
        return self.answer(request)


@pytest.mark.parametrize("instant", [False, True])
@pytest.mark.parametrize("text", ["go", "naïve ✓ 漢"])
def test_every_estimate_is_that_of_the_messages_sent(
    tmp_path: Path, instant: bool, text: str
) -> None:
    provider = Instant(instant) if instant else Varied(instant)
    t = table(tmp_path, LATTICE, analysed=False)
    if instant:  # an instant provider may not raise: `bad` fails through its budget instead
        t = table(tmp_path, LATTICE.replace("{id: bad, provider: p,",
                                            "{id: bad, provider: p, token_budget: {per_call: 1},"),
                  analysed=False)  # fmt: skip
    result = asyncio.run(Driver(t, {"p": provider}, workflow="w", input=text).run())
    assert result.status["bad"] == "failed"
    sent = provider.requests
    assert len({r.agent for r in sent}) >= 6 and sum(r.agent == "echo" for r in sent) >= 2
    assert any("(failed: " in r.messages[-1].content for r in sent)  # a failed dependency
    # r2 reads echo's output after echo answered again: not the output r1 read
    first, second = (r.messages[-1].content for r in sent if r.agent in ("r1", "r2"))
    assert first.split("\n")[1].startswith("[echo]: ") and "[echo]: " in second
    assert first.split("\n")[1] not in second.split("\n")
    for request in sent:
        assert request.input_estimate == estimate_input(request.messages), request.agent
