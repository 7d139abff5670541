"""What a run's plan was compiled from, so that resuming it can run the plan it saved instead of
compiling again (docs/durability.md).

In: when a run starts, its config's bytes, the environment variables its compile read (`Reads`
notes their names) and the compiler itself — the source of every axoc module, the Python
version, and the installed files of the libraries that parse and validate a config. Out: a
`source` for the run's journal header, a digest over all of them and the names of the
variables (never their values). On resume, `saved` computes the digest again from the config
and the environment as they are now; the same digest gives the run's saved plan, anything else
None, and the caller compiles as it always did.

Guaranteed: compiling is a function of exactly these — `axoc.pipeline.compile_file` reads no
file but the config (a test proves it) and the environment only through the mapping it is
given, and the same compiler gives the same plan for the same text (compiling twice gives the
same bytes) — so a resume that runs the saved plan runs what compiling would give. A library
reinstalled, even at the same version, changes its files' modification times and so the
digest: that only costs a compile.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import axoc
import axoc.kernel
from axoc.kernel.table import SignalTable, TableError
from axoc.providers.urls import resolve
from axoc.readfile import MAX_CONFIG_BYTES, MAX_PLAN_BYTES, read_bounded
from axoc.runnable import Runnable, Target

#: The libraries a compile of a valid config runs: the YAML parser, the validator, and the
#: parser of activation expressions (networkx only describes cycles, which do not compile).
LIBRARIES = ("yaml", "pydantic", "pydantic_core", "lark")


class Reads(Mapping[str, str]):
    """The environment, noting the name of every variable looked up in it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.names: dict[str, None] = {}  # in the order first read
        self.listed = False  # every name was looked at: no short list covers what was read

    def __getitem__(self, name: str) -> str:
        self.names[name] = None
        return self._env[name]

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(self._env)

    def __len__(self) -> int:
        self.listed = True
        return len(self._env)


def fingerprint(config: bytes, env: Mapping[str, str], names: Iterable[str]) -> str:
    """The digest of a config's bytes, the values of `names` in `env` (set or not), and the
    compiler."""
    digest = hashlib.sha256(compiler().encode("ascii"))
    _add(digest, config)
    for name in sorted(set(names)):
        value = env.get(name)
        _add(digest, name.encode("utf-8", "surrogateescape"))
        _add(
            digest, b"\0unset" if value is None else b"=" + value.encode("utf-8", "surrogateescape")
        )
    return "sha256:" + digest.hexdigest()


def record(path: str, loaded: Runnable, reads: Reads) -> dict[str, Any]:
    """What a new run records in its header (`{"source": …}`) so that resuming it can skip
    compiling — nothing when that cannot be vouched for: the run needs a key only the config
    holds (a provider's, or a web tool's block), the environment was listed whole, or the file
    is no longer the text that was compiled (it changed meanwhile)."""
    text = loaded.text
    web = loaded.web_search is not None or loaded.fetch_url is not None  # only the config has them
    if text is None or reads.listed or web or not _without_the_config(loaded):
        return {}  # text None: a saved plan, not a config, was run
    from axoc.yamlload import decode  # loaded already: the config was just compiled

    try:
        data = read_bounded(path, MAX_CONFIG_BYTES)  # as the compiler reads it
    except OSError:
        return {}
    if len(data) > MAX_CONFIG_BYTES or decode(path, data)[0] != text:
        return {}
    digest = fingerprint(data, reads, reads.names)
    return {"source": {"digest": digest, "variables": list(reads.names), "note": loaded.note}}


def _without_the_config(loaded: Runnable) -> bool:
    """Whether a run finds what it needs of its providers without the config too: every key
    in the variable its provider names (`api_key: ${VAR}`, the common case), every base_url as
    its plan keeps it with its variables set (`axoc.runtime.providers`)."""
    specs = {spec.name: spec for spec in loaded.table.providers}
    for name, key in loaded.secrets.items():
        variable = specs[name].api_key_env if name in specs else None
        if key and "${" not in key and os.environ.get(variable or "") != key:
            return False
    for name, url in loaded.urls.items():
        planned = specs[name].base_url if name in specs else None
        try:
            if planned is not None and resolve(planned, os.environ) != url:
                return False
        except ValueError:  # a part the plan keeps as `(redacted)`: only the config has it
            return False
    return True


