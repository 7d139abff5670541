"""Cold processes, timed as a user meets them: shared by the benchmarks of this directory.

In: commands (argument lists), and the code to run `axoc` from (this checkout, or another
revision unpacked by `Code.at`). Out: wall times, each command's runs taken in turns with the
others' so that drift on a shared machine hits all alike; and, for a resumed run, the time from
its start to the first activation its journal did not record.

Every process gets the environment of this one without PYTHONDONTWRITEBYTECODE: an installed
tool runs from compiled bytecode (pip compiles it at install time; a checkout writes
`__pycache__` on first import), and every command runs once untimed first, which writes it. A
tool compiling its sources on every start would be timed doing what no user's install does.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POLL_S = 0.0005  # how often a resumed run's journal is looked at


class ColdError(Exception):
    """A command failed: its timing would mean nothing."""


def environment(code: Path | None = None) -> dict[str, str]:
    """This process's environment, bytecode allowed; with `code`, axoc imported from there."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    return env


@dataclass(frozen=True)
class Code:
    """Where `axoc` is run from: this checkout (`path` None: the installed console script), or
    the tree of another revision, run as `python -m axoc` with it first on the path."""

    label: str
    path: Path | None = None

    def axoc(self, *args: str) -> list[str]:
        if self.path is None:
            return [str(BIN / "axoc"), *args]
        return [sys.executable, "-m", "axoc", *args]

    def env(self) -> dict[str, str]:
        return environment(self.path)

    def cwd(self) -> Path:
        """Where to start it: `python -m` puts the working directory first on the path, so
        another revision runs from its own tree."""
        return self.path or ROOT

    def command(self, *args: str) -> Command:
        return Command(self.axoc(*args), self.env(), self.cwd())

    @classmethod
    def at(cls, revision: str, into: Path) -> Code:
        """The tree of `revision` of this repository, unpacked under `into` (`git archive`)."""
        target = into / f"code-{revision.replace('/', '_')}"
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
            capture_output=True, check=False,
        )  # fmt: skip
        if archive.returncode != 0:
            raise ColdError(f"git archive {revision}: {archive.stderr.decode().strip()}")
        target.mkdir(parents=True)
        with tempfile.TemporaryFile() as tar:
            tar.write(archive.stdout)
            tar.seek(0)
            with tarfile.open(fileobj=tar) as unpacked:
                unpacked.extractall(target, filter="tar")
        return cls(revision, target)


@dataclass
class Timing:
    runs_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def min_s(self) -> float:
        return min(self.runs_s)

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median_s, "min_s": self.min_s, "runs_s": self.runs_s}


@dataclass(frozen=True)
class Command:
    """One command to time: its arguments, environment and working directory."""

    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=environment)
    cwd: Path = ROOT

    def run(self) -> float:
        """Wall time of one run, its output discarded; a non-zero exit aborts."""
        start = time.perf_counter()
        code = subprocess.call(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=self.env, cwd=self.cwd)  # fmt: skip
        elapsed = time.perf_counter() - start
        if code != 0:
            raise ColdError(f"{' '.join(self.argv)} exited {code}")
        return elapsed

    def check(self) -> None:
        """Run once untimed (writes bytecode, warms the disk cache); it must exit 0."""
        done = subprocess.run(self.argv, capture_output=True, text=True, env=self.env,
                              cwd=self.cwd, check=False)  # fmt: skip
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()[-2000:]
            raise ColdError(f"{' '.join(self.argv)} exited {done.returncode}\n{tail}")


def python(code: str, env: dict[str, str] | None = None) -> Command:
    """`python -c CODE`: the start-up floors."""
    return Command([sys.executable, "-c", code], env or environment())


def interleaved(commands: dict[str, Command], runs: int) -> dict[str, Timing]:
    """Each command checked once, then `runs` rounds of one run of each, in turn."""
    for command in commands.values():
        command.check()
    timings = {label: Timing() for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            timings[label].runs_s.append(command.run())
    return timings


# -- resuming ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interrupted:
    """A dry run of `config` made by `code`, recorded in `state`, cut after half its records
    (as a `kill -9` half-way through would leave it): each resume starts from a copy."""

    code: Code
    config: Path
    state: Path
    run_id: str
    cut: bytes

    @classmethod
    def make(cls, code: Code, config: Path, state: Path) -> Interrupted:
        done = subprocess.run(
            code.axoc("run", str(config), "--dry-run", "-i", "x", "--state-dir", str(state)),
            capture_output=True, text=True, env=code.env(), cwd=code.cwd(), check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise ColdError(f"the run to interrupt failed: {done.stderr.strip()[-2000:]}")
        (folder,) = (state / "runs").iterdir()
        lines = (folder / "journal.jsonl").read_bytes().splitlines(keepends=True)
        return cls(code, config, state, folder.name, b"".join(lines[: 1 + (len(lines) - 2) // 2]))

    def resume_once(self, scratch: Path) -> float:
        """Seconds from starting `axoc run --resume` to its journal growing past the cut: the
        `started` record of the first activation the journal did not record, written before
        that activation runs."""
        if scratch.exists():
            shutil.rmtree(scratch)
        shutil.copytree(self.state, scratch, ignore=shutil.ignore_patterns("lock"))
        journal = scratch / "runs" / self.run_id / "journal.jsonl"
        journal.write_bytes(self.cut)
        argv = self.code.axoc("run", str(self.config), "--resume", self.run_id, "--dry-run",
                              "--state-dir", str(scratch))  # fmt: skip
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=self.code.env(), cwd=self.code.cwd())  # fmt: skip
        first = None
        while child.poll() is None:
            if first is None and journal.stat().st_size > len(self.cut):
                first = time.perf_counter() - start
            time.sleep(POLL_S)
        err = child.stderr.read().decode() if child.stderr else ""
        if child.returncode != 0 or first is None:
            raise ColdError(f"resuming {self.run_id} ({self.code.label}): exit "
                            f"{child.returncode}, {err.strip()[-2000:]}")  # fmt: skip
        return first
