"""The command line: the only composition root. It parses options, wires pieces, does no work.

`main(argv) -> int` returns the exit code; `entry()` is the console script. Exit codes (SPEC §3):
0 no errors, 1 errors found, 2 usage error or unreadable path, 3 internal error. An unexpected
exception is reported in one line (exit 3), never as a traceback, unless AXOC_DEBUG=1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from axoc import __version__, process

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """A command line argparse refused: the parser (for its usage line) and the message."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse, raising usage errors rather than exiting, so that `main` reports them: the
    usage line and the message on stderr as argparse does, exit 2, and for `axoc run --json`
    also the JSON error object every refusal of a run prints."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def usage_error(exc: UsageError, argv: list[str]) -> int:
    exc.parser.print_usage(sys.stderr)
    print(f"{exc.parser.prog}: error: {exc.message}{_did_you_mean(exc.message)}", file=sys.stderr)
    if exc.parser.prog.endswith(" run") and "--json" in argv:
        from axoc.runtime.outcome import refusal

        print(json.dumps(refusal("usage", exc.message), ensure_ascii=False), flush=True)
    return EXIT_USAGE


def _did_you_mean(message: str) -> str:
    """For argparse's "invalid choice: 'chek' (choose from 'check', ...)": the choice the user
    most likely meant, as `; did you mean 'check'?`, when one is close enough."""
    found = re.search(r"invalid choice: '(.*)' \(choose from (.*)\)$", message)
    if found is None:
        return ""
    from axoc.wording import closest

    close = closest(found[1], re.findall(r"'([^']*)'", found[2]))
    return f"; did you mean '{close}'?" if close else ""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of `axoc`; with `command`, one of `COMMANDS`, only that command's parser is
    built under it: what a command's parser prints (its help, usage and errors) never shows
    another command's, and making every parser costs a fresh process 11 ms (argparse looks up
    translations of its messages for each), making one 5 ms."""
    parser = Parser(
        prog="axoc",
        description="Check, plan and run multi-agent LLM configs.",
    )
    parser.add_argument("--version", action="version", version=f"axoc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, add in COMMANDS.items():
        if command in (None, name):
            add(commands)
    return parser


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="validate configs and report every problem at its line and column",
        description="Validate configs; directories are searched for axoc.yaml, *.axoc.yaml and "
        "axocoatl.yaml (.yml too).",
    )
    check.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories (default: .); - reads stdin"
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="output format",
    )
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the file name diagnostics give the config read from - (default <stdin>)",
    )
    check.set_defaults(handler=run_check, command_parser=check)


def _add_plan(commands: Any) -> None:
    plan = commands.add_parser(
        "plan",
        help="lower a config into its signal table, and show, draw or diff it",
        description="Lower a config into the signal table the kernel executes.",
    )
    plan.add_argument("file", metavar="FILE", help="config file")
    plan.add_argument("-w", "--workflow", metavar="WORKFLOW", help="show only this workflow")
    plan.add_argument(
        "--format",
        choices=("text", "json", "mermaid", "dot", "svg"),
        default="text",
        help="text table, JSON table, or a diagram",
    )
    plan.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    plan.add_argument(
        "--against",
        metavar="OLD.json",
        help="print what changed since a saved plan; exit 0 unchanged, 2 changed, 1 on errors",
    )
    plan.set_defaults(handler=run_plan, command_parser=plan)


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="execute a workflow (or fire a skill) of a config or a saved plan",
        description="Run the lattice: activations run concurrently; budgets are checked before "
        "every call. Exit codes: completed 0, failed 1, config/usage error 2, budget_exhausted 4, "
        "max_activations 5, timeout 6, interrupted 130.",
    )
    run.add_argument("file", metavar="FILE|PLAN.json", help="config file or saved plan")
    which = run.add_mutually_exclusive_group()
    which.add_argument("-w", "--workflow", metavar="WORKFLOW", help="workflow to run")
    which.add_argument("--fire", metavar="SKILL", help="fire a skill instead of a workflow")
    which.add_argument(
        "--agent", metavar="AGENT", help="run one agent alone on the input (no workflow needed)"
    )
    run.add_argument(
        "-i", "--input", metavar="INPUT", help="the run's input; - reads it from stdin"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="use the built-in echo provider: no network"
    )
    run.add_argument("--json", action="store_true", help="stream one JSON object per event")
    run.add_argument("--state-dir", metavar="DIR", help="where run records go (default .axoc/)")
    run.add_argument("--resume", metavar="RUN_ID", help="continue an interrupted run")
    run.add_argument(
        "--workspace",
        metavar="DIR",
        help="the directory file tools are confined to (default: the config's workspace, "
        "else its directory)",
    )
    run.add_argument(
        "--allow-config-drift",
        action="store_true",
        help="resume even though the config changed since the run started",
    )
    run.set_defaults(handler=run_run, command_parser=run)


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run a daemon: an HTTP API that starts, streams and cancels runs",
        description="Serve a config over HTTP (docs/serve.md). Runs in flight when a previous "
        "daemon on the state directory stopped are resumed. Exit codes: stopped 0, cannot start 2.",
    )
    serve.add_argument("file", metavar="FILE", nargs="?", help="config file")
    serve.add_argument(
        "--api",
        choices=("text", "openapi"),
        help="print the HTTP API (a table, or its OpenAPI document) and exit",
    )
    serve.add_argument("--state-dir", metavar="DIR", help="where run records go (default .axoc/)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8765, help="port (8765; 0: any free one)")
    serve.add_argument(
        "--max-runs", type=_positive, default=16, metavar="N", help="runs executed at once (16)"
    )
    serve.add_argument(
        "--dry-run", action="store_true", help="every run uses the echo provider: no network"
    )
    serve.set_defaults(handler=run_serve, command_parser=serve)


def _add_chat(commands: Any) -> None:
    chat = commands.add_parser(
        "chat",
        help="talk with one agent (its tools and memory included); the conversation is kept",
        description="Each message is a run of the agent alone, with the conversation so far. "
        "Ctrl-D ends, Ctrl-C stops a reply. Exit codes: 0 at the end of input, 2 when the agent "
        "cannot run.",
    )
    chat.add_argument("-a", "--agent", required=True, metavar="AGENT", help="the agent")
    chat.add_argument("file", metavar="FILE", nargs="?", help="config (default: the one here)")
    chat.add_argument("--json", action="store_true", help="one JSON object per reply")
    chat.add_argument("--new", action="store_true", help="start a new conversation")
    chat.add_argument(
        "--dry-run", action="store_true", help="use the built-in echo provider: no network"
    )
    chat.add_argument("--state-dir", metavar="DIR", help="where runs and chats go (default .axoc/)")
    chat.set_defaults(handler=run_chat, command_parser=chat)


def _add_runs(commands: Any) -> None:
    runs_parser = commands.add_parser("runs", help="list past runs, show one, or prune old ones")
    runs_commands = runs_parser.add_subparsers(
        dest="runs_command", metavar="list|show|prune", required=True
    )
    listing = runs_commands.add_parser("list", help="runs with status, target and tokens")
    listing.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
    listing.set_defaults(handler=run_runs_list, command_parser=listing)
    show = runs_commands.add_parser("show", help="one run: status, tokens per agent, timeline")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
    show.set_defaults(handler=run_runs_show, command_parser=show)
    prune = runs_commands.add_parser(
        "prune",
        help="delete old finished runs (never a live one)",
        description="Delete old finished runs; a live run never, an unfinished one only with "
        "--include-unfinished. Exit codes: 0 done, 1 a run could not be deleted, 2 usage error.",
    )
    old = prune.add_mutually_exclusive_group(required=True)
    old.add_argument("--older-than", metavar="DURATION", help="started before: 30d, 12h, 1h30m")
    old.add_argument("--keep", metavar="N", type=int, help="keep the N most recent runs")
    prune.add_argument(
        "--include-unfinished", action="store_true", help="delete interrupted runs too"
    )
    prune.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    prune.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
    prune.set_defaults(handler=run_runs_prune, command_parser=prune)


def _add_tokens(commands: Any) -> None:
    tokens = commands.add_parser("tokens", help="token usage of past runs")
    tokens_commands = tokens.add_subparsers(dest="tokens_command", metavar="report", required=True)
    report = tokens_commands.add_parser("report", help="per-agent input/output/total tokens")
    report.add_argument("--run", metavar="RUN_ID", help="a run id (default: the latest run)")
    report.add_argument("--format", choices=("text", "json"), default="text")
    report.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
    report.set_defaults(handler=run_tokens, command_parser=report)


def _add_init(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="start a project: a commented config, its schema for editors, a .gitignore",
        description="Write DIR/axoc.yaml (a commented starter config with the schema modeline), "
        "DIR/schema/axoc.schema.json and .axoc/ in DIR/.gitignore. Refuses (exit 2, nothing "
        "written) when DIR holds a config already.",
    )
    init.add_argument("directory", nargs="?", metavar="DIR", help="where (default: .)")
    init.set_defaults(handler=run_init, command_parser=init)


def _add_doctor(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check what a run needs: config, providers, keys, models, state directory",
        description="One line per check (ok, warn, FAIL): the config is valid; each provider "
        "its agents use is reachable, has its key and serves their models; the state directory "
        "is writable; the optional extras are installed. Exit 1 when a check fails, 2 on a "
        "usage error, else 0.",
    )
    doctor.add_argument(
        "file", nargs="?", metavar="FILE", help="config (default: the one in this directory)"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object, for machines")
    doctor.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
    doctor.add_argument(
        "--timeout",
        type=_seconds,
        default=3.0,
        metavar="SECONDS",
        help="how long each provider may take to answer (default 3)",
    )
    doctor.set_defaults(handler=run_doctor, command_parser=doctor)


def _add_schema(commands: Any) -> None:
    schema = commands.add_parser("schema", help="print the config JSON schema (draft-07)")
    schema.add_argument(
        "--format", choices=("json", "markdown"), default="json", help="schema or reference doc"
    )
    schema.add_argument(
        "--target",
        choices=("config", "signal-table"),
        default="config",
        help="the config's schema, or the saved plan's (axoc plan --format json)",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(handler=run_schema, command_parser=schema)


def run_check(args: argparse.Namespace) -> int:
    from axoc.checking import check_command

    if args.stdin_filename is not None and "-" not in args.paths:
        print(
            "axoc check: --stdin-filename names standard input: pass - as a PATH", file=sys.stderr
        )
        return EXIT_USAGE
    return check_command(args.paths, args.format, args.strict, args.stdin_filename)


def run_plan(args: argparse.Namespace) -> int:
    from axoc.planning import plan_command

    return plan_command(args.file, args.workflow, args.format, args.output, args.against)


def run_run(args: argparse.Namespace) -> int:
    from axoc.runnable import Target
    from axoc.running import run_command

    wanted = Target(workflow=args.workflow, skill=args.fire, agent=args.agent)
    return run_command(
        args.file, wanted, args.input, args.dry_run, args.json, args.state_dir, args.resume,
        args.allow_config_drift, args.workspace,
    )  # fmt: skip


def run_runs_list(args: argparse.Namespace) -> int:
    from axoc.records import runs_list

    return runs_list(args.state_dir)


def run_runs_show(args: argparse.Namespace) -> int:
    from axoc.records import runs_show

    return runs_show(args.run_id, args.state_dir)


def run_runs_prune(args: argparse.Namespace) -> int:
    from axoc.pruning import prune_command

    return prune_command(
        args.state_dir, args.older_than, args.keep, args.include_unfinished, args.dry_run
    )


def run_tokens(args: argparse.Namespace) -> int:
    from axoc.records import tokens_report

    return tokens_report(args.run, args.format, args.state_dir)


def run_chat(args: argparse.Namespace) -> int:
    from axoc.chat.command import chat_command

    return chat_command(args.file, args.agent, args.state_dir, args.json, args.dry_run, args.new)


def run_serve(args: argparse.Namespace) -> int:
    from axoc.serve.command import serve_command

    if args.api is not None:
        from axoc.serve.openapi import print_api

        return print_api(args.api)
    if args.file is None:
        args.command_parser.error("the config FILE is required")
    return serve_command(
        args.file, args.state_dir, args.host, args.port, args.max_runs, args.dry_run
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def add_memory_commands(commands: Any) -> None:
    """`axoc memory show|edit|export|consolidate` (axoc.memory.command)."""
    memory = commands.add_parser(
        "memory", help="show, edit, export or consolidate what agents remember"
    )
    memory_commands = memory.add_subparsers(
        dest="memory_command", metavar="show|edit|export|consolidate", required=True
    )
    helps = {
        "show": "each agent's core memory blocks (and how many semantic memories it has)",
        "edit": "set one core memory block (its limit enforced; exit 1 if over it)",
        "export": "core blocks and semantic memories as one JSON object",
        "consolidate": "turn idle agents' recent memories into core-memory edits (one model "
        "call each; exit 1 if one fails)",
    }
    for name, text in helps.items():
        parser = memory_commands.add_parser(name, help=text)
        parser.add_argument(
            "file", nargs="?", metavar="FILE", help="the config (its blocks, limits, agents)"
        )
        parser.add_argument("--agent", metavar="AGENT", help="only this agent")
        if name == "edit":
            parser.add_argument("--shared", action="store_true", help="a shared (team) block")
            parser.add_argument("--block", metavar="LABEL", required=True, help="block label")
            parser.add_argument("--value", metavar="TEXT", help="the block's new text")
            parser.add_argument("--file", dest="value_file", metavar="PATH",
                                help="read the new text from PATH (- for stdin)")  # fmt: skip
        if name == "consolidate":
            parser.add_argument(
                "--now",
                action="store_true",
                help="do not wait for the idle threshold and the interval",
            )
            parser.add_argument(
                "--dry-run",
                action="store_true",
                help="the echo provider: nothing is sent, no block changes",
            )
            parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
        parser.add_argument("--state-dir", metavar="DIR", help="state directory (default .axoc/)")
        parser.set_defaults(handler=run_memory, command_parser=parser)


def run_memory(args: argparse.Namespace) -> int:
    from axoc.memory import command

    if args.memory_command == "edit":
        return command.edit(
            args.file, args.agent, args.shared, args.block, args.value, args.value_file,
            args.state_dir,
        )  # fmt: skip
    if args.memory_command == "consolidate":
        return command.consolidate(
            args.file, args.agent, args.now, args.dry_run, args.json, args.state_dir
        )
    act = command.show if args.memory_command == "show" else command.export
    return act(args.file, args.agent, args.state_dir)


def run_init(args: argparse.Namespace) -> int:
    from axoc.scaffold import init_command

    return init_command(args.directory)


def run_doctor(args: argparse.Namespace) -> int:
    from axoc.doctor import doctor_command

    return doctor_command(args.file, args.json, args.state_dir, args.timeout)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 600, got {text}")
    return value


def run_schema(args: argparse.Namespace) -> int:
    from axoc.reference import render
    from axoc.schema import config_schema, dumps, table_schema

    schema = config_schema() if args.target == "config" else table_schema()
    text = dumps(schema) if args.format == "json" else render(schema)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


COMMANDS: dict[str, Callable[[Any], None]] = {  # in the order `axoc --help` lists them
    "check": _add_check,
    "plan": _add_plan,
    "run": _add_run,
    "serve": _add_serve,
    "chat": _add_chat,
    "runs": _add_runs,
    "tokens": _add_tokens,
    "memory": add_memory_commands,
    "init": _add_init,
    "doctor": _add_doctor,
    "schema": _add_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(given[0] if given and given[0] in COMMANDS else None)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser, with its own usage line
            args.command_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except UsageError as exc:
        return usage_error(exc, sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # argparse: 0 after --help/--version
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.handler(args)
        return code
    except KeyboardInterrupt:
        print("axoc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"axoc: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("AXOC_DEBUG") == "1":
            raise
        print(
            f"axoc: internal error: {type(exc).__name__}: {exc} "
            "(set AXOC_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def entry() -> None:
    process.one_shot()
    code = main()
    process.finish()
    process.end(code)
