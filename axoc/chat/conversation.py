"""A conversation with one agent, kept between `axoc chat` sessions.

In: the state directory and the agent. Out: `Conversation` — its turns (user and assistant
messages, oldest first), `add` to keep a finished exchange, `restart` to begin a new one.

Stored as `<state>/chats/<agent>.json` (`{"format": "axoc.chat/1", "turns": [...]}`), written
atomically after each exchange: a crash never leaves half an exchange or a torn file. A file
that cannot be read is set aside as `<agent>.json.unreadable-<time>` with a warning, never
overwritten in silence. `restart` keeps the old conversation as `<agent>.json.<time>`.
Conversations longer than `MAX_TURNS` messages keep their latest ones (the prompt must fit a
model's context; what the agent should keep for longer belongs in its memory).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from axoc.kernel.ports import Message
from axoc.statedir import write_text

FORMAT = "axoc.chat/1"
MAX_TURNS = 200


class Conversation:
    def __init__(self, root: Path, agent: str) -> None:
        self.path = root / "chats" / f"{agent}.json"
        self.warning: str | None = None
        self.turns: list[Message] = self._read()

    def _read(self) -> list[Message]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            turns = data["turns"] if data.get("format") == FORMAT else None
            if not isinstance(turns, list):
                raise ValueError("not an axoc chat")
            return [
                Message(str(t["role"]), str(t["content"]))
                for t in turns
                if t.get("role") in ("user", "assistant")
            ]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{_stamp()}")
            try:
                self.path.rename(aside)
                kept = f"; it was set aside as {aside.name}"
            except OSError:
                kept = ""
            self.warning = f"{self.path} cannot be read ({exc}): a new conversation starts{kept}"
            return []

    @property
    def history(self) -> tuple[Message, ...]:
        return tuple(self.turns[-MAX_TURNS:])

    def add(self, asked: str, answer: str) -> None:
        self.turns += [Message("user", asked), Message("assistant", answer)]
        kept = [{"role": m.role, "content": m.content} for m in self.turns[-MAX_TURNS:]]
        write_text(self.path, json.dumps({"format": FORMAT, "turns": kept}, ensure_ascii=False))

    def restart(self) -> None:
        if self.path.exists():
            self.path.rename(self.path.with_name(f"{self.path.name}.{_stamp()}"))
        self.turns = []


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())
