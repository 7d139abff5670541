"""The settings of a `providers:` entry, one pydantic model per shape of entry.

In: nothing. Out: `OllamaProvider` (a local server: base_url, model), `HostedProvider` (a hosted
API: api_key, base_url, model), `CompatibleProvider` (a named OpenAI-compatible server: kind,
base_url, api_key, model), each with the provider's limits (`max_concurrency`,
`requests_per_minute`). The kinds of `axoc.providers.kinds` name which one their entry is;
`axoc.config` assembles the `providers:` section from them, and `axoc schema` documents them.

Guaranteed: validated as every model of the config is (unknown keys refused, strict types,
frozen); pydantic only, so `axoc check` loads no adapter by reading them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """The configuration of every model of the config (as `axoc.config.Model`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


Concurrency = Annotated[int, Field(ge=1)]
PerMinute = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _max_concurrency() -> Any:
    return Field(
        None,
        description=(
            "Most requests in flight to this provider at once, across all the agents of a run; "
            "the others wait for a slot (the wait counts against their timeout, not budgets)."
        ),
        examples=[4],
    )


def _requests_per_minute() -> Any:
    return Field(
        None,
        description=(
            "Most requests sent to this provider per minute, across all the agents of a run, "
            "evenly spaced; a 429 with Retry-After pauses the whole provider that long."
        ),
        examples=[60],
    )


class OllamaProvider(Settings):
    """A local Ollama server."""

    base_url: str = Field("http://localhost:11434", description="Server URL.")
    model: str | None = Field(None, description="Default model.", examples=["llama3.2"])
    max_concurrency: Concurrency | None = _max_concurrency()
    requests_per_minute: PerMinute | None = _requests_per_minute()


class HostedProvider(Settings):
    """A hosted API; api_key is read from ${VAR} and never printed."""

    api_key: str | None = Field(
        None, description="API key; write ${VAR}, never the key itself.", examples=["${API_KEY}"]
    )
    base_url: str | None = Field(None, description="Override of the API URL.")
    model: str | None = Field(None, description="Default model.")
    fallback: str | None = Field(
        None, description="Axocoatl's fallback provider/model; not supported yet, ignored."
    )
    max_concurrency: Concurrency | None = _max_concurrency()
    requests_per_minute: PerMinute | None = _requests_per_minute()


class CompatibleProvider(Settings):
    """A named OpenAI-compatible server (LM Studio, vLLM, MLX, ...)."""

    kind: Literal["openai_compatible"] = Field(
        description=(
            "Protocol spoken by the server; the only kind of a named provider (reach another "
            "Ollama server through its OpenAI API: base_url http://HOST:11434/v1)."
        )
    )
    base_url: str = Field(description="Server URL.", examples=["http://localhost:1234/v1"])
    api_key: str | None = Field(None, description="API key if the server wants one; use ${VAR}.")
    model: str | None = Field(None, description="Default model.")
    max_concurrency: Concurrency | None = _max_concurrency()
    requests_per_minute: PerMinute | None = _requests_per_minute()
