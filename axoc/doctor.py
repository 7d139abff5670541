"""`axoc doctor [FILE]`: what stands between this machine and a run of a config.

In: a config (FILE, else the one config in the current directory), the environment, the state
directory. Out: one line per check, `ok`, `warn` or `FAIL`, with what to do about a failure —
the config is valid; each provider its agents use or it configures is reachable (within
`timeout` seconds, all providers at once), has its key, and serves every model its agents name;
the state directory is writable; the optional extras are installed. With `--json`, one object:
`{"checks": [{"status", "check", "message"}], "exit_code"}`. Exit 1 when a check fails, 0
otherwise, 2 on usage errors (a FILE that does not exist, several configs and none named).

Guaranteed: a key is never printed, nor its length: only the variable it is read from. The
state directory check leaves nothing behind. Nothing but the configured providers is contacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from axoc.discover import configs_here
from axoc.kernel.ports import ProviderError
from axoc.kernel.table import ProviderSpec, SignalTable
from axoc.pipeline import Compilation, compile_file
from axoc.providers import registry, urls
from axoc.providers.probe import Unlisted, list_models
from axoc.runnable import RunRefused
from axoc.runtime.providers import connection
from axoc.statedir import state_dir
from axoc.wording import plural

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_TIMEOUT = 3.0
DEV_EXTRAS = frozenset({"test", "bench"})  # for working on axoc, not for running it
Status = Literal["ok", "warn", "fail"]
_LABELS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str  # what was checked: "config axoc.yaml", a provider's name, "state directory"
    message: str

    def line(self) -> str:
        return f"{_LABELS[self.status]} {self.check}: {self.message}"


class Usage(Exception):
    """The command cannot run as asked (exit 2)."""


def doctor_command(path: str | None, as_json: bool, state: str | None, timeout: float) -> int:
    try:
        found = doctor(path, state, timeout)
    except Usage as exc:
        print(f"axoc doctor: {exc}", file=sys.stderr)
        if as_json:
            print(json.dumps({"checks": [], "error": str(exc), "exit_code": EXIT_USAGE}))
        return EXIT_USAGE
    code = EXIT_FAILED if any(f.status == "fail" for f in found) else EXIT_OK
    if as_json:
        checks = [{"status": f.status, "check": f.check, "message": f.message} for f in found]
        print(json.dumps({"checks": checks, "exit_code": code}, ensure_ascii=False))
    else:
        for finding in found:
            print(finding.line())
    return code


def doctor(path: str | None, state: str | None, timeout: float) -> list[Finding]:
    """Every check, in order: the config, its providers, the state directory, the extras."""
    config = _config_path(path)
    found: list[Finding] = []
    table: SignalTable | None = None
    unit: Compilation | None = None
    if config is None:
        found.append(Finding("warn", "config", "no config here (axoc.yaml, *.axoc.yaml); "
                             "name one: axoc doctor FILE"))  # fmt: skip
    else:
        unit = compile_file(config, os.environ)
        found.append(_config_finding(config, unit))
        table = unit.lowered.table if unit.lowered is not None else None
    if table is not None and unit is not None and unit.config is not None:
        written = list(registry.entries(unit.config.providers))
        keys = {n: k for n, s in written if isinstance(k := getattr(s, "api_key", None), str)}
        bases = {n: u for n, s in written if isinstance(u := getattr(s, "base_url", None), str)}
        found += asyncio.run(_providers(table, keys, bases, timeout))
    elif config is not None:
        found.append(Finding("warn", "providers", "not checked: the config does not compile"))
    found.append(_state_directory(state_dir(state)))
    found += _extras()
    return found


def _config_path(path: str | None) -> str | None:
    if path is not None:
        if not Path(path).is_file():
            raise Usage(f"{path}: no such file")
        return path
    files = configs_here()
    if len(files) > 1:
        raise Usage(f"several configs here ({', '.join(files)}): name one, axoc doctor FILE")
    return files[0] if files else None


def _config_finding(path: str, unit: Compilation) -> Finding:
    errors = len(unit.errors())
    warnings = len(unit.diagnostics) - errors
    name = f"config {path}"
    if errors:
        what = plural(errors, "error") + (f", {plural(warnings, 'warning')}" if warnings else "")
        return Finding("fail", name, f"{what} — see axoc check {path}")
    return Finding("ok", name, f"valid ({plural(warnings, 'warning')})" if warnings else "valid")


async def _providers(
    table: SignalTable, keys: dict[str, str], bases: dict[str, str], timeout: float
) -> list[Finding]:
    """Each provider that has a server (echo has none), checked at once; their findings in
    the table's order."""
    checks = [
        _provider(spec, table, keys, bases, timeout)
        for spec in table.providers
        if (kind := registry.get(spec.kind)) is None or kind.wire != "echo"
    ]
    done = await asyncio.gather(*checks)
    return [finding for findings in done for finding in findings]


