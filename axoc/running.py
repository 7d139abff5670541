"""`axoc run`: wire a table, providers and the kernel's driver.

In: a config or a saved plan, the run's target (`-w` workflow or `--fire` skill), the input.
Out: the final output (the sinks' outputs in topological order) on stdout — or, with `--json`,
one JSON object per event —, a live status on stderr when it is a terminal, a summary with the
stop reason, a usage record in the state directory, and the exit code of the stop reason
(completed 0, failed 1, config or usage error 2, budget_exhausted 4, max_activations 5,
timeout 6, interrupted 130). Nothing is sent to a provider before every check has passed:
the config compiles without errors, no `${VAR}` is unset, every provider has what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from axoc import process, runs, stdin
from axoc.diagnostics import Diagnostic
from axoc.fingerprint import Reads, record, saved
from axoc.kernel.checkpoint import Checkpointer, CheckpointError, CheckpointStore
from axoc.kernel.driver import Driver, RunResult, random_seed
from axoc.kernel.durable import Recorder, Replay, ReplayMismatch
from axoc.kernel.journal import Writer
from axoc.kernel.ports import Provider
from axoc.kernel.table import ProviderSpec
from axoc.plan import diff
from axoc.providers.echo import EchoProvider
from axoc.providers.urls import resolve
from axoc.report import as_dict
from axoc.runnable import Runnable, RunRefused, Target, prepare
from axoc.statedir import state_dir
from axoc.wording import plural

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_URLS = {
    "ollama": "http://localhost:11434",
    "openai": "https://api.openai.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}
_OPENAI_LIKE = ("openai", "mistral", "openrouter", "openai_compatible")


def providers(loaded: Runnable, dry_run: bool) -> dict[str, Provider]:
    echo = EchoProvider()
    built: dict[str, Provider] = {"echo": echo}
    for spec in loaded.table.providers:
        if dry_run or spec.kind == "echo":
            built[spec.name] = echo
        elif spec.kind == "ollama":
            from axoc.providers.ollama import OllamaProvider

            local = _url(spec, loaded) or DEFAULT_URLS["ollama"]
            built[spec.name] = OllamaProvider(base_url=local)
        elif spec.kind in _OPENAI_LIKE:
            from axoc.providers.openai import OpenAIProvider

            key = _key(spec.name, spec.kind, spec.api_key_env, loaded.secrets)
            url = _url(spec, loaded) or DEFAULT_URLS.get(spec.kind)
            if url is None:
                raise RunRefused(f"provider '{spec.name}' needs a base_url", "provider")
            built[spec.name] = OpenAIProvider(base_url=url, api_key=key)
        else:
            raise RunRefused(
                f"provider '{spec.name}' ({spec.kind}) is not supported by axoc run yet; "
                "use --dry-run, or an OpenAI-compatible endpoint",
                "provider",
            )
    return built


def _url(spec: ProviderSpec, loaded: Runnable) -> str | None:
    """The base_url to call: as the config sets it; from a saved plan, which keeps credentials
    as their `${VAR}` (never their values), with those variables set from the environment."""
    if spec.name in loaded.urls:
        return loaded.urls[spec.name]
    if spec.base_url is None:
        return None
    try:
        return resolve(spec.base_url, os.environ)
    except ValueError as exc:
        raise RunRefused(f"provider '{spec.name}': {exc}", "provider") from None


def _key(name: str, kind: str, variable: str | None, secrets: dict[str, str]) -> str | None:
    written = secrets.get(name)
    if written and "${" not in written:
        return written
    if variable and os.environ.get(variable):
        return os.environ[variable]
    if kind == "openai_compatible":
        return None  # local servers usually need no key
    raise RunRefused(
        f"provider '{name}' needs an API key: set {variable or 'its api_key'}", "missing_api_key"
    )


class Live:
    """A one-line status on stderr (only on a terminal): how many agents are waiting, running,
    done, failed and skipped, which are running and which failed, the tokens used and the time
    elapsed. Redrawn after events, at most every `FRAME` seconds (a dry run of 10,000 agents
    would otherwise write 30,000 lines to the terminal), and every `TICK` seconds while calls are
    out, so the clock moves during a long call."""

    TICK = 0.25
    FRAME = 0.05

    def __init__(self, stream: TextIO, members: int) -> None:
        self.stream = stream
        self.members = members
        self.running: dict[str, None] = {}  # in the order they started
        self.failed: dict[str, None] = {}
        self.done = self.skipped = self.tokens = 0
        self.t = 0.0
        self.drawn = -self.FRAME  # when the line was last drawn

    def __call__(self, record: dict[str, Any]) -> None:
        kind = record["event"]
        agent = record.get("agent", "")
        if kind == "activated":
            self.running[agent] = None
        elif kind == "completed":
            self.running.pop(agent, None)
            self.done += 1
        elif kind == "failed":
            self.running.pop(agent, None)
            self.failed[agent] = None
        elif kind == "skipped":
            self.skipped += 1
        elif kind == "usage":
            self.tokens += record["input"] + record["output"]
        self.t = max(self.t, record["t"])
        if self.t - self.drawn >= self.FRAME:
            self.draw(self.t)

    def draw(self, t: float) -> None:
        self.t = self.drawn = max(self.t, t)
        seen = len(self.running) + self.done + len(self.failed) + self.skipped
        waiting = max(0, self.members - seen)
        head = f"waiting {waiting}  running {len(self.running)}"
        tail = (
            f"  done {self.done}  failed {len(self.failed)}  skipped {self.skipped}  "
            f"tokens {self.tokens}  t {self.t:.1f}s"
        )
        width = shutil.get_terminal_size((80, 24)).columns - 1
        names = _names(list(self.running), width - len(head) - len(tail) - 3)
        failed = _names(list(self.failed), width - len(head) - len(tail) - len(names) - 14)
        line = head + (f" ({names})" if names else "") + tail
        line += f"  failed: {failed}" if failed else ""
        self.stream.write(f"\r\x1b[2K{line[:width]}")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own above the status line."""
        self.stream.write(f"\r\x1b[2K{text}\n")
        self.draw(self.t)

    def close(self) -> None:
        """The last state, and the line is left as it is."""
        self.draw(self.t)
        self.stream.write("\n")
        self.stream.flush()


