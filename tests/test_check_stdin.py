"""`axoc check -` reads a config from stdin (for editors and pipes), named `<stdin>` in the
diagnostics or as `--stdin-filename` says. Real processes and pipes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from axoc.yamlload import MAX_BYTES
from tests.conftest import ROOT

BROKEN = b"agents:\n  - {id: a, provider: echo, depends_on: [zz]}\n"


def _run(args: tuple[str, ...], stdin: bytes) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "axoc", "check", *args],
        input=stdin, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_a_config_on_stdin_is_checked_as_a_file_named_stdin() -> None:
    code, out, err = _run(("-",), BROKEN)
    assert code == 1, err
    assert out.splitlines() == [
        "<stdin>:2:42: error: unknown agent 'zz' [AX302]",
        "    - {id: a, provider: echo, depends_on: [zz]}",
        "                                           ^^",
        "  hint: valid agents: a",
        "1 error, 0 warnings in 1 file",
    ]


def test_stdin_filename_names_it_in_every_format() -> None:
    code, out, _ = _run(("-", "--stdin-filename", "team.axoc.yaml", "--format", "json"), BROKEN)
    assert code == 1
    (found,) = json.loads(out)["diagnostics"]
    assert (found["file"], found["line"], found["column"]) == ("team.axoc.yaml", 2, 42)
    _, github, _ = _run(("--format", "github", "--stdin-filename", "t.yaml", "-"), BROKEN)
    assert github.startswith("::error file=t.yaml,line=2,col=42,")


def test_stdin_and_files_are_checked_together() -> None:
    hello = str(ROOT / "examples" / "hello-world.axoc.yaml")
    code, out, _ = _run((hello, "-"), BROKEN)
    assert code == 1
    assert out.splitlines()[0].startswith("<stdin>:2:42: error: unknown agent 'zz'")
    assert out.splitlines()[-1] == "1 error, 0 warnings in 2 files"
    clean, out, _ = _run(("-",), Path(hello).read_bytes())
    assert clean == 0 and out == "0 errors, 0 warnings in 1 file\n"


def test_bad_bytes_and_empty_input_on_stdin_are_located_diagnostics() -> None:
    code, out, _ = _run(("-",), b"agents:\n  - id: caf\xe9\n")
    assert code == 1
    assert out.startswith("<stdin>:2:12: error: invalid UTF-8 byte 0xe9; save the file as UTF-8")
    code, out, _ = _run(("-",), b"")
    assert code == 1 and out.startswith("<stdin>:1:1: error: empty config")


def test_too_much_on_stdin_is_refused_like_a_huge_file() -> None:
    code, out, err = _run(("-",), b"#" * (MAX_BYTES + 1))
    assert code == 2, err
    assert out.startswith("<stdin>:1:1: error: standard input holds more than 20 MB; ")
    assert "[AX112]" in out and "Traceback" not in err


def test_stdin_filename_without_dash_is_a_usage_error() -> None:
    code, out, err = _run(("--stdin-filename", "x.yaml"), BROKEN)
    assert code == 2 and out == ""
    assert err == "axoc check: --stdin-filename names standard input: pass - as a PATH\n"


def test_an_internal_error_on_stdin_never_hides_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from axoc import checks
    from tests.helpers import axoc

    real = checks.budgets

    def buggy(doc, config):  # type: ignore[no-untyped-def]
        if any(a.id == "boom" for a in config.agents):
            raise ValueError("a bug")
        return real(doc, config)

    monkeypatch.setattr(checks, "budgets", buggy)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"agents: [{id: boom}]\n")))
    other = tmp_path / "b.axoc.yaml"
    other.write_text("agents:\n  - {id: b, provider: echo, dpends_on: []}\n", encoding="utf-8")
    result = axoc("check", "-", str(other))
    assert result.code == 3
    assert "unknown key 'dpends_on'" in result.out  # the file's report is whole
    assert result.err == "axoc: internal error in <stdin>: ValueError: a bug (please report it)\n"
