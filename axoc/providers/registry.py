"""The provider kinds axoc knows, and what each declares: the one place that names providers.

In: the kind modules listed in `KIND_MODULES` (`axoc.providers.kinds.<name>`, each defining
`KIND`), plus any kind `register`ed before the config models are built. Out: `ProviderKind`
records — a kind's name, the model of its `providers:` entry, its default base URL, the
variable its key is read from and whether it needs one, how it is built into a kernel
`Provider`, how `axoc doctor` reaches it — and the lookups `axoc.config`, `axoc.validate`,
`axoc.lower`, `axoc.checks`, `axoc.runnable`, the run's composition and `axoc doctor` use
instead of naming providers.

Guaranteed: importing this module, or looking a kind up, imports no adapter, no httpx and no
pydantic (a saved plan runs without them): a kind's settings model is loaded with the config
(`ProviderKind.settings_model`), its adapter by `ProviderKind.build`, when a run or `doctor`
builds one.
Adding a provider that speaks a wire format axoc has is one module in `axoc/providers/kinds/`
plus its name in `KIND_MODULES` (docs/providers.md).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel

    from axoc.kernel.ports import Provider

# In the order the config's `providers:` section, the schema and the docs list them.
KIND_MODULES = (
    "echo",
    "ollama",
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "openrouter",
    "openai_compatible",
)
KeyNeed = Literal["none", "optional", "required"]
Wire = Literal["echo", "ollama", "openai", "anthropic", "gemini"]
# `${VAR}` or `${VAR:-default}`, the whole value (spaces around it allowed)
_ENV_REF = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}\s*")
# the function names of OpenAI's chat completions and Anthropic's Messages API (Mistral and
# OpenRouter speak OpenAI's); Gemini's also take '.' and ':', and start with a letter or '_'
OPENAI_TOOL_NAMES = r"[A-Za-z0-9_-]{1,64}"
OPENAI_TOOL_NAMES_SAID = "letters, digits, '_' and '-', at most 64 characters"


@dataclass(frozen=True, slots=True)
class Connection:
    """What building one provider takes, resolved for this process: its entry's name, the URL
    to call (variables set) and its key. Held in memory only, never written or shown."""

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)


class Unavailable(Exception):
    """This installation cannot build a provider of this kind (its adapter is missing)."""


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """One kind of provider.

    `settings` is the pydantic model of its `providers:` entry, or the name of one in
    `axoc.providers.settings` (loaded when the config is: a saved plan runs without pydantic),
    or None: it has no entry (echo);
    `named` kinds are those of servers the user names (`providers.<name>: {kind: <kind>}`),
    the others have a section of their own, `providers.<name>`, described by `summary`.
    `key` says whether it takes a key; `key_env` is the variable read when the entry writes no
    `api_key: ${VAR}` (None: `<NAME>_API_KEY` of the entry's name). `build` imports its adapter
    and makes one; `wire` is the protocol it speaks, which says how `axoc doctor` lists its
    models when the adapter cannot; `unreachable` and `missing_model` are doctor's advice
    (`{name}`, `{model}` are filled in); `tool_names` the names of tools its API accepts."""

    name: str
    summary: str
    settings: type[BaseModel] | str | None
    build: Callable[[Connection], Provider]
    wire: Wire
    default_base_url: str | None = None
    key: KeyNeed = "none"
    key_env: str | None = None
    named: bool = False
    unreachable: str = "check providers.{name}.base_url"
    missing_model: str = "check the model name"
    # the tool names its API accepts (a regular expression), and that rule in words; None: it
    # states none (`axoc check` AX409 refuses a listed tool the kind's API would refuse)
    tool_names: str | None = None
    tool_names_said: str = ""

    def refuses_tool(self, name: str) -> bool:
        return self.tool_names is not None and re.fullmatch(self.tool_names, name) is None

    def settings_model(self) -> type[BaseModel]:
        """The model of this kind's `providers:` entry (a kind without one has none)."""
        if self.settings is None:
            raise LookupError(f"provider kind '{self.name}' takes no settings")
        if isinstance(self.settings, str):
            from axoc.providers import settings

            model: type[BaseModel] = getattr(settings, self.settings)
            return model
        return self.settings

    def key_variable(self, name: str, written: object) -> str | None:
        """The environment variable holding the key of entry `name`, whose `api_key` is
        `written` (as the config writes it, before interpolation); never the key itself."""
        if isinstance(written, str):
            match = _ENV_REF.fullmatch(written)
            if match:
                return match.group(1)
        if self.key == "none" or (self.key == "optional" and written is None):
            return None
        return self.key_env or f"{name.upper().replace('-', '_')}_API_KEY"


_KINDS: dict[str, ProviderKind] = {}


def _loaded() -> dict[str, ProviderKind]:
    if not _KINDS:
        for module in KIND_MODULES:
            kind: ProviderKind = importlib.import_module(f"axoc.providers.kinds.{module}").KIND
            _KINDS.setdefault(kind.name, kind)
    return _KINDS


def register(kind: ProviderKind) -> None:
    """Add `kind` (a plug-in, a test). The config's `providers:` section is assembled when
    `axoc.config` is first imported: register before that for `providers.<name>` to exist."""
    kinds = _loaded()
    if kind.name in kinds:
        raise ValueError(f"provider kind '{kind.name}' is already registered")
    if kind.named and any(k.named for k in kinds.values()):
        raise ValueError("only one kind of named provider is supported")
    kinds[kind.name] = kind


def get(name: str) -> ProviderKind | None:
    """The kind called `name`, if there is one."""
    return _loaded().get(name)


def kinds() -> tuple[ProviderKind, ...]:
    return tuple(_loaded().values())


def builtin() -> tuple[str, ...]:
    """The providers an agent may name without configuring them (each kind that is not a
    kind of named servers), in order."""
    return tuple(kind.name for kind in _loaded().values() if not kind.named)


def sections() -> tuple[ProviderKind, ...]:
    """The kinds with a section of their own under `providers:`."""
    return tuple(k for k in _loaded().values() if not k.named and k.settings is not None)


def named() -> ProviderKind:
    """The kind of servers the user names (`kind: openai_compatible`)."""
    return next(k for k in _loaded().values() if k.named)


def entries(section: BaseModel) -> Iterator[tuple[str, BaseModel]]:
    """The entries the config's `providers:` section sets: each kind's own, then the named
    servers, in the order the config writes them."""
    for kind in sections():
        settings = getattr(section, kind.name, None)
        if settings is not None:
            yield kind.name, settings
    yield from (section.model_extra or {}).items()


def entry(section: BaseModel, name: str) -> BaseModel | None:
    """The settings of provider `name` in the `providers:` section, if it sets them."""
    found = getattr(section, name, None) if name in section.__class__.model_fields else None
    return found if found is not None else (section.model_extra or {}).get(name)


def kind_of(name: str, settings: object) -> ProviderKind | None:
    """The kind of provider `name` with `settings` (None: not configured): a named server's
    `kind`, else the kind called `name`."""
    written = getattr(settings, "kind", None)
    return get(written if isinstance(written, str) else name)
