"""`Limited` on its own, on a virtual clock: calls start 60 / requests_per_minute s apart and are
sent with what is left of their timeout; a 429's Retry-After holds every caller; a call
cancelled while it waits gives its slot back. (Through `axoc run` against a real server:
tests/test_provider_limits.py.)"""

from __future__ import annotations

import asyncio

import pytest

from axoc.kernel.ports import RateLimited, Request, Response, Usage
from axoc.providers.limits import Limited, limited


class Clock:
    """Virtual time: sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Recording:
    """A provider that answers at once and keeps when each call reached it, and with what
    timeout; `refuse` makes its next answers 429s."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, float]] = []
        self.refuse: list[float] = []  # Retry-After of the next answers
        self.closed = False

    async def complete(self, request: Request) -> Response:
        self.calls.append((self.clock.now, request.timeout))
        if self.refuse:
            raise RateLimited("429", retry_after=self.refuse.pop(0))
        return Response("ok", Usage(1, 1))

    async def aclose(self) -> None:
        self.closed = True


def request(timeout: float = 30.0) -> Request:
    return Request("a", "m", (), 16, timeout=timeout)


def test_calls_start_evenly_spaced_with_the_time_left() -> None:
    clock = Clock()
    inner = Recording(clock)
    provider = Limited(inner, None, 30, clock=clock, sleep=clock.sleep)  # one per 2 s

    async def go() -> None:
        for _ in range(4):  # one after the other: each waits for its turn, not for the last
            await provider.complete(request())
        await provider.aclose()

    asyncio.run(go())
    assert inner.calls == [(0.0, 30.0), (2.0, 28.0), (4.0, 28.0), (6.0, 28.0)]
    assert inner.closed


def test_a_retry_after_holds_every_caller() -> None:
    clock = Clock()
    inner = Recording(clock)
    inner.refuse = [5.0]
    provider = Limited(inner, 1, None, clock=clock, sleep=clock.sleep)

    async def go() -> list[BaseException | Response]:
        return await asyncio.gather(
            *(provider.complete(request()) for _ in range(3)), return_exceptions=True
        )

    first, *others = asyncio.run(go())
    assert isinstance(first, RateLimited)
    assert all(isinstance(r, Response) for r in others)
    assert [at for at, _ in inner.calls] == [0.0, 5.0, 5.0]  # the others waited the 5 s out


def test_a_call_cancelled_while_waiting_gives_its_slot_back() -> None:
    release = asyncio.Event

    class Held:
        def __init__(self) -> None:
            self.gate = release()
            self.sent = 0

        async def complete(self, request: Request) -> Response:
            self.sent += 1
            if self.sent == 1:
                await self.gate.wait()
            return Response("ok", Usage(1, 1))

        async def aclose(self) -> None:
            pass

    async def go() -> int:
        inner = Held()
        provider = Limited(inner, 1, None)
        first = asyncio.create_task(provider.complete(request()))
        await asyncio.sleep(0)
        with pytest.raises(TimeoutError):  # waits for the slot the first call holds
            await asyncio.wait_for(provider.complete(request()), 0.05)
        inner.gate.set()
        await first
        await asyncio.wait_for(provider.complete(request()), 1.0)  # the slot is free again
        return inner.sent

    assert asyncio.run(go()) == 2  # the cancelled call was never sent


def test_no_limits_no_wrapper_and_bad_limits_refused() -> None:
    inner = Recording(Clock())
    assert limited(inner, None, None) is inner
    with pytest.raises(ValueError, match="max_concurrency"):
        Limited(inner, 0, None)
    with pytest.raises(ValueError, match="requests_per_minute"):
        Limited(inner, None, 0)
