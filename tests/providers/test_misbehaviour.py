"""A property test: generated provider misbehaviour (`tests/providers/misbehaviour.py`) thrown
at the four adapters through the real loopback server (tool calls included). Whatever comes back, the call ends within a
bound, with a `Response` whose counts are possible or with a `ProviderError` (nothing else), and
no secret of the endpoint (API key, URL password, query value) shows in any case or encoding in
what the adapter returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axoc.kernel.ports import Message, Provider, ProviderError, Request, Response, ToolDefinition
from axoc.kernel.usage import impossible
from axoc.providers.anthropic import AnthropicProvider
from axoc.providers.gemini import GeminiProvider
from axoc.providers.ollama import OllamaProvider
from axoc.providers.openai import OpenAIProvider
from tests.providers.misbehaviour import KEY, PASSWORD, QUERY_KEY, answer_reply, leaks, reply
from tests.providers.servers import FakeServer, Reply

REQUEST = Request(
    "a", "m", (Message("system", "Be brief."), Message("user", "Why?")), 300, timeout=5.0
)
BOUND = 3.0  # seconds a call may take, whatever the server sends at loopback speed


def url(server: FakeServer, path: str) -> str:
    return server.url.replace("http://", f"http://me:{PASSWORD}@") + f"{path}?api-key={QUERY_KEY}"


Make = Callable[[httpx.AsyncClient], Provider]


def call(make: Make, request: Request = REQUEST) -> Response:
    """One call, on the adapters' own kind of client (no redirects followed), closed after it;
    without loading the system's CA certificates (a tenth of a second each time, and there is
    no TLS on loopback)."""

    async def go() -> Response:
        async with httpx.AsyncClient(follow_redirects=False, verify=False) as client:
            return await make(client).complete(request)

    return asyncio.run(go())


def shown(outcome: Response | ProviderError) -> str:
    if isinstance(outcome, ProviderError):
        return str(outcome)
    calls = " ".join(f"{c.id} {c.name} {c.arguments} {c.signature}" for c in outcome.tool_calls)
    return f"{outcome.text} {outcome.model} {outcome.finish_reason} {calls}"


def check(
    server: FakeServer,
    make: Make,
    scripted: Reply,
    secrets: tuple[str, ...],
    request: Request = REQUEST,
) -> None:
    server.script(scripted)
    started = time.monotonic()
    try:
        outcome: Response | ProviderError = call(make, request)
    except ProviderError as error:
        outcome = error
    took = time.monotonic() - started
    assert took < BOUND, f"{took:.1f} s"
    assert leaks(shown(outcome), secrets) == [], shown(outcome)[:2000]
    if isinstance(outcome, Response):
        assert impossible(request, outcome.usage) is None
        outcome.text.encode("utf-8")  # what stdout and the journal will do
        ids = [c.id for c in outcome.tool_calls]
        assert len(set(ids)) == len(ids) and all(ids)
        for tool_call in outcome.tool_calls:
            f"{tool_call.name}{tool_call.arguments}{tool_call.signature}".encode()
        assert not (outcome.tool_calls and outcome.finish_reason == "length")
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


TOOL_REQUEST = REQUEST._replace(
    tools=(ToolDefinition("get_time", "The time", {"type": "object", "properties": {}}),),
    input_estimate=60_000,
)
MAKERS: dict[str, Callable[[FakeServer, httpx.AsyncClient], Provider]] = {
    "anthropic": lambda s, c: AnthropicProvider(url(s, ""), api_key=KEY, client=c),
    "gemini": lambda s, c: GeminiProvider(url(s, ""), api_key=KEY, client=c),
    "openai-tools": lambda s, c: OpenAIProvider(url(s, "/v1"), api_key=KEY, client=c),
    "ollama-tools": lambda s, c: OllamaProvider(url(s, ""), client=c),
}


@pytest.mark.parametrize("protocol", list(MAKERS))
def test_every_adapter_survives_any_answer_with_tool_calls(
    server: FakeServer, protocol: str
) -> None:
    secrets = (QUERY_KEY, PASSWORD) if protocol == "ollama-tools" else (KEY, QUERY_KEY, PASSWORD)

    @SETTINGS
    @given(st.one_of(reply(protocol), answer_reply(protocol), answer_reply(protocol)))
    def one(scripted: Reply) -> None:
        check(server, lambda client: MAKERS[protocol](server, client), scripted, secrets,
              TOOL_REQUEST)  # fmt: skip

    one()
