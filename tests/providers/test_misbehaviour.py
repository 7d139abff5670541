"""A property test: generated provider misbehaviour (`tests/providers/misbehaviour.py`) thrown
at both adapters through the real loopback server. Whatever comes back, the call ends within a
bound, with a `Response` whose counts are possible or with a `ProviderError` (nothing else), and
no secret of the endpoint (API key, URL password, query value) shows in any case or encoding in
what the adapter returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
from hypothesis import HealthCheck, given, settings

from axoc.kernel.ports import Message, Provider, ProviderError, Request, Response
from axoc.kernel.usage import impossible
from axoc.providers.ollama import OllamaProvider
from axoc.providers.openai import OpenAIProvider
from tests.providers.misbehaviour import KEY, PASSWORD, QUERY_KEY, leaks, reply
from tests.providers.servers import FakeServer, Reply

REQUEST = Request(
    "a", "m", (Message("system", "Be brief."), Message("user", "Why?")), 300, timeout=5.0
)
BOUND = 3.0  # seconds a call may take, whatever the server sends at loopback speed


def url(server: FakeServer, path: str) -> str:
    return server.url.replace("http://", f"http://me:{PASSWORD}@") + f"{path}?api-key={QUERY_KEY}"


Make = Callable[[httpx.AsyncClient], Provider]


def call(make: Make) -> Response:
    """One call, on the adapters' own kind of client (no redirects followed), closed after it;
    without loading the system's CA certificates (a tenth of a second each time, and there is
    no TLS on loopback)."""

    async def go() -> Response:
        async with httpx.AsyncClient(follow_redirects=False, verify=False) as client:
            return await make(client).complete(REQUEST)

    return asyncio.run(go())


def shown(outcome: Response | ProviderError) -> str:
    if isinstance(outcome, ProviderError):
        return str(outcome)
    return f"{outcome.text} {outcome.model} {outcome.finish_reason}"


def check(server: FakeServer, make: Make, scripted: Reply, secrets: tuple[str, ...]) -> None:
    server.script(scripted)
    started = time.monotonic()
    try:
        outcome: Response | ProviderError = call(make)
    except ProviderError as error:
        outcome = error
    took = time.monotonic() - started
    assert took < BOUND, f"{took:.1f} s"
    assert leaks(shown(outcome), secrets) == [], shown(outcome)[:2000]
    if isinstance(outcome, Response):
        assert impossible(REQUEST, outcome.usage) is None
        outcome.text.encode("utf-8")  # what stdout and the journal will do
    else:
        assert str(outcome).isprintable() and len(str(outcome)) <= 1500


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                             HealthCheck.data_too_large],
)  # fmt: skip


def test_the_openai_adapter_survives_any_answer(server: FakeServer) -> None:
    @SETTINGS
    @given(reply("openai"))
    def one(scripted: Reply) -> None:
        def make(client: httpx.AsyncClient) -> Provider:
            return OpenAIProvider(url(server, "/v1"), api_key=KEY, client=client)

        check(server, make, scripted, (KEY, QUERY_KEY, PASSWORD))

    one()


def test_the_ollama_adapter_survives_any_answer(server: FakeServer) -> None:
    @SETTINGS
    @given(reply("ollama"))
    def one(scripted: Reply) -> None:
        # the API key is no secret of an Ollama endpoint: it never sends it
        def make(client: httpx.AsyncClient) -> Provider:
            return OllamaProvider(url(server, ""), client=client)

        check(server, make, scripted, (QUERY_KEY, PASSWORD))

    one()
