"""The Axocoatl corpus: every config of Axocoatl's own repository, with its expected outcome.

`tests/fixtures/axocoatl/` holds the configs collected from github.com/axocoatl/axocoatl (its
YAML files, its documentation's snippets, the templates its CLI writes, its Rust tests'
fixtures); `SOURCES.yaml` records where each came from, what Axocoatl's loader does with it and
what axoc must do with it. The rule is SPEC §2: every config Axocoatl accepts, axoc accepts
(warnings allowed); the exceptions, each with a `why`, are the mistakes Axocoatl silently
accepts; everything Axocoatl's validation rejects, axoc rejects with the matching code.

Each config is checked by the installed `axoc` as a real process, in an environment with no
provider key and none of the file's `${VAR}` set: an accepted one must report no error, a
rejected one each of its expected codes (and no error at the paths listed under `no_errors_at`).
Every accepted config is then dry-run: each of its workflows, or each agent alone when it has
none, to the expected exit code, printing its output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from axoc.codes import CODES
from tests.helpers import Result

CORPUS = Path(__file__).resolve().parent / "fixtures" / "axocoatl"
MANIFEST = CORPUS / "SOURCES.yaml"
NOT_CONFIGS = {"SOURCES.yaml", "README.md"}
COMMIT = "ea4573c996da0a586cc527aae9fca02835d23de0"
AXOC = Path(sys.executable).parent / "axoc"  # the console script of the environment under test
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
LINES = re.compile(r"^([1-9][0-9]*)-([1-9][0-9]*)$")
TELLING = re.compile(r"error|warning|cannot|^axoc run ")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=SAFE_LOADER)


MANIFEST_DATA: dict[str, Any] = load_yaml(MANIFEST)
ENTRIES: list[dict[str, Any]] = MANIFEST_DATA["files"]


def environment(text: str) -> dict[str, str]:
    """This process's environment without any provider key and without the `${VAR}` the config
    uses (in comments too: Axocoatl interpolates the raw text), as on a machine that has none."""
    used = set(VARIABLE.findall(text))
    return {
        name: value
        for name, value in os.environ.items()
        if not name.endswith("_API_KEY") and name not in used
    }


def axoc(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Result:
    """Run the installed `axoc` command as a real process."""
    assert AXOC.exists(), f"no axoc next to {sys.executable}: pip install -e . first"
    done = subprocess.run(
        [str(AXOC), *args], capture_output=True, text=True, timeout=60, env=dict(env), cwd=cwd
    )
    return Result(done.returncode, done.stdout, done.stderr)


def shown(diagnostics: list[dict[str, Any]]) -> str:
    lines = [
        f"    {d['line']}:{d['column']}: {d['severity']}: {d['message']} [{d['code']}]"
        for d in diagnostics
    ]
    return "\n".join(lines) or "    (no diagnostics)"


def telling(text: str) -> str:
    """The lines of an output that say what happened: errors, a refusal, the run's summary line
    (or the last lines, when none does)."""
    lines = text.strip().splitlines()
    kept = [line for line in lines if TELLING.search(line)] or lines[-4:]
    return "\n".join(f"    {line}" for line in kept[:12]) or "    (nothing)"


def within(path: str | None, prefix: str) -> bool:
    """Whether a diagnostic's path (`agents[0].memory.backend`) is `prefix` or inside it."""
    return path is not None and (path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")))


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["file"] for entry in ENTRIES])
def test_axocoatl_config(entry: dict[str, Any], tmp_path: Path) -> None:
    path = CORPUS / entry["file"]
    env = environment(path.read_text(encoding="utf-8"))
    problems: list[str] = []

    checked = axoc(["check", str(path), "--format", "json"], env, tmp_path)
    try:
        diagnostics: list[dict[str, Any]] = json.loads(checked.out)["diagnostics"]
    except (json.JSONDecodeError, KeyError, TypeError):
        pytest.fail(
            f"axoc check exited {checked.code} without a JSON report:\n"
            f"{telling(checked.out)}\n{telling(checked.err)}"
        )
    errors = [d for d in diagnostics if d["severity"] == "error"]
    found = {d["code"] for d in errors}

    wrong = [d for d in errors if any(within(d["path"], p) for p in entry.get("no_errors_at", []))]
    if wrong:
        problems.append(f"check: errors where there must be none:\n{shown(wrong)}")
    if entry["axoc"] == "reject":
        missing = [code for code in entry["codes"] if code not in found]
        if checked.code != 1 or missing:
            problems.append(
                f"check: expected exit 1 with errors {', '.join(entry['codes'])}; got exit "
                f"{checked.code}, missing {', '.join(missing) or 'none'}; diagnostics:\n"
                f"{shown(diagnostics)}"
            )
    else:
        if checked.code != 0 or errors:
            problems.append(
                f"check: expected exit 0 and no error; got exit {checked.code}, "
                f"{len(errors)} error(s):\n{shown(errors)}"
            )
        state = tmp_path / "state"
        for run in entry["run"]:
            which = ["-w", run["workflow"]] if "workflow" in run else ["--agent", run["agent"]]
            dry_run = ["--dry-run", "-i", "hello", "--state-dir", str(state)]
            done = axoc(["run", str(path), *which, *dry_run], env, tmp_path)
            if done.code != run["exit"]:
                problems.append(
                    f"axoc run {' '.join(which)} --dry-run: expected exit {run['exit']}, got "
                    f"{done.code}; stderr:\n{telling(done.err)}"
                )
            elif run["exit"] == 0 and not done.out.strip():
                problems.append(f"axoc run {' '.join(which)} --dry-run: exit 0 but no output")

    if problems:
        pytest.fail(f"{entry['file']}:\n" + "\n".join(problems), pytrace=False)


