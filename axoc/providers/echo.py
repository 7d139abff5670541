"""The built-in `echo` provider: deterministic, no network, for --dry-run, tests and benchmarks.

It answers `<agent> <- <the start of the last user message, on one line>`, cut to 160
characters (the last three `...`) and to the request's `max_tokens`, so a dry run shows the
cascade and every hand-off. Its own text is ASCII: a dry run of ASCII prompts prints only ASCII,
whatever the terminal's or the redirected file's encoding, and ASCII text is measured in bytes
without being encoded (`str.isascii` reads a flag CPython keeps, in constant time). Usage is
computed the documented way (the kernel's input estimate, one token per UTF-8 byte of the
answer), so budgets behave in a dry run as they would against a model.
"""

from __future__ import annotations

from axoc.kernel.budget import estimate_input
from axoc.kernel.ports import Request, Response, Usage

WIDTH = 160


class EchoProvider:
    async def complete(self, request: Request) -> Response:
        return self.complete_now(request)

    def complete_now(self, request: Request) -> Response:
        """Answer without I/O: the driver calls this directly, with no task or timer."""
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


def _one_line(text: str) -> str:
    """`' '.join(text.split())`: every run of whitespace one space, none at either end."""
    # Hand-offs hold single spaces and newlines: replacing the newlines gives the same string
    # in half the time. Every whitespace character but the space is unprintable, so a printable
    # line with no double space and none at either end has nothing left to collapse.
    line = text.replace("\n", " ")
    if line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " ":
        return line
    return " ".join(text.split())
