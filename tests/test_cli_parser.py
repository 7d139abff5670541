"""The command line's parser: `main` builds only the parser of the command it is given (the others
cost start-up time), and what that parser prints is what the whole parser prints."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from axoc import cli

SUBCOMMANDS = {"runs": ["list", "show", "prune"], "tokens": ["report"],
               "memory": ["show", "edit", "export", "consolidate"]}  # fmt: skip


def printed(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str]:
    """What parsing `argv` prints (help, usage, errors), on stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            parser.parse_args(argv)
        except (SystemExit, cli.UsageError) as stop:
            if isinstance(stop, cli.UsageError):
                stop.parser.print_usage()
                print(stop.message)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_a_command_parser_alone_prints_what_the_whole_parser_prints(command: str) -> None:
    alone, whole = cli.build_parser(command), cli.build_parser()
    for argv in (
        [command, "-h"],
        [command, "--no-such-option"],
        *([command, sub, "-h"] for sub in SUBCOMMANDS.get(command, [])),
    ):
        shown = printed(alone, argv)
        assert shown == printed(whole, argv)
        assert any(shown), argv


def test_the_whole_parser_lists_every_command() -> None:
    text, _ = printed(cli.build_parser(), ["--help"])
    assert all(f"    {name} " in text for name in cli.COMMANDS)
    assert printed(cli.build_parser("check"), ["check", "-h"])[0].startswith("usage: axoc check")


def test_main_builds_the_parser_of_the_command_given(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str | None] = []
    build = cli.build_parser

    def spy(command: str | None = None) -> argparse.ArgumentParser:
        asked.append(command)
        return build(command)

    monkeypatch.setattr(cli, "build_parser", spy)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["schema", "--format", "nope"]) == cli.EXIT_USAGE
        assert cli.main(["--version"]) == 0
        assert cli.main(["nope"]) == cli.EXIT_USAGE
        assert cli.main(["-h", "check"]) == 0
    assert asked == ["schema", None, None, None]


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["chek", "x.axoc.yaml"], "check"),
        (["plan", "x.axoc.yaml", "--format", "jsn"], "json"),
        (["runs", "shwo", "r1"], "show"),
        (["check", "x.axoc.yaml", "--format", "sarf"], "sarif"),
    ],
)
def test_a_misspelt_choice_gets_a_did_you_mean(
    argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == cli.EXIT_USAGE
    error = capsys.readouterr().err.splitlines()[-1]
    assert "invalid choice" in error and error.endswith(f"; did you mean '{meant}'?"), error


def test_a_choice_nothing_like_any_gets_the_list_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["zzz"]) == cli.EXIT_USAGE
    error = capsys.readouterr().err.splitlines()[-1]
    assert "(choose from 'check'," in error and "did you mean" not in error
