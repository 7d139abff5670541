"""`axoc check DIR` over hostile and healthy files mixed: no file's problem hides another's.

A property test (Hypothesis, derandomized: failures reproduce) writes a directory of configs
drawn from the kinds a new user and a fuzzer met — huge numbers (decimal and hex), tabs in the
indentation, byte-order marks, NUL bytes, bad UTF-8, deep nesting, alias bombs, unclosed quotes,
empty files, duplicate keys, healthy configs — and checks it whole. It never exits 3; every file's
diagnostics are exactly those it gets when checked alone; every position lies inside its file.
An internal error one file triggers is said for that file, after every other file's report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import axoc

HEALTHY = "agents:\n  - {id: AGENT, provider: echo}\nworkflows:\n  - {id: w, agents: [AGENT]}\n"
NUMBER = "agents:\n  - id: a\n    provider: echo\n    token_budget:\n      per_call: NUMBER\n"

ALIAS_BOMB = (
    "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    )
    + "\n"
).encode()

KINDS: dict[str, st.SearchStrategy[bytes]] = {
    "healthy": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True).map(
        lambda ident: HEALTHY.replace("AGENT", ident).encode()
    ),
    "huge number": st.sampled_from(
        ["9" * 5000, "0x" + "f" * 5000, "-" + "1" * 4400, "1" * 101]
    ).map(lambda n: NUMBER.replace("NUMBER", n).encode()),
    "tab": st.sampled_from([b"agents:\n\t- id: a\n", b"agents:\n  - id: a\n\tprovider: echo\n"]),
    "bom": st.sampled_from(
        [
            b"\xef\xbb\xbf" + HEALTHY.replace("AGENT", "b").encode(),
            b"\xff\xfe" + "agents: []\n".encode("utf-16-le"),
        ]
    ),
    "nul": st.binary(min_size=1, max_size=40).map(lambda b: b"agents: [a]\n" + b + b"\x00"),
    "bad utf-8": st.sampled_from([b"agents:\n  - id: \xff\n", b"name: \xc3\x28\n"]),
    "deep": st.sampled_from(
        [
            "".join(" " * i + f"k{i}:\n" for i in range(300)).encode(),
            b"agents: " + b"[" * 3000 + b"]" * 3000 + b"\n",
            b"agents:\n" + b"- " * 2000 + b"x\n",
        ]
    ),
    "aliases": st.just(ALIAS_BOMB),
    "unclosed": st.sampled_from([b"agents: [a, b\n", b"agents:\n  - id: 'a\n", b"x: {y: 1\n"]),
    "empty": st.sampled_from([b"", b"# nothing\n", b"\n\n"]),
    "duplicate": st.just(b"agents: []\nagents: []\n"),
    "random": st.binary(max_size=200),
}


def diagnostics_by_file(out: str) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    for d in json.loads(out)["diagnostics"]:
        found.setdefault(d["file"], []).append((d["line"], d["column"], d["code"], d["message"]))
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(sorted(KINDS)).flatmap(lambda kind: KINDS[kind]), min_size=2, max_size=6
    )
)
def test_one_bad_file_never_hides_another(tmp_path_factory: pytest.TempPathFactory,
                                          contents: list[bytes]) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("configs")
    paths = []
    for i, content in enumerate(contents):
        path = folder / f"c{i}.axoc.yaml"
        path.write_bytes(content)
        paths.append(path)
    together = axoc("check", "--format", "json", str(folder))
    assert together.code in (0, 1), together.err
    assert "Traceback" not in together.err
    found = diagnostics_by_file(together.out)
    for path in paths:
        alone = axoc("check", "--format", "json", str(path))
        assert alone.code in (0, 1)
        assert found.get(str(path), []) == diagnostics_by_file(alone.out).get(str(path), [])
        lines = path.read_bytes().count(b"\n") + 1
        for line, column, code, _ in found.get(str(path), []):
            assert isinstance(line, int) and isinstance(column, int)
            assert 1 <= line <= lines and column >= 1, (code, line, lines)


def test_an_internal_error_in_one_file_is_said_after_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from axoc import checks

    real = checks.budgets

    def buggy(doc, config):  # type: ignore[no-untyped-def]
        if any(a.id == "boom" for a in config.agents):
            raise ValueError("a bug")
        return real(doc, config)

    monkeypatch.setattr(checks, "budgets", buggy)
    (tmp_path / "a.axoc.yaml").write_text("agents:\n  - {id: boom, provider: echo}\n")
    (tmp_path / "b.axoc.yaml").write_text("agents:\n  - {id: b, provider: echo, dpends_on: []}\n")
    result = axoc("check", str(tmp_path))
    assert result.code == 3
    assert "unknown key 'dpends_on'" in result.out  # the other file's report is whole
    assert result.err == (
        f"axoc: internal error in {tmp_path / 'a.axoc.yaml'}: ValueError: a bug (please report it)\n"
    )
