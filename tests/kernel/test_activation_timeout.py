"""An agent's `timeout` bounds its whole activation, retries and the waits between them included:
the real driver against a provider that plays a script of transient failures, slow answers and
hangs. Each attempt is sent with the time left; once the deadline passes the activation fails,
unretried, naming the timeout and the attempts made."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from axoc.kernel.budget import estimate_input
from axoc.kernel.driver import Driver, RunResult
from axoc.kernel.ports import RateLimited, Request, Response, TransientProviderError, Usage
from tests.kernel.fakes import table

TIMEOUT = 0.3
ONE_AGENT = f"""
agents:
  - {{id: a, provider: echo, timeout: {TIMEOUT}, supervision: {{max_restarts: 5, backoff: 0.1}}}}
workflows:
  - {{id: w, agents: [a]}}
"""
HANG = 30.0  # seconds: far past any deadline here


@dataclass
class Steps:
    """Plays one step per call, the last one again once the script runs out: an exception is
    raised; a number is the seconds to take before answering. `honours_timeout`: a step longer
    than `request.timeout` ends there with a transient error, as the HTTP adapters do; otherwise
    the provider just takes that long."""

    script: list[float | Exception]
    honours_timeout: bool = True
    requests: list[Request] = field(default_factory=list)

    async def complete(self, request: Request) -> Response:
        self.requests.append(request)
        step = self.script[min(len(self.requests), len(self.script)) - 1]
        if isinstance(step, Exception):
            raise step
        if self.honours_timeout and step > request.timeout:
            await asyncio.sleep(request.timeout)
            raise TransientProviderError(f"did not answer within {request.timeout:g} s")
        await asyncio.sleep(step)
        return Response("answer", Usage(estimate_input(request.messages), 1))

    async def aclose(self) -> None:
        return None


def run(tmp_path: Path, provider: Steps) -> tuple[RunResult, float]:
    """The run, and the wall time it took."""
    driver = Driver(table(tmp_path, ONE_AGENT), {"echo": provider}, workflow="w", input="x")
    started = time.monotonic()
    result = asyncio.run(driver.run())
    return result, time.monotonic() - started


def retries(result: RunResult) -> list[int]:
    return [r["attempt"] for r in result.log if r["event"] == "retry"]


@pytest.mark.parametrize("honours_timeout", [True, False], ids=["adapter-like", "ignores-it"])
def test_a_transient_failure_then_a_hang_ends_within_the_timeout(
    tmp_path: Path, honours_timeout: bool
) -> None:
    provider = Steps([TransientProviderError("overloaded", status=503), HANG], honours_timeout)
    result, elapsed = run(tmp_path, provider)
    assert elapsed < TIMEOUT + 0.5  # per attempt, the hang alone took 0.3 s, then was retried
    assert result.status["a"] == "failed" and result.stop_reason == "failed"
    assert result.errors["a"] == "timed out after 0.3 s (2 attempts)"
    assert retries(result) == [1] and len(provider.requests) == 2  # the timeout: not retried
    first, second = (r.timeout for r in provider.requests)
    assert TIMEOUT - 0.05 < first <= TIMEOUT  # the whole activation is left
    assert second <= first - 0.05  # less the backoff (0.1 s × a jitter in [0.5, 1.5))


def test_an_activation_that_succeeds_on_a_retry_within_its_deadline_succeeds(
    tmp_path: Path,
) -> None:
    provider = Steps([TransientProviderError("overloaded", status=503), 0.05])
    result, elapsed = run(tmp_path, provider)
    assert result.stop_reason == "completed" and result.outputs == [("a", "answer")]
    assert retries(result) == [1] and len(provider.requests) == 2
    assert result.errors == {} and elapsed < TIMEOUT


def test_a_wait_that_would_end_past_the_deadline_is_not_begun(tmp_path: Path) -> None:
    provider = Steps([RateLimited("slow down", retry_after=5), 0.0])
    result, elapsed = run(tmp_path, provider)
    assert elapsed < TIMEOUT  # neither the 5 s asked for nor the rest of the timeout
    assert result.errors["a"] == (
        "RateLimited: slow down (after 1 attempt; no time left to retry within its 0.3 s timeout)"
    )
    assert retries(result) == [] and len(provider.requests) == 1
