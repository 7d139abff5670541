"""`axoc chat -a AGENT FILE [--json] [--new] [--dry-run] [--state-dir DIR]`: talk to one agent.

In: the config, the agent, lines of standard input (each a message). Out: each reply — on a
terminal after `AGENT> `, else one line of text, or with `--json` one JSON object per line
(`{"event": "reply", "run_id", "agent", "content", "stop_reason", "exit_code", "tokens"}`, or
`{"event": "error", ...}` for a message that got no reply) — and exit 0 at the end of input.
Exit 2, before any message, when the config cannot run the agent (as `axoc run --agent`).

Each message is one run of the agent alone (`axoc run --agent`): its tools, its memory, its
budgets and the provider's limits apply, and it is journaled like any run (`axoc runs list`).
The conversation so far goes with it as earlier messages of the prompt — user and assistant
turns between the system prompt and the new message — and is kept in the state directory
(`axoc.chat.conversation`), so the next `axoc chat` with the agent goes on where this one
ended; `--new` starts over (the old conversation is kept aside).

On a terminal: Ctrl-D on an empty line ends the chat; Ctrl-C at the prompt drops the line and
gives a new prompt, as a shell does; Ctrl-C while the agent replies stops that reply (its run
is left interrupted and resumable with `axoc run --resume`; the exchange is not added).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from axoc import runs
from axoc.chat.conversation import Conversation
from axoc.fingerprint import Reads
from axoc.kernel.checkpoint import Checkpointer
from axoc.runnable import Runnable, RunRefused, Target, prepare
from axoc.runtime import startup
from axoc.runtime.execution import execute, make_driver
from axoc.statedir import state_dir

EXIT_OK, EXIT_USAGE = 0, 2


def chat_command(
    path: str | None, agent: str, state: str | None, as_json: bool, dry_run: bool, new: bool
) -> int:
    if path is None:  # the one config of this directory
        from axoc.discover import configs_here

        found = configs_here()
        if len(found) != 1:
            why = "no config here" if not found else f"several configs here ({', '.join(found)})"
            print(f"axoc chat: {why}: name one, axoc chat -a {agent} FILE", file=sys.stderr)
            return EXIT_USAGE
        path = found[0]
    root = state_dir(state)
    reads = Reads(os.environ)
    try:
        loaded = prepare(path, Target(agent=agent), dry_run, reads)
    except RunRefused as refused:
        print(f"axoc chat: {refused}", file=sys.stderr)
        return EXIT_USAGE
    conversation = Conversation(root, agent)
    if conversation.warning is not None:
        print(f"axoc chat: warning: {conversation.warning}", file=sys.stderr)
    if new:
        conversation.restart()
    chat = _Chat(root, path, agent, loaded, reads, conversation, as_json, dry_run)
    return chat.loop()


class _Chat:
    def __init__(
        self, root: Any, path: str, agent: str, loaded: Runnable, reads: Reads,
        conversation: Conversation, as_json: bool, dry_run: bool,
    ) -> None:  # fmt: skip
        self.root, self.path, self.agent = root, path, agent
        self.loaded, self.reads, self.conversation = loaded, reads, conversation
        self.as_json, self.dry_run = as_json, dry_run
        self.terminal = sys.stdin.isatty() and not as_json

    def loop(self) -> int:
        if self.terminal:
            spec = self.loaded.table.by_id("agents")[self.agent]
            earlier = len(self.conversation.turns)
            going_on = (
                f"; going on from {earlier} earlier messages (--new starts over)" if earlier else ""
            )
            print(f"axoc chat with {self.agent} ({spec.provider}, {spec.model}){going_on}. "
                  "Ctrl-D ends; Ctrl-C stops a reply.", file=sys.stderr)  # fmt: skip
        while True:
            try:
                line = input("you> ") if self.terminal else sys.stdin.readline()
            except EOFError:
                if self.terminal:
                    print(file=sys.stderr)
                return EXIT_OK
            except KeyboardInterrupt:  # at the prompt: drop the line, as a shell does
                print("^C", file=sys.stderr)
                continue
            if not self.terminal and line == "":
                return EXIT_OK
            text = line.rstrip("\r\n")
            if text.strip():
                self.exchange(text)

    def exchange(self, text: str) -> None:
        try:
            _, run, built = startup.open_run(
                self.root, self.path, self.loaded, self.reads, text, self.dry_run,
                history=self.conversation.history,
            )  # fmt: skip
        except (RunRefused, runs.RunsError, ValueError) as refused:
            code = getattr(refused, "code", "provider")
            self.say_error(code, str(refused).splitlines()[0], None)
            return
        checkpointer = Checkpointer(run.store)
        driver = make_driver(self.loaded.table, built, run, lambda record: None, checkpointer)
        try:
            result = execute(driver, built, None, run)  # its MCP servers too
        except KeyboardInterrupt:
            self.say_error("interrupted", f"the reply was stopped; resume it with axoc run "
                           f"{self.path} --resume {run.run_id}", run.run_id)  # fmt: skip
            return
        except RunRefused as refused:  # an MCP server that does not start, a changed tool
            self.say_error(refused.code, str(refused).splitlines()[0], run.run_id)
            return
        finally:
            with contextlib.suppress(OSError):
                checkpointer.close()
                run.writer.close()
                run.lock.release()
            if run.memory is not None:  # its memories stored, its semantic indexes saved
                for warning in run.memory.close():
                    print(f"axoc chat: warning: {warning}", file=sys.stderr)
        outputs = dict(result.outputs)
        answer = outputs.get(self.agent)
        if result.exit_code != 0 or answer is None:
            why = "; ".join(result.errors.values()) or result.stop_reason
            self.say_error(result.stop_reason, f"no reply: {why}", run.run_id)
            return
        self.conversation.add(text, answer)
        if self.as_json:
            print(json.dumps({"event": "reply", "run_id": run.run_id, "agent": self.agent,
                              "content": answer, "stop_reason": result.stop_reason,
                              "exit_code": result.exit_code, "tokens": result.ledger.used},
                             ensure_ascii=False), flush=True)  # fmt: skip
        elif self.terminal:
            print(f"{self.agent}> {answer}", flush=True)
        else:
            print(answer, flush=True)

    def say_error(self, code: str, message: str, run_id: str | None) -> None:
        if self.as_json:
            print(json.dumps({"event": "error", "code": code, "message": message,
                              "run_id": run_id}), flush=True)  # fmt: skip
        else:
            print(f"axoc chat: {message}", file=sys.stderr, flush=True)
