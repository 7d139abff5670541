"""An 8-way fan-out with no `max_tokens` under a 20,000-token workflow budget, against a real
slow server on loopback: it completes. Each worker's call may use its whole per_call room (8,192
by default), so two fit at a time: the others wait for a reservation to be settled instead of
being refused "over the 0 tokens left" (what `axoc run` did, ending `budget_exhausted` after
the lead's 91 tokens). Nothing is overspent, and every call is sent what it would be alone."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tests.helpers import axoc
from tests.providers.servers import FakeServer, Received, Reply

WORKERS = [f"w{i}" for i in range(8)]
HANG = 0.25  # seconds each worker's call takes


def config(tmp_path: Path, url: str, budget: int) -> str:
    agents = ["  - {id: lead, provider: lab, model: lead}"]
    agents += [f"  - {{id: {w}, provider: lab, model: {w}, depends_on: [lead]}}" for w in WORKERS]
    agents.append(
        f"  - {{id: join, provider: lab, model: join, depends_on: [{', '.join(WORKERS)}]}}"
    )
    members = ", ".join(["lead", *WORKERS, "join"])
    path = tmp_path / "fanout.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{url}/v1'}}\n"
        "agents:\n" + "\n".join(agents) + "\n"
        f"workflows:\n  - {{id: fan, agents: [{members}], token_budget: {budget}}}\n",
        encoding="utf-8",
    )
    return str(path)


class Timed:
    """Answers every call after HANG s (workers) and keeps when each was in the server."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        model = str(received.json()["model"])
        hang = HANG if model in WORKERS else 0.0
        with self.lock:
            now = time.monotonic()
            self.spans[model] = (now, now + hang)
        text = f"{model} did its part"
        body = {"id": "c", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 40, "completion_tokens": 51, "total_tokens": 91}}  # fmt: skip
        return Reply(200, body, hang=hang)

    def most_at_once(self) -> int:
        spans = [self.spans[w] for w in WORKERS]
        return max(sum(start <= at < end for start, end in spans) for at, _ in spans)


def test_a_fanout_that_fits_completes_waiting_for_reservations(
    tmp_path: Path, server: FakeServer
) -> None:
    timed = Timed()
    server.respond = timed
    path = config(tmp_path, server.url, 20_000)
    result = axoc("run", path, "-i", "go", "--json", "--state-dir", str(tmp_path / "s"))
    records = [json.loads(line) for line in result.out.splitlines()]
    assert result.code == 0, result.err
    assert records[-1]["stop_reason"] == "completed"
    assert [r.json()["model"] for r in server.received].count("join") == 1
    assert sorted(timed.spans) == sorted(["lead", *WORKERS, "join"])  # every call was made once
    waited = [r["agent"] for r in records if r["event"] == "budget_wait"]
    assert set(waited) <= set(WORKERS) and len(waited) >= 6
    assert timed.most_at_once() == 2  # two calls of 8,192 fit in 20,000 at a time, not three
    used = sum(r["input"] + r["output"] for r in records if r["event"] == "usage")
    assert used == 10 * 91 <= 20_000
    for received in server.received:  # all the per_call room, whatever ran beside it
        body = received.json()
        estimate = 8 + sum(8 + len(m["content"].encode()) for m in body["messages"])
        assert body["max_tokens"] == 8192 - estimate


def test_a_fanout_that_cannot_fit_is_refused_at_once(tmp_path: Path, server: FakeServer) -> None:
    """With 150 tokens, a worker's call cannot fit even alone (its estimate plus one token is
    more than what the lead left): refused without waiting, budget_exhausted (exit 4)."""
    server.respond = Timed()
    path = config(tmp_path, server.url, 150)
    started = time.monotonic()
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "s"))
    assert result.code == 4, result.err
    assert time.monotonic() - started < HANG * 8  # no worker was sent, none waited
    assert [r.json()["model"] for r in server.received] == ["lead"]
    assert "budget refused a call of agent 'w0'" in result.err
