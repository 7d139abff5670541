"""`echo`: the built-in deterministic provider (no network, no settings); `--dry-run` uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from axoc.providers.registry import Connection, ProviderKind

if TYPE_CHECKING:  # the kernel's ports are not loaded to check a config
    from axoc.kernel.ports import Provider


def build(connection: Connection) -> Provider:
    from axoc.providers.echo import EchoProvider

    return EchoProvider()


KIND = ProviderKind(name="echo", summary="The built-in echo provider.", settings=None,
                    build=build, wire="echo")  # fmt: skip