def saved(folder: Path, header: dict[str, Any], path: str, dry_run: bool) -> Runnable | None:
    """The plan of the run recorded in `folder` (its journal's `header`), when nothing it was
    compiled from has changed since and this resume needs no more than the run did (a dry run
    resumed as a real run needs its providers' variables): then preparing the run again would
    give this very plan, target and note. Anything else, or anything unreadable, gives None."""
    recorded, digest = header.get("source"), header.get("digest")
    if not isinstance(recorded, dict) or not isinstance(digest, str):
        return None
    names, note = recorded.get("variables"), recorded.get("note")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    if header.get("dry_run") is not False and not dry_run:
        return None
    try:
        config = read_bounded(path, MAX_CONFIG_BYTES)  # as the compiler reads it
        if fingerprint(config, os.environ, names) != recorded.get("digest"):
            return None
        plan = read_bounded(str(folder / "plan.json"), MAX_PLAN_BYTES).decode("utf-8")
        table = SignalTable.from_recorded(plan, digest)
    except (OSError, UnicodeDecodeError, TableError):
        return None
    target = Target(header.get("workflow"), header.get("skill"), header.get("agent"))
    return Runnable(table, target, {}, note if isinstance(note, str) else None)


def _add(digest: hashlib._Hash, data: bytes) -> None:
    """Length first, so that no two sequences of parts hash alike."""
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)


_COMPILER: list[str] = []


def compiler() -> str:
    """The compiler's own digest: the Python version, the source of every module of axoc (its
    kernel included), and the files of `LIBRARIES`. Computed once per process."""
    if not _COMPILER:
        digest = hashlib.sha256(sys.version.encode("utf-8"))
        for name, path in _sources():
            _add(digest, name.encode("utf-8", "surrogateescape"))
            _add(digest, path.read_bytes())
        for library in LIBRARIES:
            _add(digest, _installed(library).encode("utf-8", "surrogateescape"))
        _COMPILER.append(digest.hexdigest())
    return _COMPILER[0]


def _sources() -> list[tuple[str, Path]]:
    """axoc's modules, each by its name inside the package and its file: the kernel is a
    subpackage, or (in a checkout) a directory linked in."""
    found: dict[str, str] = {}
    for package, prefix in ((axoc, "axoc"), (axoc.kernel, "axoc/kernel")):
        root = os.path.dirname(package.__file__ or "")
        for relative, path in _files(root):
            if relative.endswith(".py"):
                found.setdefault(os.path.realpath(path), f"{prefix}/{relative}")
    return sorted((name, Path(path)) for path, name in found.items())


def _installed(library: str) -> str:
    """Where a library is installed, and the size and modification time of its files, found
    without importing it."""
    spec = importlib.util.find_spec(library)
    if spec is None or spec.origin is None:
        return f"{library}: not installed"
    if not spec.submodule_search_locations:  # a single module
        stat = os.stat(spec.origin)
        return f"{library}: {spec.origin} {stat.st_size} {stat.st_mtime_ns}"
    root = os.path.dirname(spec.origin)
    listed = []
    for relative, path in _files(root):
        stat = os.stat(path)
        listed.append(f"\n{relative} {stat.st_size} {stat.st_mtime_ns}")
    return f"{library}: {root}{''.join(listed)}"


def _files(root: str) -> list[tuple[str, str]]:
    """The files under `root` as (path relative to it, path), sorted; `__pycache__` left out
    (imports write it), and links to directories not followed (a checkout links the kernel in,
    `_sources` walks it on its own)."""
    found = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in names:
            path = os.path.join(folder, name)
            found.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    return sorted(found)
