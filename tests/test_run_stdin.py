"""`axoc run -i -` reads the input from stdin; input piped into `axoc run` without `-i -` is
not silently dropped (a warning says how to use it), and telling whether input waits never
blocks on an open pipe nothing was written to. Real processes, real pipes, a real terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from axoc.stdin import MAX_BYTES
from tests.conftest import ROOT

HELLO = str(ROOT / "examples" / "hello-world.axoc.yaml")
IGNORED = "warning: standard input is not read, so the run's input is empty; pass -i - to use it"
OUTPUT = (
    "summarizer <- Previous agent outputs: [researcher]: researcher <- {0} Original task: {0}\n"
)


def run(tmp_path: Path, *args: str, **options: object) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "axoc", "run", HELLO, "--dry-run", *args]
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*command, "--state-dir", str(tmp_path / "state")], capture_output=True, timeout=30,
        **options,
    )  # fmt: skip


def test_dash_reads_the_input_from_a_pipe(tmp_path: Path) -> None:
    done = run(tmp_path, "-i", "-", input="Why is the sky blue? ☀\n".encode())
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == OUTPUT.format("Why is the sky blue? ☀")  # the final \n dropped
    assert b"warning" not in done.stderr


def test_dash_keeps_every_line_but_the_last_break(tmp_path: Path) -> None:
    done = run(tmp_path, "-i", "-", input=b"line 1\r\nline 2\r\n")
    assert done.returncode == 0, done.stderr
    (journal,) = (tmp_path / "state").glob("runs/*/journal.jsonl")
    header = json.loads(journal.read_text(encoding="utf-8").splitlines()[0])
    assert header["input"] == "line 1\r\nline 2"  # what the run was given, as recorded


def test_dash_refuses_input_that_is_not_utf8_like_an_argument(tmp_path: Path) -> None:
    done = run(tmp_path, "-i", "-", input=b"abc\xffdef")
    assert done.returncode == 2
    assert done.stderr.decode() == (
        "axoc run: -i: the input is not valid UTF-8 (byte 0xff at character 4)\n"
    )
    assert not (tmp_path / "state" / "runs").exists()


def test_dash_refuses_endless_input(tmp_path: Path) -> None:
    done = run(tmp_path, "-i", "-", input=b"y\n" * (MAX_BYTES // 2 + 1))
    assert done.returncode == 2
    assert done.stderr.decode() == "axoc run: -i -: standard input holds more than 20 MB\n"


def test_text_piped_without_dash_is_not_silently_ignored(tmp_path: Path) -> None:
    done = run(tmp_path, input=b"Why is the sky blue?\n")
    assert done.returncode == 0
    assert IGNORED in done.stderr.decode()
    assert done.stdout == run(tmp_path, "-i", "").stdout  # ran on an empty input


def test_a_file_redirected_without_dash_warns_too(tmp_path: Path) -> None:
    question = tmp_path / "question.txt"
    question.write_text("Why?\n", encoding="utf-8")
    with question.open("rb") as handle:
        assert IGNORED in run(tmp_path, stdin=handle).stderr.decode()
    question.write_text("", encoding="utf-8")
    with question.open("rb") as handle:
        assert b"warning" not in run(tmp_path, stdin=handle).stderr  # nothing in it
    assert b"warning" not in run(tmp_path, stdin=subprocess.DEVNULL).stderr
    assert b"warning" not in run(tmp_path, "-i", "", input=b"x").stderr  # -i given: chosen


def test_an_open_pipe_with_nothing_in_it_neither_blocks_nor_warns(tmp_path: Path) -> None:
    reader, writer = os.pipe()  # the writer stays open: a read would wait forever
    try:
        started = time.monotonic()
        done = run(tmp_path, stdin=reader)
        assert time.monotonic() - started < 20
    finally:
        os.close(reader)
        os.close(writer)
    assert done.returncode == 0, done.stderr
    assert b"warning" not in done.stderr


def test_dash_on_a_terminal_says_how_to_end_the_input(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "axoc", "run", HELLO, "--dry-run", "-i", "-",
         "--state-dir", str(tmp_path / "state")],
        stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(follower)
    assert child.stderr is not None and child.stdout is not None
    ready, _, _ = select.select([child.stderr], [], [], 20)
    assert ready
    prompt = child.stderr.readline().decode()
    assert prompt == "axoc run: reading the input from the terminal; end it with Ctrl-D\n"
    os.write(leader, b"typed\n\x04")  # a line, then end of input
    out, _ = child.communicate(timeout=20)
    os.close(leader)
    assert child.returncode == 0
    assert out.decode() == OUTPUT.format("typed")


def test_input_given_with_resume_is_ignored_with_a_warning(tmp_path: Path) -> None:
    first = run(tmp_path, "-i", "q")
    assert first.returncode == 0
    (folder,) = (tmp_path / "state").glob("runs/*")
    journal = folder / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:3]))
    resumed = run(tmp_path, "--resume", folder.name, "-i", "other")
    assert resumed.returncode == 0
    assert b"-i is ignored with --resume: the run goes on with the input it started with" in (
        resumed.stderr
    )
    assert resumed.stdout == first.stdout
