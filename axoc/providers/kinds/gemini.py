"""`gemini`: Google's Gemini API, `generateContent` (`axoc.providers.gemini`)."""

from __future__ import annotations

import importlib

from axoc.kernel.ports import Provider
from axoc.providers.registry import Connection, ProviderKind, Unavailable

ADAPTER = "axoc.providers.gemini"


def build(connection: Connection) -> Provider:
    try:
        adapter = importlib.import_module(ADAPTER)
    except ModuleNotFoundError as exc:
        if exc.name != ADAPTER:
            raise
        raise Unavailable("this installation has no Gemini adapter") from None
    provider: Provider = adapter.GeminiProvider(
        base_url=connection.base_url, api_key=connection.api_key
    )
    return provider


KIND = ProviderKind(
    name="gemini",
    summary="Google Gemini settings.",
    settings="HostedProvider",
    build=build,
    wire="gemini",
    default_base_url="https://generativelanguage.googleapis.com",
    key="required",
    key_env="GEMINI_API_KEY",
)
