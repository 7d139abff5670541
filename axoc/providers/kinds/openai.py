"""`openai`: the OpenAI API, over chat completions (`axoc.providers.openai`); `build` serves
every kind that speaks that wire format (Mistral, OpenRouter, named compatible servers)."""

from __future__ import annotations

from axoc.kernel.ports import Provider
from axoc.providers.registry import (
    OPENAI_TOOL_NAMES,
    OPENAI_TOOL_NAMES_SAID,
    Connection,
    ProviderKind,
)


def build(connection: Connection) -> Provider:
    from axoc.providers.openai import OpenAIProvider

    return OpenAIProvider(base_url=connection.base_url, api_key=connection.api_key)


KIND = ProviderKind(
    name="openai",
    summary="OpenAI settings.",
    settings="HostedProvider",
    build=build,
    wire="openai",
    default_base_url="https://api.openai.com/v1",
    key="required",
    key_env="OPENAI_API_KEY",
    tool_names=OPENAI_TOOL_NAMES,
    tool_names_said=OPENAI_TOOL_NAMES_SAID,
)
