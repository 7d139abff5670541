"""`anthropic`: Anthropic's Messages API (`axoc.providers.anthropic`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from axoc.providers.registry import Connection, ProviderKind

if TYPE_CHECKING:  # the kernel's ports are not loaded to check a config
    from axoc.kernel.ports import Provider


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
)
