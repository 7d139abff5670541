"""Asking a provider which models it serves: what `axoc doctor` checks a provider with.

In: a provider kind (`axoc.providers.registry`), a `Connection`, a timeout. Out: the names of
the models the provider serves, through its adapter's `list_models()`; for an adapter without
one, a GET of the listing of its wire format (Ollama `/api/tags`, OpenAI-compatible `/models`).
Failures are the kernel's `ProviderError` tree, as an adapter raises them: unreachable servers
are `TransientProviderError`s naming the URL (credentials hidden), 401 and 403
`FatalProviderError`s with their status; `Unlisted` when neither way exists for the kind.

Guaranteed: the key is sent only to the provider, never put in a message; every client made
is closed; nothing waits longer than `timeout`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from axoc.kernel.ports import (
    FatalProviderError,
    InvalidResponse,
    ProviderError,
    TransientProviderError,
)
from axoc.providers import urls
from axoc.providers.http import describe, redact
from axoc.providers.registry import Connection, ProviderKind

_LISTINGS = {"ollama": "/api/tags", "openai": "/models"}


class Unlisted(Exception):
    """This kind's models cannot be listed by this installation."""


async def list_models(kind: ProviderKind, connection: Connection, timeout: float) -> list[str]:
    provider = kind.build(connection)
    try:
        lister = getattr(provider, "list_models", None)
        if lister is not None:
            names: list[str] = await asyncio.wait_for(lister(), timeout)
            return list(names)
        if kind.wire not in _LISTINGS:
            raise Unlisted(f"this version cannot list the models of a {kind.name} provider")
        return await asyncio.wait_for(_listed(kind, connection, timeout), timeout)
    finally:
        await provider.aclose()


async def _listed(kind: ProviderKind, connection: Connection, timeout: float) -> list[str]:
    url = urls.endpoint(connection.base_url, _LISTINGS[kind.wire])
    where = urls.shown(url)
    secrets = tuple(s for s in (connection.api_key, *urls.secrets(url)) if s)
    headers = {"Accept": "application/json"}
    if connection.api_key:
        headers["Authorization"] = f"Bearer {connection.api_key}"
    try:
        async with httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException as exc:
        raise TransientProviderError(f"{where} did not answer within {timeout:g} s") from exc
    except httpx.TransportError as exc:
        raise TransientProviderError(redact(f"{where}: {describe(exc)}", secrets)) from exc
    if response.status_code in (401, 403):
        raise FatalProviderError(
            f"{where} refused the key (HTTP {response.status_code})", status=response.status_code
        )
    if not response.is_success:
        raise ProviderError(
            f"{where} answered HTTP {response.status_code}", status=response.status_code
        )
    try:
        payload: Any = json.loads(response.content)
        if kind.wire == "ollama":
            return [str(model["name"]) for model in payload["models"]]
        return [str(model["id"]) for model in payload["data"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidResponse(f"{where} did not answer with a model listing") from exc
