"""`anthropic`: Anthropic's Messages API (`axoc.providers.anthropic`)."""

from __future__ import annotations

import importlib

from axoc.kernel.ports import Provider
from axoc.providers.registry import Connection, ProviderKind, Unavailable

ADAPTER = "axoc.providers.anthropic"


def build(connection: Connection) -> Provider:
    try:
        adapter = importlib.import_module(ADAPTER)
    except ModuleNotFoundError as exc:
        if exc.name != ADAPTER:
            raise
        raise Unavailable("this installation has no Anthropic adapter") from None
    provider: Provider = adapter.AnthropicProvider(
        base_url=connection.base_url, api_key=connection.api_key
    )
    return provider


KIND = ProviderKind(
    name="anthropic",
    summary="Anthropic settings.",
    settings="HostedProvider",
    build=build,
    wire="anthropic",
    default_base_url="https://api.anthropic.com",
    key="required",
    key_env="ANTHROPIC_API_KEY",
)
