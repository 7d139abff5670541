"""`axoc init [DIR]`: a starter project — a commented config, the schema editors read, and a
`.gitignore` that keeps run records out of git.

In: a directory (the current one by default; created when missing). Out, in it:
- `axoc.yaml`: a commented two-agent config (Ollama's llama3.2, as in the README) whose first
  line is the yaml-language-server modeline `# yaml-language-server:
  $schema=./schema/axoc.schema.json`, the path editors/README.md documents; it checks clean and
  dry-runs as written;
- `schema/axoc.schema.json`: the config schema, as `axoc schema` prints it (rewritten, so an
  upgrade of axoc refreshes it), for that modeline;
- `.axoc/` (the state directory) in `.gitignore`: the file created, or the line appended when it
  is not there yet, never twice.
Exit 0; 2 with nothing written when the directory holds a config already (`axoc.yaml` or
`axoc.yml`) or is not a directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2
CONFIG = "axoc.yaml"
SCHEMA = Path("schema") / "axoc.schema.json"
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA.as_posix()}"
IGNORED = ".axoc/"
STARTER = f"""{MODELINE}
#
# A starter axoc config: a researcher answers the run's input, then a summarizer that waits for
# it receives its output. The first line lets editors running yaml-language-server (VS Code,
# Neovim, Helix, Zed; JetBrains reads it too) complete and check this file against
# {SCHEMA.as_posix()}; refresh that after upgrading axoc: axoc schema -o {SCHEMA.as_posix()}
#
#   axoc check {CONFIG}                                    every problem, at its line
#   axoc plan {CONFIG}                                     what will run, and when
#   axoc run {CONFIG} --dry-run -i "Why is the sky blue?"  no model needed (the echo provider)
#   axoc run {CONFIG} -i "Why is the sky blue?"            for real: ollama pull llama3.2
#
# Every key is described in the schema (hover it in an editor), or: axoc schema --format markdown

agents:
  - id: researcher
    provider: ollama            # or openai, mistral, openrouter, or a server under providers:
    model: llama3.2
    system_prompt: "You research a question and return 3 bullet-pointed facts."
    token_budget: {{ per_execution: 2000, per_call: 1000 }}  # checked before every call

  - id: summarizer
    provider: ollama
    model: llama3.2
    system_prompt: "You take research bullets and write a single 2-sentence summary."
    depends_on: [researcher]    # runs once the researcher is done, with its output
    token_budget: {{ per_execution: 2000, per_call: 1000 }}

workflows:
  - id: main
    agents: [researcher, summarizer]
    entry_point: researcher     # receives the run's input (-i)
"""


def init_command(directory: str | None) -> int:
    root = Path(directory or ".")
    shown = "" if directory is None else directory.rstrip("/") + "/"
    if root.exists() and not root.is_dir():
        return _refuse(f"{root} is not a directory")
    for name in (CONFIG, "axoc.yml"):
        if (root / name).exists():
            return _refuse(f"{shown}{name} exists already; axoc init writes nothing over a config")
    root.mkdir(parents=True, exist_ok=True)
    try:
        with open(root / CONFIG, "x", encoding="utf-8") as handle:  # never over one made meanwhile
            handle.write(STARTER)
    except FileExistsError:
        return _refuse(f"{shown}{CONFIG} exists already; axoc init writes nothing over a config")
    print(f"created {shown}{CONFIG}: a researcher, then a summarizer; edit it")
    _write_schema(root / SCHEMA)
    print(f"wrote {shown}{SCHEMA.as_posix()}: the schema the first line of {CONFIG} points at")
    print(_ignore_state(root / ".gitignore", shown))
    print(f'next: axoc run {shown}{CONFIG} --dry-run -i "Why is the sky blue?"')
    return EXIT_OK


def _write_schema(path: Path) -> None:
    from axoc.schema import config_schema, dumps

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(config_schema()), encoding="utf-8")


def _ignore_state(path: Path, shown: str) -> str:
    """`.axoc/` in the .gitignore, once; what was done."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        path.write_text(f"# axoc run records\n{IGNORED}\n", encoding="utf-8")
        return f"created {shown}.gitignore: {IGNORED} (run records) is not committed"
    if any(line.strip().strip("/") == IGNORED.strip("/") for line in text.splitlines()):
        return f"{shown}.gitignore ignores {IGNORED} already"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(("" if text.endswith("\n") or not text else "\n") + f"{IGNORED}\n")
    return f"added {IGNORED} to {shown}.gitignore: run records are not committed"


def _refuse(message: str) -> int:
    print(f"axoc init: {message}", file=sys.stderr)
    return EXIT_USAGE
