"""Records already on disk with impossible token counts (written before counts were checked, or
tampered with): every reader reports them as located warnings and goes on. Before, one
4,300-digit count made every later `runs list` and `tokens report` on the state dir exit 3."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from axoc.kernel.checkpoint import Checkpoint, CheckpointStore, encode
from axoc.kernel.journal import Writer, read
from tests.conftest import ROOT
from tests.helpers import axoc

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")
HUGE = int("9" * 4300)  # the longest integer Python prints
IMPOSSIBLE = [[HUGE, 5], [-3, 5], [1.5, 2], [10**30, 1], "12"]


def dry_run(state: Path) -> str:
    result = axoc("run", HELLO, "--dry-run", "-i", "Why?", "--json", "--state-dir", str(state))
    assert result.code == 0, result.err
    return str(json.loads(result.out.splitlines()[0])["run_id"])


def rewrite(state: Path, run_id: str, usage: object, *, keep: int | None = None) -> None:
    """The run's journal written again (valid checksums) with the first outcome's usage
    replaced by `usage`, and only its first `keep` records, as if it had been cut short."""
    path = state / "runs" / run_id / "journal.jsonl"
    contents = read(path)
    records = contents.records[:keep] if keep is not None else contents.records
    first = next(r for r in records if r["k"] == "tick")
    first["o"][0]["u"] = usage
    path.unlink()
    header = {k: v for k, v in contents.header.items() if k not in ("format", "n")}
    writer = Writer(path, header)
    for record in records:
        writer.append(record["k"], **{k: v for k, v in record.items() if k not in ("k", "n")})
    writer.close()


@pytest.mark.parametrize("usage", IMPOSSIBLE, ids=["4300-digits", "negative", "float",
                                                   "10^30", "string"])  # fmt: skip
def test_reports_warn_where_the_count_is_and_exit_0(tmp_path: Path, usage: object) -> None:
    run_id = dry_run(tmp_path)
    rewrite(tmp_path, run_id, usage)
    where = f"{tmp_path / 'runs' / run_id / 'journal.jsonl'}: record "
    for command in (["runs", "list"], ["tokens", "report"], ["runs", "show", run_id],
                    ["tokens", "report", "--format", "json"]):  # fmt: skip
        result = axoc(*command, "--state-dir", str(tmp_path))
        assert result.code == 0, (command, result.err)
        assert where in result.err + result.out
        assert "the token usage of 'researcher' is not a possible count" in result.err + result.out
        assert "9999999999" not in result.out  # not counted
    report = json.loads(axoc("tokens", "report", "--format", "json",
                             "--state-dir", str(tmp_path)).out)  # fmt: skip
    assert "researcher" not in report["usage"] and report["usage"]["summarizer"]["total"] > 0


def test_a_count_python_cannot_read_is_a_corrupt_record(tmp_path: Path) -> None:
    run_id = dry_run(tmp_path)
    path = tmp_path / "runs" / run_id / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    tick = next(i for i, line in enumerate(lines) if b'"k":"tick"' in line)
    lines[tick] = lines[tick].replace(b'"u":[', b'"u":[' + b"9" * 5000 + b",", 1)
    path.write_bytes(b"".join(lines))
    for command in (["runs", "list"], ["tokens", "report"], ["runs", "show", run_id]):
        result = axoc(*command, "--state-dir", str(tmp_path))
        assert result.code == 0, (command, result.err)
        assert f"record {tick} (line {tick + 1}) is corrupt" in result.err + result.out


def test_a_resumed_run_does_not_charge_an_impossible_count(tmp_path: Path) -> None:
    run_id = dry_run(tmp_path)
    rewrite(tmp_path, run_id, [HUGE, 5], keep=2)  # started, researcher's tick: then killed
    resumed = axoc("run", HELLO, "--resume", run_id, "--dry-run", "--state-dir", str(tmp_path))
    assert resumed.code == 0, resumed.err
    assert "the token usage of 'researcher' is not a possible count" in resumed.err
    assert "9999999999" not in resumed.err


def test_a_checkpoint_with_an_impossible_count_is_skipped(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "agents")
    good = Checkpoint(agent="a", run="r", seq=1, turn=1, final=True,
                      transcript=(("user", "q"), ("assistant", "x")), usage=(3, 1),
                      cumulative=(3, 1), state={})  # fmt: skip
    store.write(good)
    bad = replace(good, seq=2, usage=(HUGE, 1), version=2)
    (store.folder("a") / f"{2:016}.json").write_bytes(encode(bad))
    loaded = store.load("a")
    assert [c.seq for c in loaded.checkpoints] == [1]
    assert any("not a possible count" in warning for warning in loaded.warnings)
