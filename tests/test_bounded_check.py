"""What `check` reads, and what it prints, stays bounded and in place whatever the file is: a FIFO
or a device is refused before it is opened for reading; positions count only YAML 1.2's line
breaks and never point past the file; a long source line is shown as a window around the
problem, so output grows with the number of diagnostics, not with it times the line's length."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from axoc.yamlload import LOADERS, parse
from tests.helpers import axoc, axoc_process


@pytest.mark.parametrize("kind", ["fifo", "device", "link to a device"])
@pytest.mark.parametrize("command", ["check", "run", "plan"])
def test_what_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, kind: str, command: str
) -> None:
    path = tmp_path / "x.axoc.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path.symlink_to("/dev/zero")
    args = {"check": ["check"], "run": ["run", "--dry-run", "--state-dir", str(tmp_path / "s")],
            "plan": ["plan"]}[command]  # fmt: skip
    # a real process with a timeout: a blocked or endless read would hang, not fail
    result = axoc_process(*args[:1], str(path), *args[1:], timeout=20)
    assert result.code == 2, result.err
    assert "expected a regular file" in result.out + result.err


def test_plan_against_a_fifo_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "x.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo}\nworkflows:\n  - {id: w, agents: [a]}\n"
    )
    fifo = tmp_path / "old.json"
    os.mkfifo(fifo)
    result = axoc_process("plan", str(config), "--against", str(fifo), timeout=20)
    assert result.code == 1
    assert "a FIFO (named pipe), expected a regular file" in result.err


def test_a_plan_that_is_not_utf8_is_refused_not_a_crash(tmp_path: Path) -> None:
    config = tmp_path / "x.axoc.yaml"
    config.write_text(
        "agents:\n  - {id: a, provider: echo}\nworkflows:\n  - {id: w, agents: [a]}\n"
    )
    old = tmp_path / "old.json"
    old.write_bytes(b'{"format": "\xff"}')
    result = axoc("plan", str(config), "--against", str(old))
    assert result.code == 1
    assert "not UTF-8 text (byte 0xff at offset 12)" in result.err


# --- positions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("odd", ["\x85", "\u2028", "\u2029"])
def test_yaml_11_line_breaks_inside_strings_do_not_shift_lines(loader: str, odd: str) -> None:
    text = f'agents:\n  - id: a\n    system_prompt: "one{odd}two{odd}three"\n    dpends: 1\n'
    doc, _ = parse("f.yaml", text, loader)
    assert doc is not None
    assert doc.span(("agents", 0, "dpends"), key=True).line == 4
    assert doc.span(("agents", 0, "dpends"), key=True).column == 5


def test_the_shown_source_line_is_the_reported_one(tmp_path: Path) -> None:
    path = tmp_path / "x.axoc.yaml"
    path.write_text('agents:\n  - id: a\n    system_prompt: "x\x85y"\n    dpends: 1\n')
    result = axoc("check", str(path))
    assert f"{path}:4:5: error: unknown key 'dpends'" in result.out
    assert "\n      dpends: 1\n      ^^^^^^\n" in result.out


@pytest.mark.parametrize(
    "text",
    ["agents:\n  - id: a\n  x: [\n", "agents: [a, b", "a: 'x\n", "agents:\n  -", "a: !!int\n"],
)
def test_an_error_at_the_end_points_inside_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.axoc.yaml"
    path.write_text(text)
    result = axoc("check", "--format", "json", str(path))
    assert result.code == 1
    lines = re.split(r"\r\n|\r|\n", text)
    for d in json.loads(result.out)["diagnostics"]:
        assert 1 <= d["line"] <= len(lines)
        assert 1 <= d["column"] <= len(lines[d["line"] - 1]) + 1


# --- output bounded ------------------------------------------------------------------------------


def test_a_minified_config_with_thousands_of_typos_prints_a_bounded_report(tmp_path: Path) -> None:
    agents = ", ".join(f"{{id: a{i}, provider: echo, dpends_on: []}}" for i in range(3000))
    path = tmp_path / "x.axoc.yaml"
    path.write_text(f"agents: [{agents}]\n")
    assert path.stat().st_size > 120_000
    result = axoc("check", str(path))
    assert result.code == 1
    assert result.out.count("[AX201]") == 3000
    # each diagnostic: its header, a window of at most 160 characters (plus the '…' marks) and
    # its caret, and the hint; never the whole 140 KB line
    assert len(result.out) < 3000 * 500
    assert max(len(line) for line in result.out.splitlines()) < 200


def test_a_long_line_is_shown_around_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.axoc.yaml"
    prompt = "word " * 200
    path.write_text(f"agents: [{{id: a, provider: echo, system_prompt: '{prompt}', typo: 1}}]\n")
    result = axoc("check", str(path))
    shown, caret = result.out.splitlines()[1:3]
    assert shown.startswith("  …") and "typo: 1" in shown
    assert shown[caret.index("^") : caret.index("^") + 4] == "typo"


def test_a_secret_on_a_long_line_is_still_masked(tmp_path: Path) -> None:
    path = tmp_path / "x.axoc.yaml"
    prompt = "word " * 100
    path.write_text(
        f"providers: {{openai: {{api_key: sk-live-secret, model: '{prompt}', tpyo: 1}}}}\n"
    )
    result = axoc("check", str(path))
    assert "sk-live-secret" not in result.out
    assert "unknown key 'tpyo'" in result.out


# --- the compiler's work is bounded: each example of the hostile audit, as a located error -----


def _check(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    path = tmp_path / "x.axoc.yaml"
    path.write_text(text, encoding="utf-8")
    result = axoc_process("check", "--format", "json", str(path), env=env, timeout=60)
    assert result.code in (0, 1, 2), result.err  # never 3
    return json.loads(result.out)["diagnostics"]  # type: ignore[no-any-return]


def _agents(n: int) -> str:
    """`n` agents b0… beside `a`, all in one workflow (expressions are lowered in workflows)."""
    members = ", ".join(["a", *(f"b{i}" for i in range(n))])
    agents = "".join(f"  - {{id: b{i}, provider: echo}}\n" for i in range(n))
    return agents + f"workflows:\n  - {{id: w, agents: [{members}]}}\n"


@pytest.mark.parametrize(
    "activation",
    [
        " or ".join(f"(b{i} and b{i + 1})" for i in range(18)),  # 18 alternatives
        "b0 and 12 of (" + ", ".join(f"b{i}" for i in range(1, 25)) + ")",  # C(24, 12) terms
        "8 of (" + ", ".join(f"(b{i} and b{i + 1})" for i in range(16)) + ")",
        " and ".join(f"any(b{i}, b{i + 1})" for i in range(20)),  # 2^20 terms
    ],
)
def test_activation_expressions_that_explode_are_refused_before_they_do(
    tmp_path: Path, activation: str
) -> None:
    text = f'agents:\n  - {{id: a, provider: echo, activation: "{activation}"}}\n' + _agents(26)
    found = _check(tmp_path, text)
    assert [d["code"] for d in found if d["severity"] == "error"] == ["AX502"]
    assert "alternative units" in str(found[0]["message"])


@pytest.mark.parametrize(
    ("activation", "words"),
    [
        ("9" * 4301 + " of (b0, b1)", "4,301-digit k of (2 items) can never hold"),
        ("0x" + "f" * 4000 + " of (b0)", "unexpected"),
        ("any(" * 400 + "b0" + ")" * 400, "parentheses nested deeper than 32 levels"),
        ("all(" * 33 + "b0" + ")" * 33, "parentheses nested deeper than 32 levels"),
    ],
)
def test_hostile_expression_parts(tmp_path: Path, activation: str, words: str) -> None:
    text = f'agents:\n  - {{id: a, provider: echo, activation: "{activation}"}}\n' + _agents(2)
    found = _check(tmp_path, text)
    assert any(words in str(d["message"]) for d in found), found


@pytest.mark.parametrize(
    "text",
    [
        "providers: x\nagents:\n  - {id: a, model: m}\n",
        "providers: [1]\nagents:\n  - {id: a, model: m}\n",
        "agents:\n  - {id: a, provider: echo}\nschedules:\n  - {id: s, workflow: w, every: '"
        + "9" * 400
        + "m'}\nworkflows:\n  - {id: w, agents: [a]}\n",
        "agents:\n  - {id: a, provider: echo, token_budget: {per_call: 0x" + "f" * 4000 + "}}\n",
    ],
)
def test_hostile_values_are_located_errors(tmp_path: Path, text: str) -> None:
    found = _check(tmp_path, text)
    assert any(d["severity"] == "error" for d in found)


def test_a_self_loop_and_a_longer_cycle_are_both_reported(tmp_path: Path) -> None:
    text = (
        "agents:\n  - {id: a, provider: echo, depends_on: [a, b]}\n"
        "  - {id: b, provider: echo, depends_on: [c]}\n  - {id: c, provider: echo, depends_on: [a]}\n"
    )
    found = _check(tmp_path, text)
    assert sorted(str(d["message"]) for d in found) == [
        "dependency cycle: a → a",
        "dependency cycle: a → b → c → a",
    ]


def test_interpolation_output_is_bounded(tmp_path: Path) -> None:
    text = "agents:\n" + "".join(
        f"  - {{id: a{i}, provider: echo, system_prompt: '${{BIG}}'}}\n" for i in range(2000)
    )
    found = _check(tmp_path, text, env={"BIG": "x" * 100_000})  # 200 MB if substituted
    errors = [d for d in found if d["code"] == "AX304"]
    assert len(errors) == 1
    assert "interpolation adds more than 10,485,760 characters" in str(errors[0]["message"])


def test_a_huge_flow_list_is_refused_by_its_number_of_values(tmp_path: Path) -> None:
    text = "agents: [" + ", ".join(["a"] * 2_100_000) + "]\n"
    found = _check(tmp_path, text)
    assert [d["code"] for d in found] == ["AX112"]
    assert "more than 2,000,000 values" in str(found[0]["message"])


def test_a_file_is_split_into_lines_once_however_many_diagnostics_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20,000 duplicate ids took 202 s to print: the file was split once per diagnostic."""
    from axoc import report

    splits: list[int] = []
    real = report._BREAK

    class Counting:
        def split(self, text: str) -> list[str]:
            splits.append(len(text))
            return real.split(text)

    monkeypatch.setattr(report, "_BREAK", Counting())
    path = tmp_path / "x.axoc.yaml"
    path.write_text("agents:\n" + "  - {id: a, provider: echo}\n" * 2000)
    result = axoc("check", str(path))
    assert result.out.count("[AX301]") == 1999
    assert len(splits) == 1
