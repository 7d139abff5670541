"""Resuming without compiling (docs/durability.md): when the config's bytes, the values of the
variables it read and the compiler are those the run recorded, `axoc run --resume` runs the plan
the run saved; when any of them differs, or the saved plan is not the one recorded, it compiles
and compares digests exactly as before — drift is refused as strictly as ever.

Also what makes that sound: compiling reads no file but the config, and a run records the names
of the variables its compile read, never their values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from axoc import fingerprint
from axoc.runnable import Runnable
from axoc.runtime import startup
from tests.conftest import ROOT
from tests.helpers import axoc, axoc_process

CONFIG = """\
providers:
  openai: {api_key: "${AXOC_TEST_KEY}"}
agents:
  - {id: first, provider: echo, model: "${AXOC_TEST_MODEL:-small}", system_prompt: "Say it."}
  - {id: second, provider: echo, depends_on: [first]}
workflows:
  - {id: w, agents: [first, second]}
"""
ENV = {"AXOC_TEST_KEY": "k-secret-value", "AXOC_TEST_MODEL": "tiny"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def interrupted_run(tmp_path: Path, text: str = CONFIG) -> tuple[Path, Path]:
    """A dry run of `text`, its journal cut after the first agent's tick: (config, run folder)."""
    config = tmp_path / "c.axoc.yaml"
    config.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    done = axoc("run", str(config), "--dry-run", "-i", "go", "--state-dir", str(state))
    assert done.code == 0, done.err
    (folder,) = state.glob("runs/*")
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    return config, folder


