"""Golden files: an input followed by its expected output in `#> ` comment lines.

The expected block is YAML comments, so a golden file is itself a valid input and can be
checked directly (`axoc check tests/golden/check/x.yaml`). Expected lines are everything after
the line `# --- expected ---`; `--update-golden` rewrites them.
"""

from __future__ import annotations

from pathlib import Path

DIVIDER = "# --- expected ---"
PREFIX = "#> "


def split(path: Path) -> tuple[str, str | None]:
    text = path.read_text(encoding="utf-8")
    head, sep, tail = text.partition("\n" + DIVIDER + "\n")
    if not sep:
        return text, None
    lines = [line.removeprefix(PREFIX).removeprefix("#>") for line in tail.splitlines()]
    return head + "\n", "\n".join(lines) + "\n"


def write(path: Path, source: str, expected: str) -> None:
    body = "".join(f"{PREFIX}{line}".rstrip() + "\n" for line in expected.splitlines())
    path.write_text(source.rstrip("\n") + "\n" + DIVIDER + "\n" + body, encoding="utf-8")


def compare(path: Path, actual: str, update: bool) -> None:
    source, expected = split(path)
    if update or expected is None:
        write(path, source, actual)
        return
    assert actual == expected, f"{path.name}: output differs (run pytest --update-golden to accept)"
