"""`ollama`: a local Ollama server, over its native API (`axoc.providers.ollama`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from axoc.providers.registry import Connection, ProviderKind

if TYPE_CHECKING:  # the kernel's ports are not loaded to check a config
    from axoc.kernel.ports import Provider


def build(connection: Connection) -> Provider:
    from axoc.providers.ollama import OllamaProvider as Adapter

    return Adapter(base_url=connection.base_url)


KIND = ProviderKind(
    name="ollama",
    summary="Ollama settings.",
    settings="OllamaProvider",
    build=build,
    wire="ollama",
    default_base_url="http://localhost:11434",
    unreachable='start it with "ollama serve" or set providers.{name}.base_url',
    missing_model='run "ollama pull {model}"',
)