async def _provider(
    spec: ProviderSpec,
    table: SignalTable,
    keys: dict[str, str],
    bases: dict[str, str],
    timeout: float,
) -> list[Finding]:
    name = spec.name
    kind = registry.get(spec.kind)
    if kind is None:
        return [Finding("fail", name, f"'{spec.kind}' is not a provider kind this axoc knows")]
    models = sorted({a.model for a in table.agents if a.provider == name and a.model})
    try:
        reached = connection(kind, spec, bases, keys)
    except RunRefused as refused:
        if refused.code == "missing_api_key":
            return [Finding("fail", name, f"{spec.api_key_env or 'its api_key'} is not set")]
        return [Finding("fail", name, str(refused).removeprefix(f"provider '{name}': "))]
    found: list[Finding] = []
    if kind.key != "none" and reached.api_key:
        source = spec.api_key_env if spec.api_key_env in os.environ else "the config"
        found.append(Finding("ok", name, f"key set (from {source})"))
    where = urls.shown(reached.base_url)
    try:
        served = await list_models(kind, reached, timeout)
    except registry.Unavailable as exc:
        return [*found, Finding("fail", name, f"not supported by this installation: {exc}")]
    except ValueError as exc:  # an adapter refusing its settings (a malformed base_url)
        return [*found, Finding("fail", name, str(exc))]
    except Unlisted as exc:
        return [*found, Finding("warn", name, f"{exc}; its reachability and models unchecked")]
    except TimeoutError:
        advice = kind.unreachable.format(name=name)
        return [*found, Finding("fail", name, f"no answer from {where} within {timeout:g} s "
                                              f"— {advice}")]  # fmt: skip
    except ProviderError as exc:
        return [*found, _provider_error(kind, name, where, spec, exc)]
    found.append(Finding("ok", name, f"reachable at {where} ({plural(len(served), 'model')})"))
    for model in models:
        if _serves(served, model):
            found.append(Finding("ok", name, f"model {model} available"))
        else:
            advice = kind.missing_model.format(model=model, name=name)
            found.append(Finding("fail", name, f"model {model} is not available — {advice}"))
    return found


def _provider_error(
    kind: registry.ProviderKind, name: str, where: str, spec: ProviderSpec, exc: ProviderError
) -> Finding:
    if exc.status in (401, 403):
        variable = spec.api_key_env or "its api_key"
        return Finding("fail", name, f"{where} refused the key (HTTP {exc.status}) — check "
                                     f"{variable}")  # fmt: skip
    if exc.status is not None:
        return Finding("fail", name, f"{where} answered HTTP {exc.status}: {exc}")
    text = str(exc)
    if "refused" in text.lower():
        why = "connection refused"
    elif "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        why = "host not found"
    else:
        why = text.replace(f"{where}: ", "")
    advice = kind.unreachable.format(name=name)
    return Finding("fail", name, f"cannot reach {where} ({why}) — {advice}")


def _serves(served: list[str], model: str) -> bool:
    """Whether `model` is among `served`, as providers name them: Ollama adds `:latest` to a
    name without a tag, Gemini prefixes `models/`."""
    return any(name in (model, f"{model}:latest", f"models/{model}") for name in served)


def _state_directory(root: Path) -> Finding:
    """Writable: a file made and removed in it; or, when it does not exist yet, a directory
    made and removed where it will be created."""
    check = f"state directory {root}/"
    if root.exists():
        if not root.is_dir():
            return Finding("fail", check, "exists and is not a directory")
        try:
            handle, probe = tempfile.mkstemp(prefix=".doctor-", dir=root)
            os.close(handle)
            os.unlink(probe)
        except OSError as exc:
            return Finding("fail", check, f"not writable ({exc.strerror or exc})")
        return Finding("ok", check, "writable")
    parent = root.absolute().parent
    while not parent.exists():
        parent = parent.parent
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=".axoc-doctor-", dir=parent))
    except OSError as exc:
        return Finding("fail", check, f"cannot be created in {parent} ({exc.strerror or exc})")
    return Finding("ok", check, "does not exist yet; the first run creates it")


def _extras() -> list[Finding]:
    """Each optional extra axoc declares (those for working on axoc aside): installed?"""
    try:
        meta = metadata.metadata("axoc")
        requirements = metadata.requires("axoc") or []
    except metadata.PackageNotFoundError:
        return [Finding("warn", "extras", "axoc is not installed as a package; not checked")]
    extras = [e for e in meta.get_all("Provides-Extra") or [] if e not in DEV_EXTRAS]
    if not extras:
        return [Finding("ok", "extras", "this version has no optional extras")]
    found = []
    for extra in extras:
        marker = f'extra == "{extra}"'
        wanted = [r.split(";")[0].strip() for r in requirements if marker in r]
        names = [_name(r) for r in wanted]
        missing = [n for n in names if not _installed(n)]
        if missing:
            found.append(Finding("warn", "extras", f"{extra} ({', '.join(missing)}) not "
                                 f"installed — pip install 'axoc[{extra}]'"))  # fmt: skip
        else:
            found.append(Finding("ok", "extras", f"{extra} installed"))
    return found


def _name(requirement: str) -> str:
    end = len(requirement)
    for stop in "<>=!~[ (":
        at = requirement.find(stop)
        if at != -1:
            end = min(end, at)
    return requirement[:end]


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
