"""`anthropic`: Anthropic's Messages API (`axoc.providers.anthropic`)."""

from __future__ import annotations

from axoc.kernel.ports import Provider
from axoc.providers.registry import (
    OPENAI_TOOL_NAMES,
    OPENAI_TOOL_NAMES_SAID,
    Connection,
    ProviderKind,
)


def build(connection: Connection) -> Provider:
    from axoc.providers.anthropic import AnthropicProvider

    return AnthropicProvider(base_url=connection.base_url, api_key=connection.api_key)


KIND = ProviderKind(
    name="anthropic",
    summary="Anthropic settings.",
    settings="HostedProvider",
    build=build,
    wire="anthropic",
    default_base_url="https://api.anthropic.com",
    key="required",
    key_env="ANTHROPIC_API_KEY",
    tool_names=OPENAI_TOOL_NAMES,
    tool_names_said=OPENAI_TOOL_NAMES_SAID,
)
