"""The diagnostics catalogue: docs/diagnostics.md, built from the codes and the golden cases.

In: `axoc.codes.CODES` (code → title), the explanations below, the golden `check` cases in
tests/golden/check (`AXnnn-slug.yaml`, input above the divider, expected output below), and a
few hand-written shell examples for file-level codes a golden file cannot show (a missing path,
a binary file, ...). Out: `render()`, the markdown text of docs/diagnostics.md.

Guaranteed: every code gets a section in CODES order; `render()` raises `CatalogueError` when a
code has no explanation, or neither a golden case nor a shell example, or when an explanation or
example names a code that does not exist. tests/test_catalogue.py keeps the file in step
(`pytest --update-golden` rewrites it) and replays every shell example.

Regenerate by hand with `python3 -m tests.catalogue`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from axoc.codes import CODES
from tests.conftest import ROOT
from tests.golden import split

GOLDEN = ROOT / "tests" / "golden" / "check"
DOC = ROOT / "docs" / "diagnostics.md"
CASE_NAME = re.compile(r"^(AX\d{3})-[a-z0-9-]+\.yaml$")


class CatalogueError(Exception):
    """The catalogue cannot be built: a code is undocumented or an entry is stale."""


EXPLANATIONS: dict[str, str] = {
    "AX100": (
        "A path given on the command line does not exist or cannot be read (for example, no "
        "permission); or a directory met while searching one for configs cannot be listed (its "
        "configs would go unchecked), reported at that directory, line 1, column 1. This is a "
        "usage problem rather than a problem in a config, so `check` exits with 2."
    ),
    "AX101": (
        "The file is not well-formed YAML: an unclosed bracket or quote, a tab used for "
        "indentation, a `key: value` inside an unquoted string, a control character. The "
        "position is where the parser gave up, which can be a little after the real mistake "
        "(an unclosed `[` is noticed at the next key). Nothing else is checked in a file that "
        "does not parse."
    ),
    "AX102": (
        "The same key appears twice in one mapping. Most YAML loaders silently keep the last "
        "value, so part of the config disappears without a word; axoc keeps the first, reports "
        "the second and names the line of the first."
    ),
    "AX103": (
        "YAML 1.1 loaders (PyYAML among many) read the bare words `yes`, `no`, `on` and `off` "
        "(also as `Yes`, `YES`, ...) as booleans. axoc reads YAML 1.2, where only `true` and "
        "`false` are booleans, so such a word stays a string, with this warning because the "
        "author may have meant either. Write `true`/`false` for a boolean, or quote the word "
        "to keep the text (the country code `NO`). Where a boolean is expected the value is "
        "also a type error (AX202)."
    ),
    "AX104": (
        "An unquoted value that looks like text but is read as a number: a version such as "
        "`1.10` is the number 1.1, and `0755` is the decimal 755 in YAML 1.2 (octal 493 in "
        "YAML 1.1). The warning shows what the value became; where text is expected (a model "
        "name) it is also a type error (AX202) whose hint says to quote it."
    ),
    "AX105": (
        "The file is not valid UTF-8, for example saved as Latin-1 or UTF-16 by an editor. "
        "Configs are UTF-8 (a byte-order mark is accepted); the diagnostic points at the first "
        "byte that is not. Re-save the file as UTF-8."
    ),
    "AX106": (
        "The file contains a NUL byte, so it is binary rather than YAML text (a compiled file, "
        "an archive, a file with the wrong name). It is reported at the first NUL byte and not "
        "parsed."
    ),
    "AX107": (
        "Anchors and aliases can describe structures that are exponentially large (the "
        '"billion laughs" attack: a list of ten aliases to a list of ten aliases, and so on), '
        "repeat a big string many times (a 1 MB string aliased 1,000 times is 1 GB of text), "
        "or be infinite (an alias inside the node it refers to). axoc stops expanding after "
        "100,000 nodes produced by aliases or 10 MB (10,485,760 characters) of text added by "
        "them, or at the first recursive alias, so hostile input is refused in bounded time "
        "and memory."
    ),
    "AX108": (
        "Collections are nested more than 100 levels deep (or flow brackets more than 1,000 "
        "deep). No real config comes close; the limit keeps a hostile file from exhausting the parser's recursion, "
        "whichever YAML parser PyYAML uses (libyaml's own limits changed between releases)."
    ),
    "AX109": (
        "The file has no YAML content: it is empty, or holds only whitespace and comments. "
        "Rather than checking a config with nothing in it as clean, axoc reports it."
    ),
    "AX110": (
        "A config is a mapping with keys such as `agents` and `workflows`. A file whose top "
        "level is a list (typically agents written without the `agents:` key above them) or a "
        "single value is not a config."
    ),
    "AX111": (
        "The file holds several YAML documents separated by `---`. A config is one document; "
        "axoc neither merges the documents nor silently reads the first one only. (A single "
        "`---` before the only document is fine.)"
    ),
    "AX112": (
        "The file is larger than 20 MB and is refused before it is read (a config with 50,000 "
        "agents is about 6 MB), or holds more than 2,000,000 values (a 50,000-agent config "
        "has about 750,000), refused before they are built. Like an unreadable path, this "
        "makes `check` exit with 2."
    ),
    "AX113": (
        "A directory given to `check` (or the current directory, when no path is given) "
        "contains no config file: `axoc.yaml`, `axocoatl.yaml` or `*.axoc.yaml` (or the same "
        "names ending in `.yml`), searched recursively, skipping hidden directories, `node_modules` and virtualenvs. `check` "
        "exits with 2 so that a CI job pointed at the wrong directory does not pass."
    ),
    "AX114": (
        "axoc loads YAML safely: only the standard tags (`!!str`, `!!int`, `!!float`, "
        "`!!bool`, `!!null`, `!!seq`, `!!map` and the non-specific `!`) are accepted. Custom "
        "tags such as `!include` or `!env`, and language tags such as `!!python/object`, are "
        "refused and nothing is constructed. Use `${VAR}` to take a value from the environment."
    ),
    "AX201": (
        "A key the config language does not define, usually a typo. Axocoatl dropped unknown "
        "keys silently, so `depend_on:` quietly removed a dependency; axoc reports them as "
        "errors with the closest valid key, or the list of valid keys when nothing is close. "
        "A section under `providers` that is neither a built-in provider nor a named server "
        "with `kind: openai_compatible` is reported the same way. Unknown keys do not stop the "
        "other checks: references, cycles and roles are still checked in the same run. "
        "Top-level keys starting with `x-` are ignored, to hold anchors for reuse."
    ),
    "AX202": (
        'A value has the wrong type. Validation is strict: `"1000"` in quotes is not an '
        "integer, `yes` is not a boolean, `1.10` is not a string, and a single id is not a "
        "list of ids. The value found is described in the message, except for secrets "
        "(`api_key` and the like), whose values are never shown."
    ),
    "AX203": (
        "A required key is missing: the `id` of any item, the `agents` of a workflow, the "
        "`workflow` and `every` of a schedule, the `agent` and `trigger` of a proactive entry "
        "and the trigger's `type`, the `module` of a tool, the `kind` and `base_url` of a named "
        "server. It is reported at the mapping that lacks it."
    ),
    "AX204": (
        "A value has the right type but is not allowed: a word outside a fixed set (`role`, "
        "`overflow_policy`, a trigger `type`; the closest allowed value is suggested; a named "
        "provider's `kind`, which is `openai_compatible`: a second Ollama server is reached "
        "through its OpenAI API at `/v1`), a number "
        "out of range (`per_call` and other counts must be positive, `temperature` is 0 to 2, "
        "`top_p` above 0 and at most 1), an infinite or NaN number, or a malformed YAML "
        "construct such as a `<<` merge of something that is not a mapping."
    ),
    "AX205": (
        "A key that Axocoatl defines but axoc does not implement yet: the top-level sections "
        "`webhooks`, `server`, `sandbox` and `hooks`, a "
        "workflow's `htn_methods_file`, a provider's `fallback`. Every valid Axocoatl config is "
        "accepted, so this is a warning, and it names the key so that nothing is dropped "
        "silently. The sections are still checked against Axocoatl's own shape (a webhook needs "
        "a name and an http(s) URL), so their mistakes are found before Axocoatl would hit them."
    ),
    "AX208": (
        "Something the config language has and `axoc run` does not execute yet: the tools an "
        "agent lists that axoc run does not offer (every tool but `emit`, the file tools "
        "`read_file`, `list_dir`, `grep`, `write_file`, the memory tools `core_memory_*`, "
        "`recall_*`, the WASM `tools`, MCP tools when `mcp_servers` are configured, and the web "
        "tools `web_search` and `fetch_url` when their top-level block configures them — the "
        "warning then names the block; the agent runs without them), an agent's `memory.recall` "
        "when it lists neither `recall_search` nor `recall_timeframe` (nothing is stored or "
        "recalled for it), a `web_search:` block that cannot run (a provider axoc lacks, tavily "
        "without an `api_key`), and a coordinator's delegation to its workers (the coordinator runs "
        "alone; its workers never run). The config is valid, so this is a warning; `axoc run` "
        "repeats what concerns it in one note before it starts, and lists the agents that never "
        "ran when it ends, so a run never completes in silence while part of it did not happen."
    ),
    "AX206": (
        "A value that still works but is deprecated: `overflow_policy: summarize` is an alias "
        "of `warn` (the call is sent and the overrun logged; nothing is summarized). The hint "
        "gives the replacement."
    ),
    "AX207": (
        "Ids of agents, workflows, skills, schedules, proactive entries, tools and memory "
        "blocks become file names in the state directory, so they are limited to ASCII "
        "letters, digits, `_` and `-`, start with a letter or digit, and are at most 64 "
        "characters. References to ids (`depends_on`, workflow `agents`, `entry_point`, "
        "`tools`, ...) are held to the same rule. A non-ASCII look-alike, such as a Cyrillic "
        "`а` in place of a Latin `a`, is named with its code point."
    ),
    "AX301": (
        "Two items of the same section (`agents`, `workflows`, `skills`, `schedules`, "
        "`proactive`, `tools`) share an id, so one would silently shadow the other. The second "
        "is reported, with the line of the first. Ids need only be unique within a section."
    ),
    "AX302": (
        "A name refers to nothing: a `depends_on` entry, a workflow's `agents`, a skill's "
        "holders or a proactive `agent` that is no agent; an `entry_point` that is not one of "
        "its workflow's agents (unless it is a coordinator, which may lead its workers without "
        "being listed); a schedule's `workflow`; a `tools` entry that is neither a tool under "
        "`tools`, a built-in (axoc's or Axocoatl's) nor an MCP tool of a configured server "
        "(`mcp__<server>__<tool>`); a `provider` that is neither built in nor a named server. "
        "The hint suggests the closest name and lists the valid ones. A bare tool name that "
        "one of the configured MCP servers may provide is a warning: only the running server "
        "knows its tools. References are resolved after `${VAR}` interpolation."
    ),
    "AX303": (
        "A `${VAR}` without a default refers to an environment variable that is unset or "
        "empty. It is a warning for `check`, which often runs in CI without the secrets; "
        "running the config refuses it before any request is sent. Write `${VAR:-default}` "
        "for a fallback."
    ),
    "AX304": (
        "A `${` that does not start a well-formed reference: the name is missing, does not "
        "start with a letter or `_`, or the closing `}` is missing. Interpolation applies to "
        "string values only (never to keys or comments); write `$$` for a literal `$`. Also "
        "reported, once, when substitution would add more than 10 MB (10,485,760 characters) "
        "to the config (a big variable written many times): the rest is left as written."
    ),
    "AX305": (
        "A provider's `api_key` holds a literal key instead of a `${VAR}` reference, so the "
        "secret would end up in version control. It is a warning; the value is never shown, "
        "and the source line is printed masked as `api_key: ****`."
    ),
    "AX306": (
        "An agent names no model, and its provider has no default model "
        "(`providers.<name>.model`) either, so there is nothing to send requests to. The "
        "built-in `echo` provider needs no model."
    ),
    "AX401": (
        "Agents wait for each other through `depends_on`, so none of them can ever start. The "
        'cycle is printed as a path in which an arrow reads "depends on", starting at the '
        "agent defined first, and reported at the `depends_on` entry that closes it. An agent "
        "depending on itself is a cycle too. Each independent cycle is reported once."
    ),
    "AX402": (
        "Roles constrain how an agent is activated. A `worker` is assigned tasks by a "
        "coordinator, so it has no `depends_on` and belongs to a workflow whose `entry_point` "
        "is a coordinator; a `coordinator` leads a workflow, so it is the `entry_point` of at "
        "least one."
    ),
    "AX403": (
        "A token budget that no call can meet. `per_call` above `per_execution` can never be "
        "used in full. `sampling.max_tokens` at or above `per_call` leaves no room for input, "
        "since every call budgets its input plus `max_tokens`: an error under "
        "`overflow_policy: abort` (every call would be refused), a warning under `warn` (every "
        "call would be sent over budget)."
    ),
    "AX404": (
        "An interval (`every` in a schedule or a proactive schedule trigger) is a positive "
        "whole number followed by one unit letter: `30s`, `5m`, `1h`, `1d`. Zero, fractions, "
        "spaces and words such as `24hours` are invalid."
    ),
    "AX405": (
        "A workflow's `agents` list is empty, so it has nothing to run, or names one agent "
        "twice (reported at the second mention)."
    ),
    "AX406": (
        "The `emit` tool publishes only the events declared for its agent: the agent's own "
        "`emits` and those of the skills it holds. An agent listing `emit` in `tools` with "
        "nothing declared could publish nothing; an event the kernel publishes itself "
        "(`TaskCompleted`, `AgentFailed`, `UserInput`, ...) cannot be emitted by an agent, "
        "or dependents would fire on a completion that never happened. Declare custom event "
        "names, e.g. `emits: [DraftReady]`."
    ),
    "AX407": (
        "A `tools[]` entry's `module` (a path relative to the config's directory) does not "
        "exist, cannot be read, or is not valid WebAssembly: `axoc run` could not load the "
        "tool. `axoc check` validates the module with wasmtime (it does not compile it). Build "
        "the module for `wasm32-wasip1`, or compile a WAT file with `wat2wasm`."
    ),
    "AX408": (
        "A tool's `parameters` is not a valid JSON schema (draft 7), so its arguments could "
        "not be checked before a call: for example `required` given as a string instead of a "
        "list, or a `type` that is not a JSON type. The message names the place in the schema."
    ),
    "AX409": (
        "An agent lists a tool whose name its provider's API refuses, so the agent's first call "
        "would fail: OpenAI, Anthropic, Mistral and OpenRouter take letters, digits, `_` and "
        "`-`, at most 64 characters; Gemini also `.` and `:`, starting with a letter or `_`. "
        "MCP tools named `mcp__<server>__<tool>` run over the length most often: list the tool "
        "by its bare name (it resolves to the one server providing it), or give the server a "
        "shorter name. Ollama and OpenAI-compatible servers state no rule, so nothing is "
        "checked for them."
    ),
    "AX501": (
        "An `activation` expression does not parse. The language has agent ids (a bare id "
        "means that agent's TaskCompleted), event atoms such as `AgentFailed(coder)`, `and`, "
        "`or`, parentheses, `all(...)`, `any(...)`, `k of (...)` and weights such as "
        "`coder * 1.5`. Typical mistakes: a `(` never closed or a `)` too many, a character "
        "that is not part of the language (`&`, `|`, `!`, `;`: write `and`, `or`), an "
        "operator with nothing on one side (`a and and b`, `a and`), a missing or extra comma. "
        "The caret points inside the string at the offending token, or just past the end when "
        "the expression stops too early. An expression written over several lines (a block "
        "scalar) is reported at the start of its value."
    ),
    "AX502": (
        "An expression that parses but cannot be lowered to threshold units: `k of (...)` "
        "with k larger than the number of items or 0 (the caret points at k); a weight that is "
        "0 or above 1e6 (`a * 0`, `a * 9999999`; the caret points at the number); an event "
        "atom whose name is not an event name (`9x(coder)`); or an expression that multiplies "
        "out into more than 16 alternative units. Each conjunction, `any(...)` or `k of (...)` "
        "of plain atoms is one unit and each alternative of an `or` is another, so an `and` "
        "of `any(...)` groups multiplies: `any(a, b, c) and any(d, e, f) and any(g, h)` is "
        "3 × 3 × 2 = 18 units, and the whole expression is underlined. The work is bounded "
        "before it is done: how many alternatives a step would make is counted before they "
        "are built (a step past 64 is refused), parentheses nest at most 32 deep, and a k of "
        "more than 4 digits is refused without being read as a number."
    ),
    "AX503": (
        "A dependency or activation unit whose threshold θ is larger than the sum of the "
        "weights of the inputs that can ever arrive in a run of its workflow, so it never "
        "fires. axoc works out which agents can run, starting from UserInput at the entry and "
        "following dependencies, activation expressions, skills and proactive triggers, and "
        "which events they publish (TaskCompleted, AgentFailed, AgentActivated, and the "
        "`emits` of the skills they hold). Typical causes: an `activation_threshold` above the "
        "total of the inputs (by default each dependency adds 0.5); an expression that waits "
        "for an event its source never emits, or for an agent to both complete and fail; "
        "activation expressions that wait for each other. The hint lists the inputs that never "
        "arrive. A unit that cannot fire only because an agent it waits for never runs in the "
        "workflow, or is outside it, is not reported again: its root cause is (AX503, AX506 or "
        "AX507), and the root's message names what waits for it. A single alternative of an "
        "`or` that cannot fire while another can is a warning."
    ),
    "AX504": (
        "A decaying unit (`activation_decay` above 0) that reaches its threshold only when two "
        "or more inputs arrive at the same instant. Completions arrive one at a time, and by "
        "the time the second one comes the first has decayed below its weight, so the sum "
        "never reaches θ: Axocoatl's default λ = 0.01/s on every join made such joins "
        "unreachable. A completion is a fact, so dependency and activation units do not decay "
        "by default; remove `activation_decay`, or lower `activation_threshold` to leave room "
        "for decay (the inputs must then still arrive within a time window)."
    ),
    "AX505": (
        "Skills can fire any number of times in a run. When they trigger each other in a "
        "cycle, the run loops until its cycle guard, `max_activations`, stops it, spending "
        "tokens all the way: skill A emits an event that skill B reacts to, and B emits one "
        "that A reacts to; or a skill reacts to `TaskCompleted` (or `AgentFailed`) from any "
        "source, which its own holder publishes. Every run has that guard, so this is a "
        "warning (Axocoatl's configs have such loops). The loop is printed as a path of units "
        'in which an arrow reads "triggers". Break it, or react to a specific source '
        "(`TaskCompleted(researcher)`). An agent with the built-in `emit` tool is assumed to "
        "publish any custom event. Proactive `on_event` triggers have a 30 s cooldown and do "
        "not count as loops."
    ),
    "AX506": (
        "A workflow agent that nothing in a run of that workflow can activate. It is not an "
        "entry (with `entry_point` set only that agent is; otherwise every agent without "
        "`depends_on` or `activation` is), and no chain of dependencies, activation "
        "expressions, skills or proactive triggers leads to it from the entry. Common cause: "
        "an `entry_point` plus another agent without `depends_on`. It is a warning: the agent "
        "is listed, but never runs; the message names the agents that wait for it and so "
        "cannot run either. An agent whose only dependency is outside the workflow is AX507, "
        "and a coordinator's workers are AX208."
    ),
    "AX507": (
        "A `depends_on` entry, or an agent named in an `activation` expression, that is not "
        "among the workflow's `agents`. `depends_on` belongs to the agent, so it applies in "
        "every workflow that lists the agent; in a workflow without the dependency it is "
        "dropped: the agent waits only for its other dependencies, and when none is left "
        "nothing activates it there. An expression keeps the outside agent, whose completion "
        "never arrives in that run unless a skill or proactive trigger runs it; the message "
        "says when the activation cannot hold without it. This is the root cause, reported "
        "once: the agents that wait for it get no AX503 or AX506 of their own."
    ),
    "AX508": (
        "A skill emits a custom event that no skill's `reacts_to`, no activation expression "
        "and no proactive `on_event` trigger listens to, so publishing it has no effect. "
        "Usually a typo in the emitted name or in the pattern meant to catch it (event names "
        "are case-sensitive), or a skill not written yet."
    ),
    "AX509": (
        "A skill's `reacts_to` pattern names a custom event that no skill emits (`BugFiled`), "
        "or a source that emits no such event (`CodeReady(reviewer)` when only the coder's "
        "skill emits CodeReady), so the skill never reacts to it; it can still be fired by "
        "hand (`axoc run --fire SKILL`). Events the runtime publishes (TaskCompleted, "
        "AgentFailed, ...) are not checked, and when an agent has the built-in `emit` tool, "
        "which can publish any event, no pattern is reported."
    ),
    "AX510": (
        "Event names (in `emits` and `lattice.weights`) start with a letter and continue with "
        "letters, digits and `_`, at most 64 characters. Event patterns (in `reacts_to` and "
        "`on_event` triggers) are `Name` for an event from any source or `Name(source)` with "
        "an agent id, such as `AgentFailed(coder)`."
    ),
    "AX511": (
        "A setting that the lowering cannot use. An `activation` expression replaces the "
        "implicit `all(depends_on)`, so a `depends_on` beside it does not make the agent wait "
        "(list the agents in the expression instead); a workflow's entry point starts on the "
        "workflow's input, so its own `activation` is not used in that workflow. Also a "
        "setting without effect in axoc: Axocoatl's `memory.max_session_messages` (each "
        "activation starts a fresh session), and a `consolidation:` block when no agent has "
        "both core memory and semantic memory, which consolidation needs."
    ),
}


@dataclass(frozen=True, slots=True)
class ShellExample:
    """A file-level problem shown as a shell session: `setup` (POSIX sh commands run in an
    empty directory) creates the input, then `axoc check *argv` prints `output` and exits
    with `exit`. tests/test_catalogue.py replays it, so the output shown is the real one."""

    setup: tuple[str, ...]
    argv: tuple[str, ...]
    output: str
    exit: int


SHELL_EXAMPLES: dict[str, ShellExample] = {
    "AX100": ShellExample(
        setup=(),
        argv=("missing.yaml",),
        output=(
            "missing.yaml:1:1: error: no such file or directory [AX100]\n"
            "1 error, 0 warnings in 0 files\n"
        ),
        exit=2,
    ),
    "AX105": ShellExample(
        setup=(r"printf 'agents:\n  - id: caf\351\n    model: llama3.2\n' > latin1.yaml",),
        argv=("latin1.yaml",),
        output=(
            "latin1.yaml:2:12: error: invalid UTF-8 byte 0xe9; save the file as UTF-8 [AX105]\n"
            "1 error, 0 warnings in 1 file\n"
        ),
        exit=1,
    ),
    "AX106": ShellExample(
        setup=(r"printf 'agents: []\n\000\000\000' > nul.yaml",),
        argv=("nul.yaml",),
        output=(
            "nul.yaml:2:1: error: binary file: NUL byte found; expected YAML text [AX106]\n"
            "1 error, 0 warnings in 1 file\n"
        ),
        exit=1,
    ),
    "AX112": ShellExample(
        setup=("truncate -s 21M big.yaml",),
        argv=("big.yaml",),
        output=(
            "big.yaml:1:1: error: file is 22,020,096 bytes; configs are limited to 20 MB (20,971,520 bytes) [AX112]\n"
            "1 error, 0 warnings in 1 file\n"
        ),
        exit=2,
    ),
    "AX113": ShellExample(
        setup=("mkdir empty-dir",),
        argv=("empty-dir",),
        output=(
            "empty-dir:1:1: error: no config files (axoc.yaml, *.axoc.yaml, axocoatl.yaml; "
            ".yml too) in this directory [AX113]\n"
            "1 error, 0 warnings in 0 files\n"
        ),
        exit=2,
    ),
}

INTRO = """\
# Diagnostics