def resume(config: Path, folder: Path, *extra: str) -> tuple[int, str, str]:
    state = str(folder.parent.parent)
    done = axoc("run", str(config), "--dry-run", "--resume", folder.name, "--state-dir", state,
                *extra)  # fmt: skip
    return done.code, done.out, done.err


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The configs `axoc run` prepares (compiles) from now on."""
    compiled: list[str] = []
    prepare = startup.prepare

    def counted(path: str, *args: Any) -> Runnable:
        compiled.append(path)
        return prepare(path, *args)

    monkeypatch.setattr(startup, "prepare", counted)
    return compiled


def test_a_run_records_the_names_it_read_and_a_digest_never_a_value(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    _, folder = interrupted_run(tmp_path)
    first_line = (folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()[0]
    source = json.loads(first_line)["source"]
    assert source["variables"] == ["AXOC_TEST_KEY", "AXOC_TEST_MODEL"]
    assert source["digest"].startswith("sha256:")
    assert not any(value in first_line for value in ENV.values())


def test_an_unchanged_config_resumes_from_its_saved_plan(
    tmp_path: Path, env: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    config, folder = interrupted_run(tmp_path)
    compiles.clear()
    code, out, err = resume(config, folder)
    assert code == 0, err
    assert out.startswith("second <- ") and compiles == []


def test_it_does_not_even_load_the_compiler(tmp_path: Path, env: pytest.MonkeyPatch) -> None:
    config, folder = interrupted_run(tmp_path)
    probe = (
        "import json, sys\nfrom axoc.cli import main\n"
        f"code = main(['run', {str(config)!r}, '--dry-run', '--resume', {folder.name!r}, "
        f"'--state-dir', {str(folder.parent.parent)!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=ROOT)  # fmt: skip
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    assert not {"pydantic", "yaml", "axoc.pipeline"} & set(modules)


def rewrite(suffix: str) -> Callable[[Path, Path, pytest.MonkeyPatch], None]:
    def change(config: Path, folder: Path, env: pytest.MonkeyPatch) -> None:
        config.write_text(config.read_text(encoding="utf-8") + suffix, encoding="utf-8")

    return change


def another_key(config: Path, folder: Path, env: pytest.MonkeyPatch) -> None:
    env.setenv("AXOC_TEST_KEY", "k-another-value")  # read, but not in the plan


def another_compiler(config: Path, folder: Path, env: pytest.MonkeyPatch) -> None:
    env.setattr(fingerprint, "compiler", lambda: "an axoc upgraded since the run started")


def another_saved_plan(config: Path, folder: Path, env: pytest.MonkeyPatch) -> None:
    plan = folder / "plan.json"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace('"Say it."', '"Say it!"'), encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [rewrite("# a comment\n"), another_key, another_compiler, another_saved_plan],
    ids=["config bytes", "a variable's value", "the compiler", "the saved plan"],
)
def test_any_difference_makes_it_compile_and_compare_as_before(
    tmp_path: Path, env: pytest.MonkeyPatch, compiles: list[str],
    change: Callable[[Path, Path, pytest.MonkeyPatch], None],
) -> None:  # fmt: skip
    config, folder = interrupted_run(tmp_path)
    compiles.clear()
    change(config, folder, env)
    code, out, err = resume(config, folder)
    assert code == 0, err  # the plan compiled now is the recorded one: the run resumes
    assert out.startswith("second <- ") and compiles == [str(config)]


def test_a_variable_that_changes_the_plan_is_drift(
    tmp_path: Path, env: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    config, folder = interrupted_run(tmp_path)
    env.setenv("AXOC_TEST_MODEL", "large")
    code, _, err = resume(config, folder)
    assert code == 2 and "the config changed since run" in err
    assert "~ agent first: model 'tiny' → 'large'" in err and compiles[-1] == str(config)
    code, _, err = resume(config, folder, "--allow-config-drift")
    assert code == 0, err


def test_a_key_written_in_the_config_is_not_vouched_for(tmp_path: Path) -> None:
    _, folder = interrupted_run(tmp_path, CONFIG.replace("${AXOC_TEST_KEY}", "sk-written-here"))
    header = json.loads((folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert "source" not in header  # resuming needs the key, so it compiles the config


def test_compiling_reads_no_file_but_the_config() -> None:
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.axoc.yaml"))
    probe = (
        "import json, os, sys\nfrom axoc.pipeline import compile_file\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(args[0]) if event == 'open' else None)\n"
        f"for path in {examples!r}:\n    compile_file(path, os.environ)\n"
        "python = (sys.prefix, sys.base_prefix)  # libraries' own files\n"
        "names = [p for p in opened if isinstance(p, str) and not p.startswith(python)]\n"
        "names = [p for p in names if not p.endswith(('.py', '.pyc', '.so'))]  # modules\n"
        "names = [p for p in names if '__pycache__' not in p]  # modules compiled meanwhile\n"
        "names = [p for p in names if '-info' not in p]  # metadata, read by pydantic's plugin scan\n"
        "print(json.dumps(names))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=ROOT)  # fmt: skip
    assert sorted(set(json.loads(done.stdout.splitlines()[-1]))) == examples


def test_a_config_replaced_by_a_fifo_is_refused_not_waited_for(
    tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    config, folder = interrupted_run(tmp_path)
    config.unlink()
    os.mkfifo(config)  # reading it would wait for a writer forever
    done = axoc_process("run", str(config), "--dry-run", "--resume", folder.name,
                        "--state-dir", str(folder.parent.parent), timeout=30)  # fmt: skip
    assert done.code == 2 and "FIFO" in done.err, done.err


@pytest.mark.parametrize(
    ("base_url", "recorded"),
    [
        ("http://127.0.0.1:9/v1?key=${AXOC_TEST_KEY}", True),  # the plan keeps the ${VAR}
        ("http://user:pw-written-here@127.0.0.1:9/v1", False),  # the plan keeps (redacted)
    ],
)
def test_a_base_url_with_credentials_is_vouched_for_when_the_plan_can_rebuild_it(
    tmp_path: Path, env: pytest.MonkeyPatch, base_url: str, recorded: bool
) -> None:
    text = CONFIG.replace(
        'providers:\n  openai: {api_key: "${AXOC_TEST_KEY}"}\n',
        f'providers:\n  lab: {{kind: openai_compatible, base_url: "{base_url}", model: m}}\n',
    ).replace("provider: echo, depends_on", "provider: lab, depends_on")
    _, folder = interrupted_run(tmp_path, text)
    header = json.loads((folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert ("source" in header) is recorded
