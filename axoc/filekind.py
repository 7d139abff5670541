"""Tell a saved plan from a config by its content, whatever the file is called.

In: the path given to `axoc run`. Out: `PLAN` or `CONFIG`; `NotRunnable`, saying why, for a
file that is neither. The rules, in order:

- a JSON object with a `"format"` key is a saved plan (`axoc plan --format json` writes that
  key first, so a plan is recognised from its first bytes; the plan loader then checks the
  format's version and the digest);
- a JSON object with a config key (`agents`, `workflows`, any top-level key of the config
  schema) is a config: YAML is a superset of JSON, so the compiler reads it like any other;
- a JSON object with neither, a file named `*.json` that is not JSON at all (not UTF-8, a
  syntax error) or whose top level is not an object, is refused;
- anything else is a config (YAML), which the compiler checks and reports at its lines.

Only a file starting with `{` (or named `*.json`) is parsed here; an unreadable one is left to
the reader of its kind to report.
"""

from __future__ import annotations

import json
import re

from axoc.readfile import MAX_CONFIG_BYTES, read_bounded

PLAN, CONFIG = "plan", "config"
_PLAN_START = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"format"\s*:')
_WHITESPACE = b"\xef\xbb\xbf \t\r\n"
_NEITHER = "is neither a saved plan nor a config"


class NotRunnable(Exception):
    """The file is neither a saved plan nor a config; the message says why."""


def kind(path: str) -> str:
    named_json = path.lower().endswith(".json")
    try:
        head = read_bounded(path, 4095)
        if _PLAN_START.match(head):
            return PLAN
        if not named_json and not head.lstrip(_WHITESPACE).startswith(b"{"):
            return CONFIG
        data = read_bounded(path, MAX_CONFIG_BYTES)
    except OSError:  # missing, unreadable, a FIFO or device: its reader says so
        return PLAN if named_json else CONFIG
    if len(data) > MAX_CONFIG_BYTES:
        return CONFIG  # too large for a config: the compiler says so (AX112)
    return _of_json(path, data, named_json)


def _of_json(path: str, data: bytes, named_json: bool) -> str:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        if not named_json:
            return CONFIG
        byte = exc.object[exc.start]
        raise NotRunnable(
            f"{path} {_NEITHER}: not UTF-8 text (byte 0x{byte:02x} at offset {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        if not named_json:
            return CONFIG  # a YAML flow mapping: {agents: [...]}
        raise NotRunnable(
            f"{path} {_NEITHER}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except (ValueError, RecursionError):  # JSON, but beyond Python's limits: the compiler's
        return CONFIG
    if isinstance(value, dict) and "format" in value:
        return PLAN
    if isinstance(value, dict) and value.keys() & _config_keys():
        return CONFIG
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:5]) or "none"
        raise NotRunnable(
            f'{path} {_NEITHER}: a saved plan has "format": "axoc.signal-table/1", a config '
            f"has agents or workflows; this JSON object has neither (its keys: {keys})"
        )
    if named_json:
        raise NotRunnable(f"{path} {_NEITHER}: its top level is not a JSON object")
    return CONFIG


def _config_keys() -> set[str]:
    from axoc.config import Config

    return {field.alias or name for name, field in Config.model_fields.items()}
