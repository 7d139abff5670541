"""`openai_compatible`: a server the user names under `providers:` (LM Studio, vLLM, MLX, an
Ollama's `/v1`), over OpenAI chat completions; its key is optional (local servers want none)."""

from __future__ import annotations

from axoc.providers.kinds.openai import build
from axoc.providers.registry import ProviderKind

KIND = ProviderKind(
    name="openai_compatible",
    summary="A named OpenAI-compatible server.",
    settings="CompatibleProvider",
    build=build,
    wire="openai",
    key="optional",
    named=True,
    unreachable="start the server, or check providers.{name}.base_url",
)
