"""`mistral`: Mistral's API, which speaks OpenAI chat completions."""

from __future__ import annotations

from axoc.providers.kinds.openai import build
from axoc.providers.registry import OPENAI_TOOL_NAMES, OPENAI_TOOL_NAMES_SAID, ProviderKind

KIND = ProviderKind(
    name="mistral",
    summary="Mistral settings.",
    settings="HostedProvider",
    build=build,
    wire="openai",
    default_base_url="https://api.mistral.ai/v1",
    key="required",
    key_env="MISTRAL_API_KEY",
    tool_names=OPENAI_TOOL_NAMES,
    tool_names_said=OPENAI_TOOL_NAMES_SAID,
)
