"""A provider behind the limits of its `providers:` entry, shared by every agent of a run.

In: a built `Provider`, its `max_concurrency` and `requests_per_minute` (None: no such limit),
and the clock and sleep to wait with. Out: a `Provider` whose `complete` waits for a slot (at
most `max_concurrency` calls in flight), then for its turn (calls start at least
60 / `requests_per_minute` seconds apart: a bucket of one token, so no burst can trip a limit a
provider counts per second), then for the end of a pause (a 429 with `Retry-After` pauses every
caller of the provider that long, not only the one that got it), and calls the provider with
the time that is left of the request's timeout.

Guaranteed: one `Limited` per provider entry, so the limits hold across the agents of a run.
Every wait happens inside `complete`, which the kernel bounds with the activation's timeout
(`asyncio.wait_for`): waiting counts against timeouts and never against budgets (nothing is
sent, no token is counted, while a call waits). A cancelled call gives its slot back; the turn
it reserved stays used, which only ever spaces calls further apart. Standard library only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from axoc.kernel.ports import Provider, RateLimited, Request, Response

_LEAST_TIMEOUT = 0.001  # what a call is sent with when its wait used up its timeout


class Limited:
    """`provider`, called at most `max_concurrency` at a time and `requests_per_minute` a
    minute; `provider` itself is closed by `aclose`."""

    def __init__(
        self,
        provider: Provider,
        max_concurrency: int | None,
        requests_per_minute: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if requests_per_minute is not None and not requests_per_minute > 0:
            raise ValueError("requests_per_minute must be more than 0")
        self.provider = provider
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_turn = -float("inf")  # when the next call may start
        self._paused_until = -float("inf")  # set by a 429 with Retry-After

    async def complete(self, request: Request) -> Response:
        began = self._clock()
        if self._slots is None:
            return await self._send(request, began)
        async with self._slots:
            return await self._send(request, began)

    async def _send(self, request: Request, began: float) -> Response:
        await self._turn()
        while (wait := self._paused_until - self._clock()) > 0:
            await self._sleep(wait)
        left = max(_LEAST_TIMEOUT, request.timeout - (self._clock() - began))
        try:
            return await self.provider.complete(request._replace(timeout=left))
        except RateLimited as limited:
            if limited.retry_after:
                self._paused_until = max(self._paused_until, self._clock() + limited.retry_after)
            raise

    async def _turn(self) -> None:
        if not self._interval:
            return
        now = self._clock()
        start = max(now, self._next_turn)
        self._next_turn = start + self._interval
        if start > now:
            await self._sleep(start - now)

    async def aclose(self) -> None:
        await self.provider.aclose()


def limited(
    provider: Provider, max_concurrency: int | None, requests_per_minute: float | None
) -> Provider:
    """`provider` behind its limits, or itself when it has none."""
    if max_concurrency is None and requests_per_minute is None:
        return provider
    return Limited(provider, max_concurrency, requests_per_minute)