def test_every_fixture_is_in_the_manifest_and_back() -> None:
    on_disk = {
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in NOT_CONFIGS
    }
    listed = [entry["file"] for entry in ENTRIES]
    assert len(listed) == len(set(listed)), "a file is listed twice in SOURCES.yaml"
    assert sorted(on_disk - set(listed)) == [], "fixtures missing from SOURCES.yaml"
    assert sorted(set(listed) - on_disk) == [], "SOURCES.yaml lists files that do not exist"


def entry_problems(entry: dict[str, Any]) -> list[str]:
    """What is wrong with one entry of SOURCES.yaml (nothing, for a well-formed one)."""
    out = []
    source = entry.get("source", {})
    lines = LINES.match(str(source.get("lines", "")))
    if not source.get("path") or not lines or int(lines[1]) > int(lines[2]):
        out.append(f"source needs a path and lines 'a-b' (a <= b): {source}")
    if source.get("commit") != COMMIT:
        out.append(f"source.commit is not {COMMIT}")
    if entry.get("kind") not in {"example", "doc", "template", "rust-test"}:
        out.append(f"unknown kind {entry.get('kind')!r}")
    if entry.get("upstream") not in {"accepts", "rejects"}:
        out.append(f"upstream must be accepts or rejects, not {entry.get('upstream')!r}")
    if entry.get("upstream") == "rejects" and not entry.get("upstream_reason"):
        out.append("upstream rejects it: say why in upstream_reason")
    verdict = entry.get("axoc")
    if verdict == "reject":
        codes = entry.get("codes") or []
        if not codes or any(code not in CODES for code in codes):
            out.append(f"a rejection needs codes from axoc/codes.py, not {codes}")
        if not entry.get("why"):
            out.append("a rejection needs a why")
        if "run" in entry:
            out.append("a rejected config has no dry runs")
        if not all(isinstance(p, str) and p for p in entry.get("no_errors_at", [])):
            out.append("no_errors_at is a list of diagnostic paths")
    elif verdict == "accept":
        if entry.get("upstream") == "rejects" and not entry.get("why"):
            out.append("upstream rejects it and axoc accepts it: say why")
        out += run_problems(entry)
    else:
        out.append(f"axoc must be accept or reject, not {verdict!r}")
    return out


def run_problems(entry: dict[str, Any]) -> list[str]:
    """The dry runs of an accepted config: one per workflow, or one per agent without workflows."""
    runs = entry.get("run")
    if not isinstance(runs, list):
        return ["an accepted config needs a run list (empty when it has no agents)"]
    out = []
    for run in runs:
        targets = {"workflow", "agent"} & set(run)
        if len(targets) != 1 or not isinstance(run.get("exit"), int):
            out.append(f"a run names one workflow or agent and an exit code: {run}")
        elif run["exit"] != 0 and not run.get("why"):
            out.append(f"say why {run} does not exit 0")
    config = load_yaml(CORPUS / entry["file"]) or {}
    workflows = [w["id"] for w in config.get("workflows") or []]
    agents = [a["id"] for a in config.get("agents") or []]
    expected = [("workflow", w) for w in workflows] or [("agent", a) for a in agents]
    listed = [next(((k, r[k]) for k in ("workflow", "agent") if k in r), ("?", None)) for r in runs]
    if listed != expected:
        out.append(f"runs {listed} should be {expected}")
    return out


def test_the_manifest_is_complete() -> None:
    problems = [
        f"{entry.get('file')}: {problem}" for entry in ENTRIES for problem in entry_problems(entry)
    ]
    for item in MANIFEST_DATA["skipped"]:
        lines = LINES.match(str(item.get("lines", "")))
        if not (item.get("path") and lines and item.get("reason")):
            problems.append(f"skipped entry needs path, lines 'a-b' and reason: {item}")
    assert problems == []
