"""`gemini`: Google's Gemini API, `generateContent` (`axoc.providers.gemini`)."""

from __future__ import annotations

from axoc.kernel.ports import Provider
from axoc.providers.registry import Connection, ProviderKind


def build(connection: Connection) -> Provider:
    from axoc.providers.gemini import GeminiProvider

    return GeminiProvider(base_url=connection.base_url, api_key=connection.api_key)


KIND = ProviderKind(
    name="gemini",
    summary="Google Gemini settings.",
    settings="HostedProvider",
    build=build,
    wire="gemini",
    default_base_url="https://generativelanguage.googleapis.com",
    key="required",
    key_env="GEMINI_API_KEY",
    tool_names=r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}",
    tool_names_said="letters, digits, '_', '.', ':' and '-', starting with a letter or '_', at "
    "most 64 characters",
)
