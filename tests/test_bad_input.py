"""Hostile and broken input: each gets one located explanation and the documented exit code,
in a real process — never a traceback, never a hang, never more than a few seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers import Result, axoc_process

LIMIT_S = 20  # a hang fails the test long before CI's limit; the budget asserted is "a few s"


def check(path: Path | str, *extra: str) -> Result:
    started = time.monotonic()
    result = axoc_process("check", str(path), *extra, timeout=LIMIT_S)
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.out + result.err
    assert elapsed < 10, f"took {elapsed:.1f} s"
    return result


def first_line(result: Result) -> str:
    return result.out.splitlines()[0]


def write(tmp_path: Path, content: bytes | str, name: str = "x.axoc.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    result = check(path)
    assert result.code == 1
    assert (
        first_line(result)
        == f"{path}:1:1: error: empty config: expected a mapping with keys such as agents and workflows [AX109]"
    )


def test_comments_only_is_empty(tmp_path: Path) -> None:
    result = check(write(tmp_path, "# nothing here\n\n"))
    assert result.code == 1 and "[AX109]" in first_line(result)


def test_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "agents: [\n  - id: a\n: : :\n}}}\n")
    result = check(path)
    assert result.code == 1
    assert first_line(result).startswith(f"{path}:2:3: error: YAML syntax error")
    assert first_line(result).endswith("[AX101]")


def test_prose_is_not_a_config(tmp_path: Path) -> None:
    result = check(write(tmp_path, "Dear team, please find the agents attached.\n"))
    assert result.code == 1
    assert "top level is a string" in first_line(result) and "[AX110]" in first_line(result)


def test_binary_garbage(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 40)
    result = check(path)
    assert result.code == 1
    assert (
        first_line(result)
        == f"{path}:1:8: error: binary file: NUL byte found; expected YAML text [AX106]"
    )


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, b"agents:\n  - id: caf" + b"\xe9\n")
    result = check(path)
    assert result.code == 1
    assert (
        first_line(result)
        == f"{path}:2:12: error: invalid UTF-8 byte 0xe9; save the file as UTF-8 [AX105]"
    )


def test_utf16(tmp_path: Path) -> None:
    result = check(write(tmp_path, "agents: []\n".encode("utf-16")))
    assert result.code == 1 and "UTF-16" in first_line(result)


def test_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, "- id: a\n- id: b\n")
    result = check(path)
    assert result.code == 1
    assert (
        first_line(result)
        == f"{path}:1:1: error: top level is a list; expected a mapping with keys such as agents and workflows [AX110]"
    )


def test_fifty_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "big.axoc.yaml"
    with path.open("wb") as handle:
        handle.write(b"agents:\n")
        line = b"  - {id: a, system_prompt: '" + b"x" * 200 + b"'}\n"
        for _ in range(50 * 1024 * 1024 // len(line) + 1):
            handle.write(line)
    result = check(path)
    assert result.code == 2
    assert first_line(result) == (
        f"{path}:1:1: error: file is {path.stat().st_size:,} bytes; configs are limited to "
        "20 MB (20,971,520 bytes) [AX112]"
    )


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deep_flow_nesting(tmp_path: Path, depth: int) -> None:
    path = write(tmp_path, "agents: " + "[" * depth + "]" * depth + "\n")
    result = check(path)
    assert result.code == 1
    assert "[AX108]" in first_line(result)
    assert first_line(result).startswith(f"{path}:1:")


def test_deep_block_nesting(tmp_path: Path) -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(2000)) + " " * 2000 + "v\n"
    result = check(write(tmp_path, text))
    assert result.code == 1
    assert "nested deeper than 100 levels [AX108]" in first_line(result)


def test_billion_laughs(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    result = check(write(tmp_path, "\n".join(lines) + "\n"))
    assert result.code == 1
    assert "aliases of this anchor expand to more than 100,000 nodes [AX107]" in first_line(result)


def test_recursive_alias(tmp_path: Path) -> None:
    result = check(write(tmp_path, "agents: &a [*a]\n"))
    assert result.code == 1
    assert "recursive alias" in first_line(result)


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "agents: !!python/object/apply:os.system ['echo pwned']\n")
    result = check(path)
    assert result.code == 1
    assert "unsupported YAML tag !!python/object/apply:os.system [AX114]" in first_line(result)
    assert "pwned" not in result.err


def test_directory_without_configs(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    result = check(tmp_path)
    assert result.code == 2
    assert (
        first_line(result)
        == f"{tmp_path}:1:1: error: no config files (axoc.yaml, *.axoc.yaml, axocoatl.yaml; .yml too) in this directory [AX113]"
    )


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.axoc.yaml"
    result = check(missing)
    assert result.code == 2
    assert first_line(result) == f"{missing}:1:1: error: no such file or directory [AX100]"


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "agents: []\n")
    path.chmod(0)
    try:
        if path.open("rb"):  # root can read anything: then the check is meaningless here
            pass
    except PermissionError:
        result = check(path)
        assert result.code == 2 and "[AX100]" in first_line(result)
    finally:
        path.chmod(0o600)


def test_directory_given_as_file_is_searched(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "axoc.yaml").write_text("agents: [{id: x, provider: echo}]\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "axoc.yaml").write_text("broken: [\n")
    result = check(tmp_path)
    assert result.code == 0
    assert result.out == "0 errors, 0 warnings in 1 file\n"


def test_usage_error_exit_2() -> None:
    result = axoc_process("check", "--format", "xml")
    assert result.code == 2
    assert "invalid choice: 'xml'" in result.err
    assert "Traceback" not in result.err


def test_every_problem_in_every_file_in_one_run(tmp_path: Path) -> None:
    one = write(tmp_path, "agents:\n  - {id: a, provider: echo, dpends_on: [b]}\n", "one.axoc.yaml")
    two = write(
        tmp_path,
        "agents:\n  - {id: a, provider: echo, depends_on: [zz]}\n  - {id: a, provider: echo}\n",
        "two.axoc.yaml",
    )
    result = check(one, str(two))
    assert result.code == 1
    codes = [line.rsplit("[", 1)[1] for line in result.out.splitlines() if ": error: " in line]
    assert codes == ["AX201]", "AX302]", "AX301]"]
    assert result.out.endswith("3 errors, 0 warnings in 2 files\n")