<!-- Generated by tests/catalogue.py from axoc/codes.py and tests/golden/check; do not edit.
     Rewrite with `python3 -m pytest tests/test_catalogue.py --update-golden`. -->

`axoc check [PATH...]` reports every problem it finds in one run. Each diagnostic has a stable
code, listed below with what it means and a failing example. Every example is a test: the
inputs are the golden files in `tests/golden/check/`, and the outputs shown are what
`axoc check` prints for them.

## Reading a diagnostic

In the default text format a diagnostic is one line

```text
path:line:column: severity: message [CODE]
```

with a 1-based line and column, followed by the source line with a caret under the offending
text, and often a `hint:` line with a suggestion (the closest valid name, the valid values, the
fix). Values of secrets (`api_key` and the like) are never printed: their source lines are
shown masked as `****`. A summary line ends the output:
`2 errors, 1 warning in 3 files`.

`--format json` gives the same data as objects (`file`, `line`, `column`, `end_line`,
`end_column`, `severity`, `code`, `message`, `path`, `hint`); `--format github` prints GitHub
Actions workflow commands (`::error file=…,line=…,col=…,title=CODE::message`) so problems show
up on the pull request; `--format sarif` writes SARIF 2.1.0 for code-scanning tools.

Checks run in stages: reading and YAML (AX1xx), then the schema (AX2xx), then ids, references,
roles, budgets and cycles (AX3xx–AX4xx), then the lattice analysis of the lowered signal table
(AX5xx). Every stage reports all of its own problems. A file that cannot be read or parsed is
not checked further. After a schema error, the offending value is set aside and the rest is
still checked for references, cycles and roles (nothing more is said about the item whose value
was set aside, so no report is a consequence of another); only a missing required key stops
there. The lattice analysis runs on configs without errors.

