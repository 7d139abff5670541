"""`echo`: the built-in deterministic provider (no network, no settings); `--dry-run` uses it."""

from __future__ import annotations

from axoc.kernel.ports import Provider
from axoc.providers.registry import Connection, ProviderKind


def build(connection: Connection) -> Provider:
    from axoc.providers.echo import EchoProvider

    return EchoProvider()


KIND = ProviderKind(name="echo", summary="The built-in echo provider.", settings=None,
                    build=build, wire="echo")  # fmt: skip
