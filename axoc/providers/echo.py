"""The built-in `echo` provider: deterministic, no network, for --dry-run, tests and benchmarks.

It answers `<agent> <- <the start of the last user message, on one line>`, cut to 160
characters (the last three `...`) and to the request's `max_tokens`, so a dry run shows the
cascade and every hand-off. Its own text is ASCII: a dry run of ASCII prompts prints only ASCII,
whatever the terminal's or the redirected file's encoding, and ASCII text is measured in bytes
without being encoded (`str.isascii` reads a flag CPython keeps, in constant time). Usage is
computed the documented way (the kernel's input estimate, one token per UTF-8 byte of the
answer), so budgets behave in a dry run as they would against a model.

Offered tools, echo calls them, so a dry run exercises the tool loop: while no tool result
follows the last user message, it answers with one call per offered tool (ids `call_1`,
`call_2`, … in the order offered), each with arguments built from the tool's schema
(`example`: an enum's first value, every required property with a value of its type, nothing
optional); once results are in, it answers text as above. Calls that would not fit in
`max_tokens` (one token per byte of their names and arguments) are not made: it answers text.
With no tools its answers are byte for byte those it always gave.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Message, Request, Response, ToolCall, ToolDefinition, Usage

WIDTH = 160
EXAMPLES: Mapping[str, Any] = {
    "string": "echo",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "null": None,
}


class EchoProvider:
    async def complete(self, request: Request) -> Response:
        return self.complete_now(request)

    def complete_now(self, request: Request) -> Response:
        """Answer without I/O: the driver calls this directly, with no task or timer."""
        if request.tools and request.tool_choice != "none" and not _results_in(request.messages):
            calls, size = _calls(request.tools)
            if request.max_tokens is None or size <= request.max_tokens:
                estimate = request.input_estimate or estimate_input(request.messages, request.tools)
                return Response("", Usage(estimate, size), "echo", "tool_calls", calls)
        last = ""
        for message in reversed(request.messages):
            if message.role == "user":
                last = message.content
                break
        # Only what is shown: the start of `last` on one line. That of the first WIDTH
        # characters is a prefix of that of the first 2·WIDTH, and usually long enough to be
        # cut to the same text; collapsing half as much is a third of this function.
        text = f"{request.agent} <- {_one_line(last[:WIDTH])}"
        if len(text) <= WIDTH and len(last) > WIDTH:
            text = f"{request.agent} <- {_one_line(last[: 2 * WIDTH])}"
        if len(text) > WIDTH:
            text = text[: WIDTH - 3] + "..."
        size = len(text) if text.isascii() else len(text.encode())
        finish = "stop"
        if request.max_tokens is not None and size > request.max_tokens:
            text = text.encode()[: max(0, request.max_tokens)].decode(errors="ignore")
            size = len(text.encode())
            finish = "length"
        estimate = request.input_estimate or estimate_input(request.messages)
        # Built as `tuple.__new__` does it, in C (every field, in order): the same NamedTuples at
        # half the cost of calling the classes, whose `__new__` runs in Python.
        usage = tuple.__new__(Usage, (estimate, size, 0, 0))
        return tuple.__new__(Response, (text, usage, "echo", finish, ()))

    async def aclose(self) -> None:
        return None


_made: dict[int, tuple[tuple[ToolDefinition, ...], tuple[ToolCall, ...], int]] = {}


def _calls(tools: tuple[ToolDefinition, ...]) -> tuple[tuple[ToolCall, ...], int]:
    """One call per tool, and their size in bytes; made once per tuple of definitions (a
    session offers the same one at every turn; the cache holds it, so its id stays its own)."""
    made = _made.get(id(tools))
    if made is not None and made[0] is tools:
        return made[1], made[2]
    calls = tuple(
        ToolCall(f"call_{n}", tool.name, json.dumps(example(tool.parameters)))
        for n, tool in enumerate(tools, 1)
    )
    size = sum(len(c.name.encode()) + len(c.arguments.encode()) for c in calls)
    if len(_made) >= 256:
        _made.clear()
    _made[id(tools)] = (tools, calls, size)
    return calls, size


def _results_in(messages: tuple[Message, ...]) -> bool:
    """Whether a tool result follows the last user message."""
    for message in reversed(messages):
        if message.role == "tool":
            return True
        if message.role == "user":
            return False
    return False


def example(schema: object) -> Any:
    """A value a JSON schema accepts, built deterministically: an enum's first value; for an
    object, each required property's example; for the other types a fixed value of the type."""
    if not isinstance(schema, Mapping):
        return None
    choices = schema.get("enum")
    if isinstance(choices, list) and choices:
        return choices[0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        required = schema.get("required")
        names = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
        return {name: example(properties.get(name, {})) for name in names}
    return EXAMPLES.get(kind, "echo") if isinstance(kind, str) else "echo"


def _one_line(text: str) -> str:
    """`' '.join(text.split())`: every run of whitespace one space, none at either end."""
    # Hand-offs hold single spaces and newlines: replacing the newlines gives the same string
    # in half the time. Every whitespace character but the space is unprintable, so a printable
    # line with no double space and none at either end has nothing left to collapse.
    line = text.replace("\n", " ")
    if line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " ":
        return line
    return " ".join(text.split())