def _names(names: list[str], room: int) -> str:
    """As many of `names` as fit in `room` characters, then `+N` for the others."""
    shown: list[str] = []
    used = 0
    for i, name in enumerate(names):
        cost = len(name) + (2 if shown else 0)
        others = len(names) - i - 1
        if used + cost + (len(f" +{others}") if others else 0) > room:
            return ", ".join(shown) + f" +{len(names) - i}" if shown else ""
        shown.append(name)
        used += cost
    return ", ".join(shown)


class Console:
    """The listener of `axoc run`: every record as one JSON line on stdout with `--json`, else
    the live status on a terminal; in both cases, budget warnings and retries on stderr (what
    `overflow_policy: warn` logs). A closed stdout raises `OutputClosed`."""

    def __init__(self, as_json: bool, live: Live | None) -> None:
        self.as_json = as_json
        self.live = live

    def __call__(self, record: dict[str, Any]) -> None:
        if self.as_json:
            _emit(record)
        elif self.live is not None:
            self.live(record)
        kind = record["event"]
        if kind == "budget_warning":
            self.note(f"axoc run: warning: budget: {record['message']}")
        elif kind == "retry":
            self.note(
                f"axoc run: {record['agent']}: attempt {record['attempt']} failed "
                f"({record['error']}); retrying in {record['delay']:g} s"
            )

    def note(self, text: str) -> None:
        if self.live is not None and not self.as_json:
            self.live.note(text)
        else:
            print(text, file=sys.stderr, flush=True)


class OutputClosed(Exception):
    """stdout was closed by its reader (`axoc run --json ... | head -1`)."""


def _emit(record: dict[str, Any]) -> None:
    try:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError as exc:
        _silence_stdout()
        raise OutputClosed from exc


