"""Provider limits (`max_concurrency`, `requests_per_minute`) hold across the agents of a run,
through `axoc run`, against a real server on loopback that records when each request arrived and
how long it was in the server: a fan-out never has more calls in flight than the limit, calls
start evenly spaced, a 429 with Retry-After pauses every agent on that provider, and waiting for
a slot counts against an activation's timeout."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from tests.helpers import axoc
from tests.providers.servers import OPENAI_CHAT, FakeServer, Received, Reply

WORKERS = [f"w{i}" for i in range(200)]


def config(tmp_path: Path, url: str, limits: str, workers: list[str], agent_extra: str = "") -> str:
    agents = [f"  - {{id: lead, provider: lab, model: lead{agent_extra}}}"]
    agents += [
        f"  - {{id: {w}, provider: lab, model: {w}, depends_on: [lead]{agent_extra}}}"
        for w in workers
    ]
    members = ", ".join(["lead", *workers])
    path = tmp_path / "limits.axoc.yaml"
    path.write_text(
        f"providers:\n  lab: {{kind: openai_compatible, base_url: '{url}/v1', {limits}}}\n"
        "agents:\n" + "\n".join(agents) + "\n"
        f"workflows:\n  - {{id: fan, agents: [{members}]}}\n",
        encoding="utf-8",
    )
    return str(path)


class Recorder:
    """Answers every call after `hang` seconds; keeps when each arrived and when it left."""

    def __init__(self, hang: float, *first: Reply) -> None:
        self.hang = hang
        self.first = list(first)  # the replies to the first calls, before the usual one
        self.spans: list[tuple[float, float, str]] = []
        self.lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        with self.lock:
            now = time.monotonic()
            self.spans.append((now, now + self.hang, str(received.json()["model"])))
            if self.first:
                return self.first.pop(0)
        return Reply(200, OPENAI_CHAT, hang=self.hang)

    def most_at_once(self) -> int:
        return max(sum(s <= at < e for s, e, _ in self.spans) for at, _, _ in self.spans)

    def arrivals(self) -> list[float]:
        return sorted(s for s, _, _ in self.spans)


def test_a_fan_out_never_has_more_calls_in_flight_than_max_concurrency(
    tmp_path: Path, server: FakeServer
) -> None:
    recorder = Recorder(hang=0.05)
    server.respond = recorder
    path = config(tmp_path, server.url, "max_concurrency: 8", WORKERS)
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "state"))
    assert result.code == 0, result.err
    assert len(recorder.spans) == 1 + len(WORKERS)
    assert recorder.most_at_once() == 8  # never more, and the limit is used


def test_without_a_limit_the_same_fan_out_is_sent_at_once(
    tmp_path: Path, server: FakeServer
) -> None:
    """The control: what the limit prevents happens without it."""
    recorder = Recorder(hang=0.3)
    server.respond = recorder
    path = config(tmp_path, server.url, "model: m", WORKERS[:8])
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "state"))
    assert result.code == 0, result.err
    assert recorder.most_at_once() > 3


def test_requests_per_minute_spaces_the_calls_of_every_agent(
    tmp_path: Path, server: FakeServer
) -> None:
    recorder = Recorder(hang=0.0)
    server.respond = recorder
    path = config(tmp_path, server.url, "requests_per_minute: 600", WORKERS[:8])  # one per 0.1 s
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "state"))
    assert result.code == 0, result.err
    arrivals = recorder.arrivals()
    assert len(arrivals) == 9
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) > 0.08, gaps  # 0.1 s apart, less the jitter of loopback delivery
    assert arrivals[-1] - arrivals[0] >= 0.75


def test_a_429_with_retry_after_pauses_every_agent_on_the_provider(
    tmp_path: Path, server: FakeServer
) -> None:
    limited = Reply(
        429, {"error": {"message": "Rate limit reached", "type": "requests"}},
        headers={"Retry-After": "1"},
    )  # fmt: skip
    recorder = Recorder(0.0, Reply(200, OPENAI_CHAT), limited)  # the lead, then one worker
    server.respond = recorder
    path = config(tmp_path, server.url, "max_concurrency: 1", WORKERS[:3])
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "state"))
    assert result.code == 0, result.err
    arrivals = recorder.arrivals()
    assert len(arrivals) == 5  # the lead, three workers, and the retry of the one refused
    refused_at, after = arrivals[1], arrivals[2:]
    # Without the pause, the next worker's call was sent as soon as the 429 freed the slot.
    assert min(after) - refused_at >= 0.9, arrivals


def test_waiting_for_a_slot_counts_against_the_activation_timeout(
    tmp_path: Path, server: FakeServer
) -> None:
    recorder = Recorder(hang=0.4)
    server.respond = recorder
    path = config(tmp_path, server.url, "max_concurrency: 1", WORKERS[:3], ", timeout: 1")
    result = axoc("run", path, "-i", "go", "--state-dir", str(tmp_path / "state"))
    # The workers wait their turn: the third waits 0.8 s and has 0.2 s left of its 1 s.
    assert result.code == 1, result.err
    timed_out = [line for line in result.err.splitlines() if "failed: timed out after 1 s" in line]
    assert len(timed_out) == 1, result.err
    assert "budget" not in result.err
