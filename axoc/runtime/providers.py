"""The providers of a run, built from the registry (`axoc.providers.registry`).

In: a `Runnable` (its table's `ProviderSpec`s, the keys and base URLs its config writes) and
whether it is a dry run; the environment, for `${VAR}`s. Out: provider name → `Provider`, each
behind its limits (`axoc.providers.limits`), one object per entry, so every agent naming it
shares its limits; `echo` always.

Guaranteed: `RunRefused` (nothing is sent yet) when a provider lacks what it needs — its key,
a base_url, an adapter this installation has — naming the variable to set, never a key's value.
A dry run builds no adapter (every provider is echo) and imports no httpx.
"""

from __future__ import annotations

import os

from axoc.kernel.ports import Provider
from axoc.kernel.table import ProviderSpec
from axoc.providers import registry
from axoc.providers.echo import EchoProvider
from axoc.providers.limits import limited
from axoc.providers.urls import resolve
from axoc.runnable import Runnable, RunRefused


def providers(
    loaded: Runnable, dry_run: bool, shared: dict[str, Provider] | None = None
) -> dict[str, Provider]:
    """The run's providers. `shared` (a daemon's, per compiled config): providers built for
    earlier runs, reused by name — so their limits hold across runs — and the new ones added."""
    echo = EchoProvider()
    built: dict[str, Provider] = {"echo": echo}
    for spec in loaded.table.providers:
        kind = registry.get(spec.kind)
        if dry_run or spec.kind == "echo":
            built[spec.name] = echo
            continue
        if shared is not None and spec.name in shared:
            built[spec.name] = shared[spec.name]
            continue
        if kind is None:  # a plan written by a version that knew this kind
            raise RunRefused(
                f"provider '{spec.name}' ({spec.kind}) is not a provider kind this version of "
                "axoc knows; use --dry-run",
                "provider",
            )
        provider = build(kind, connection(kind, spec, loaded.urls, loaded.secrets))
        built[spec.name] = limited(provider, spec.max_concurrency, spec.requests_per_minute)
        if shared is not None:
            shared[spec.name] = built[spec.name]
    return built


def build(kind: registry.ProviderKind, connection: registry.Connection) -> Provider:
    """`kind`'s adapter for `connection`; refused when this installation has none."""
    try:
        return kind.build(connection)
    except registry.Unavailable as exc:
        raise RunRefused(
            f"provider '{connection.name}' ({kind.name}) is not supported by axoc run yet: "
            f"{exc}; use --dry-run",
            "provider",
        ) from None


def connection(
    kind: registry.ProviderKind,
    spec: ProviderSpec,
    urls: dict[str, str],
    secrets: dict[str, str],
) -> registry.Connection:
    """Where provider `spec` is reached and with which key, for this process: `urls` and
    `secrets` are the base URLs and keys its config writes (`Runnable.urls`, `.secrets`)."""
    url = base_url(spec, urls) or kind.default_base_url
    if url is None:
        raise RunRefused(f"provider '{spec.name}' needs a base_url", "provider")
    return registry.Connection(spec.name, url, key(kind, spec, secrets))


def base_url(spec: ProviderSpec, urls: dict[str, str]) -> str | None:
    """The base_url to call: as the config sets it; from a saved plan, which keeps credentials
    as their `${VAR}` (never their values), with those variables set from the environment."""
    if spec.name in urls:
        return urls[spec.name]
    if spec.base_url is None:
        return None
    try:
        return resolve(spec.base_url, os.environ)
    except ValueError as exc:
        raise RunRefused(f"provider '{spec.name}': {exc}", "provider") from None


def key(kind: registry.ProviderKind, spec: ProviderSpec, secrets: dict[str, str]) -> str | None:
    """The key of provider `spec`: as its config writes it, else from its variable; refused
    when its kind requires one and there is none."""
    if kind.key == "none":
        return None
    written = secrets.get(spec.name)
    if written and "${" not in written:
        return written
    variable = spec.api_key_env
    if variable and os.environ.get(variable):
        return os.environ[variable]
    if kind.key == "optional":
        return None  # local servers usually need no key
    raise RunRefused(
        f"provider '{spec.name}' needs an API key: set {variable or 'its api_key'}",
        "missing_api_key",
    )
