"""Retry jitter is the run's own: two runs wait differently between attempts (they do not retry
in lockstep against a server that is struggling), and a run given the same seed — a resumed
run, whose seed the journal keeps — waits exactly as it did."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axoc.kernel.driver import Driver
from axoc.kernel.ports import TransientProviderError
from tests.kernel.fakes import table
from tests.kernel.test_activation_timeout import Steps

FLAKY = """
agents:
  - {id: a, provider: echo, timeout: 5, supervision: {max_restarts: 3, backoff: 0.05}}
workflows:
  - {id: w, agents: [a]}
"""


def delays(tmp_path: Path, seed: int | None) -> tuple[int, list[float]]:
    """The driver's seed and the waits before its 3 retries of 3 transient failures."""
    provider = Steps([*[TransientProviderError("busy")] * 3, 0.0])
    driver = Driver(table(tmp_path, FLAKY), {"echo": provider}, workflow="w", seed=seed)
    result = asyncio.run(driver.run())
    assert result.stop_reason == "completed" and len(provider.requests) == 4
    return driver.seed, [r["delay"] for r in result.log if r["event"] == "retry"]


def test_two_runs_get_their_own_seed_and_jitter(tmp_path: Path) -> None:
    first_seed, first = delays(tmp_path, None)
    second_seed, second = delays(tmp_path, None)
    assert first_seed != second_seed
    assert first != second  # equal by chance about once in a million
    for waits in (first, second):  # still the documented backoff: 0.05 · 2^(n-1) × [0.5, 1.5)
        assert all(low <= w < high for w, low, high in zip(
            waits, (0.025, 0.05, 0.1), (0.0751, 0.1501, 0.3001), strict=True))  # fmt: skip


def test_the_same_seed_waits_the_same(tmp_path: Path) -> None:
    seed, waits = delays(tmp_path, None)
    assert delays(tmp_path, seed) == (seed, waits)
    assert delays(tmp_path, seed + 1)[1] != waits