## Exit codes

| code | meaning |
|------|---------|
| 0 | no errors (warnings allowed, unless `--strict`) |
| 1 | errors found |
| 2 | usage error, or a path that cannot be read (AX100, AX112, AX113) |
| 3 | internal error in axoc (reported in one line, never a traceback; please report it) |

## `--strict`

Warnings (for example AX103, AX205, AX303, AX305, and AX403 under `overflow_policy: warn`) do
not fail a check by default: `check` exits with 0 when there are only warnings. With `--strict`
any warning makes `check` exit with 1, as an error would; use it in CI once a config is clean.
"""


@dataclass(frozen=True, slots=True)
class GoldenCase:
    path: Path
    code: str
    source: str
    exit: int
    output: str


def golden_cases(directory: Path = GOLDEN) -> dict[str, list[GoldenCase]]:
    """The golden `check` cases named for a code (`AXnnn-slug.yaml`), by code, sorted by name."""
    cases: dict[str, list[GoldenCase]] = {}
    for path in sorted(directory.glob("AX*.yaml")):
        match = CASE_NAME.match(path.name)
        if match is None:
            raise CatalogueError(f"{path.name}: a golden case is named AXnnn-short-slug.yaml")
        source, expected = split(path)
        if expected is None:
            raise CatalogueError(f"{path.name}: no expected output (run --update-golden)")
        first, _, output = expected.partition("\n")
        if not first.startswith("exit "):
            raise CatalogueError(f"{path.name}: expected output must start with 'exit N'")
        case = GoldenCase(path, match.group(1), source, int(first.removeprefix("exit ")), output)
        cases.setdefault(case.code, []).append(case)
    return cases


def check_complete(
    cases: Mapping[str, list[GoldenCase]],
    explanations: Mapping[str, str] = EXPLANATIONS,
    examples: Mapping[str, ShellExample] = SHELL_EXAMPLES,
) -> None:
    """Raise `CatalogueError` unless every code is explained and shown, and nothing is stale."""
    problems = []
    for code in CODES:
        if not explanations.get(code, "").strip():
            problems.append(f"{code}: no explanation in tests/catalogue.py")
        if code not in cases and code not in examples:
            problems.append(f"{code}: no golden case in tests/golden/check and no shell example")
    for kind, names in (("explanation", explanations), ("shell example", examples)):
        problems += [
            f"{name}: {kind} for a code not in CODES" for name in names if name not in CODES
        ]
    problems += [
        f"{code}: golden case for a code not in CODES" for code in cases if code not in CODES
    ]
    if problems:
        raise CatalogueError("diagnostics catalogue incomplete:\n  " + "\n  ".join(problems))


def render() -> str:
    cases = golden_cases()
    check_complete(cases)
    sections = [INTRO]
    for code, title in CODES.items():
        sections.append(_section(code, title, cases.get(code, []), SHELL_EXAMPLES.get(code)))
    return "\n".join(sections)


def _section(code: str, title: str, cases: list[GoldenCase], example: ShellExample | None) -> str:
    head = [f'<a id="{code.lower()}"></a>', "", f"## {code} — {title}", "", EXPLANATIONS[code]]
    body = _golden_body(cases) if cases else _shell_body(example)
    return "\n".join([*head, "", *body, ""])


def _golden_body(cases: list[GoldenCase]) -> list[str]:
    first = cases[0]
    lines = [f"`{_relative(first.path)}`:", "", "```yaml", first.source.rstrip("\n"), "```", ""]
    lines += [f"`axoc check` exits with {first.exit} and prints:", ""]
    lines += ["```text", first.output.rstrip("\n"), "```"]
    more = [f"[{case.path.name}](../{_relative(case.path)})" for case in cases[1:]]
    if more:
        lines += ["", "More cases: " + ", ".join(more) + "."]
    return lines


def _shell_body(example: ShellExample | None) -> list[str]:
    assert example is not None  # check_complete guarantees it
    session = [f"$ {command}" for command in example.setup]
    session += [f"$ axoc check {' '.join(example.argv)}", example.output.rstrip("\n")]
    session += ["$ echo $?", str(example.exit)]
    return ["```console", *session, "```"]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