def _silence_stdout() -> None:
    """After EPIPE: further writes (and the interpreter's final flush) go nowhere."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


@dataclass
class Started:
    """A run ready to go: new, or reopened from its journal (then with what to replay)."""

    run_id: str
    workflow: str | None
    skill: str | None
    input: str
    writer: Writer
    lock: runs.Lock
    store: CheckpointStore
    seed: int  # of the retry jitter: recorded in the journal's header, reused on resume
    replay: Replay | None = None


def run_command(
    path: str, wanted: Target, text: str | None, dry_run: bool, as_json: bool, state: str | None,
    resume: str | None = None, allow_drift: bool = False,
) -> int:  # fmt: skip
    try:
        root = state_dir(state)
        if resume is not None:
            if text is not None:
                print("axoc run: warning: -i is ignored with --resume: the run goes on with the "
                      "input it started with", file=sys.stderr)  # fmt: skip
            loaded, run, built = _resume(root, resume, path, dry_run, allow_drift)
        else:
            reads = Reads(os.environ)
            loaded = prepare(path, wanted, dry_run, reads)
            text = _input(text)
            _check_input(text)
            built = providers(loaded, dry_run)  # refused before any run record: nothing to undo
            run = _start(root, path, loaded, text, dry_run, record(path, loaded, reads))
    except ValueError as invalid:  # an adapter refusing its settings (a malformed base_url)
        return _refuse(str(invalid), as_json, "provider")
    except RunRefused as refused:
        return _refuse(str(refused), as_json, refused.code, refused.diagnostics)
    except runs.RunsError as refused:
        return _refuse(str(refused), as_json, refused.code)
    if loaded.note is not None:
        print(f"axoc run: note: {loaded.note}", file=sys.stderr)
    table = loaded.table
    members = len(table.workflow(run.workflow).agents) if run.workflow else len(table.agents)
    live = Live(sys.stderr, members) if sys.stderr.isatty() and not as_json else None
    console = Console(as_json, live)
    checkpointer = Checkpointer(run.store)
    driver = Driver(
        table, built, workflow=run.workflow, skill=run.skill, input=run.input,
        listener=console, keep_log=False,
        recorder=Recorder(run.writer, checkpointer, run.run_id), replay=run.replay, seed=run.seed,
    )  # fmt: skip
    try:
        if as_json:
            _emit({"t": 0.0, "event": "run", "run_id": run.run_id, "target": loaded.target.name,
                   "resumed": run.replay is not None})  # fmt: skip
        result = asyncio.run(_run(driver, built, live))
    except KeyboardInterrupt:
        return _interrupted(driver, run.run_id, console, "by Ctrl-C")
    except asyncio.CancelledError:  # the main task, cancelled by SIGTERM
        return _interrupted(driver, run.run_id, console, "by SIGTERM")
    except OutputClosed:
        return _interrupted(driver, run.run_id, console, "as stdout was closed")
    except ReplayMismatch as mismatch:
        return _refuse(f"cannot resume {run.run_id}: {mismatch}", as_json, "replay_mismatch")
    except (CheckpointError, OSError) as exc:  # the state directory refused a write mid-run
        why = str(exc) if isinstance(exc, CheckpointError) else exc.strerror or str(exc)
        print(f"axoc run {run.run_id}: stopped, the state directory refused a write: {why}; "
              f"what was recorded is kept: resume with --resume {run.run_id} once it can be "
              "written again", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    finally:
        checkpointer.close()
        run.writer.close()
        run.lock.release()
        if console.live is not None:
            console.live.close()
            console.live = None
        if run.replay is not None:
            for warning in dict.fromkeys(run.replay.warnings):
                print(f"axoc run: warning: {warning}", file=sys.stderr)
    _report(result, run.run_id, as_json)
    return result.exit_code


def _start(
    root: Path, path: str, loaded: Runnable, text: str, dry_run: bool, source: dict[str, Any]
) -> Started:
    """A new run's record, created and locked, with the seed of its retry jitter and what its
    plan was compiled from (`axoc.fingerprint.record`)."""
    seed = random_seed()
    target = loaded.target
    header = {
        "target": target.name, "workflow": target.workflow, "skill": target.skill,
        "agent": target.agent, "input": text, "dry_run": dry_run,
        "config": str(Path(path).resolve()), "jitter_seed": seed, **source,
    }  # fmt: skip
    run_id, writer, lock = runs.create(root, loaded.table, header)
    store = CheckpointStore(runs.run_folder(root, run_id) / "checkpoints")
    return Started(run_id, target.workflow, target.skill, text, writer, lock, store, seed)


def _input(given: str | None) -> str:
    """`-i TEXT`; with `-i -`, standard input; without `-i`, nothing — and a warning when
    something was piped in, rather than a run on an empty prompt in silence."""
    if given is None:
        if stdin.waiting(sys.stdin):
            print("axoc run: warning: standard input is not read, so the run's input is empty; "
                  "pass -i - to use it as the input", file=sys.stderr)  # fmt: skip
        return ""
    if given != "-":
        return given
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise RunRefused("-i -: there is no standard input to read", "bad_input")
    if stdin.is_terminal(sys.stdin):
        print("axoc run: reading the input from the terminal; end it with Ctrl-D", file=sys.stderr)
    try:
        return stdin.run_input(stream)
    except stdin.TooLarge as exc:
        raise RunRefused(f"-i -: {exc}", "bad_input") from None
    except OSError as exc:
        raise RunRefused(
            f"-i -: cannot read standard input: {exc.strerror or exc}", "bad_input"
        ) from None


def _check_input(text: str) -> None:
    """`-i` must be text a provider can be sent: a byte that is not UTF-8 reaches Python as a
    lone surrogate (`surrogateescape`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise RunRefused(
            f"-i: the input is not valid UTF-8 ({what} at character {exc.start + 1})", "bad_input"
        ) from None


def _interrupted(driver: Driver, run_id: str, console: Console, why: str) -> int:
    """The run stopped before its end (Ctrl-C, SIGTERM, a closed stdout). Its journal has no
    `stopped` record, so it can be resumed; the stream ends as a finished run's does."""
    if console.as_json:
        try:
            outputs = dict(driver.outputs_so_far())
            _emit({"t": round(driver.elapsed(), 6), "event": "stopped", "reason": "interrupted"})
            _emit({"event": "output", "run_id": run_id, "stop_reason": "interrupted",
                   "exit_code": EXIT_INTERRUPTED, "outputs": outputs})  # fmt: skip
        except OutputClosed:
            pass
    if console.live is not None:
        console.live.close()
        console.live = None
    print(
        f"axoc run {run_id}: interrupted (exit {EXIT_INTERRUPTED}) {why}; "
        f"{plural(driver.state.activations, 'activation')} so far; "
        f"resume with --resume {run_id}",
        file=sys.stderr,
    )
    return EXIT_INTERRUPTED


def _resume(
    root: Path, run_id: str, path: str, dry_run: bool, allow_drift: bool
) -> tuple[Runnable, Started, dict[str, Provider]]:
    """The interrupted run, reopened (locked) on the table its target compiles to now: refused
    when that is not the table it started with, unless `allow_drift`; and its providers."""
    folder, contents, lock = runs.reopen(root, run_id)
    try:
        header = contents.header
        wanted = Target(header.get("workflow"), header.get("skill"), header.get("agent"))
        if wanted.agent is not None:
            wanted = Target(agent=wanted.agent)
        # not compiled again when nothing it was compiled from changed (docs/durability.md)
        loaded = saved(folder, header, path, dry_run) or prepare(path, wanted, dry_run, os.environ)
        for warning in contents.warnings:
            print(f"axoc run: warning: {warning}", file=sys.stderr)
        if header.get("digest") != loaded.table.digest and not allow_drift:
            old = runs.old_plan(folder)
            changes = (
                diff(old, loaded.table) if old is not None else ["(its plan.json is unreadable)"]
            )
            raise RunRefused(
                f"the config changed since run {run_id} started; resume anyway with "
                "--allow-config-drift:\n" + "\n".join(changes),
                "config_drift",
            )
        built = providers(loaded, dry_run)
    except BaseException:
        lock.release()
        raise
    store = CheckpointStore(folder / "checkpoints")
    # A run interrupted before checkpoints were kept per run has its own in the `agents/`
    # folder that earlier versions shared: read there too, never written.
    shared = CheckpointStore(root / "agents", nested=True)
    seed = header.get("jitter_seed")
    if not isinstance(seed, int):  # a journal written before seeds were recorded: one per run
        seed = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")
    writer = Writer(folder / "journal.jsonl", contents=contents)  # read under the lock we hold
    started = Started(
        run_id, header.get("workflow"), header.get("skill"), str(header.get("input", "")),
        writer, lock, store, seed, Replay.of(contents.records, (store, shared), run_id),
    )  # fmt: skip
    return loaded, started, built


def _refuse(message: str, as_json: bool, code: str, diagnostics: Sequence[Diagnostic] = ()) -> int:
    """Exit 2: the message on stderr; with `--json`, also one error object on stdout."""
    print(f"axoc run: {message}", file=sys.stderr)
    if as_json:
        with contextlib.suppress(OutputClosed):
            _emit(refusal(code, message, diagnostics))
    return EXIT_USAGE


def refusal(code: str, message: str, diagnostics: Sequence[Diagnostic] = ()) -> dict[str, Any]:
    """The `--json` error object of a refusal: `message` is its first line (what happened);
    `diagnostics` (as `axoc check --format json` gives them) when the config's problems are the
    reason, else `details`, the message's other lines (such as what changed in the config)."""
    first, *rest = message.splitlines() or [""]
    record: dict[str, Any] = {"event": "error", "code": code, "message": first.rstrip(":"),
                              "exit_code": EXIT_USAGE}  # fmt: skip
    if diagnostics:
        record["diagnostics"] = [as_dict(d) for d in diagnostics]
    elif rest:
        record["details"] = rest
    return record


async def _run(driver: Driver, built: dict[str, Provider], live: Live | None) -> RunResult:
    """The run, with SIGTERM handled as Ctrl-C is (the main task cancelled: the run stops,
    resumable), the live status redrawn while calls are out, and the providers closed."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    try:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
        terminable = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread; Windows
        terminable = False
    ticker = asyncio.create_task(_tick(live, driver)) if live is not None else None
    process.settle()  # the run collects its garbage; the compiled config is frozen out of it
    try:
        return await driver.run()
    finally:
        if terminable:
            loop.remove_signal_handler(signal.SIGTERM)
        if ticker is not None:
            ticker.cancel()
        for provider in {id(p): p for p in built.values()}.values():
            await provider.aclose()


async def _tick(live: Live, driver: Driver) -> None:
    while True:
        await asyncio.sleep(Live.TICK)
        live.draw(driver.elapsed())


def _report(result: RunResult, run_id: str, as_json: bool) -> None:
    try:
        if as_json:
            _emit({"event": "output", "run_id": run_id, "stop_reason": result.stop_reason,
                   "exit_code": result.exit_code, "outputs": dict(result.outputs)})  # fmt: skip
        else:
            for agent, output in result.outputs:
                one = len(result.outputs) == 1
                sys.stdout.write(output if one else f"[{agent}]\n{output}\n")
                sys.stdout.write("\n")
            sys.stdout.flush()
    except (OutputClosed, BrokenPipeError):  # the reader went away: the summary still counts
        _silence_stdout()
    used = result.ledger.used
    print(
        f"axoc run {run_id}: {result.stop_reason} (exit {result.exit_code}); "
        f"{plural(result.activations, 'activation')}, {plural(used, 'token')}, "
        f"{result.elapsed:.2f} s",
        file=sys.stderr,
    )
    for agent, error in result.errors.items():
        print(f"  {agent} failed: {error}", file=sys.stderr)
    if any("ConnectionRefusedError" in error for error in result.errors.values()):
        print(
            "  hint: is the provider's server running? --dry-run runs without one", file=sys.stderr
        )
    skipped = sorted(a for a, status in result.status.items() if status == "skipped")
    if skipped and result.errors:
        print(f"  skipped, as they could no longer run: {', '.join(skipped)}", file=sys.stderr)
    elif skipped and result.stop_reason == "max_activations":
        print(f"  never ran, max_activations was reached: {', '.join(skipped)}", file=sys.stderr)
    elif skipped:
        print(f"  never ran, nothing activated them: {', '.join(skipped)}", file=sys.stderr)
