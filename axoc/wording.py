"""How messages word counts and unknown names, in one place.

In: a count and a noun, a list of names, or a name and the names it could have been. Out: text —
"1 agent", "2 agents"; "'a', 'b' and 'c'"; "no workflow 'reserch' (did you mean 'research'?
workflows: research, review)".
Standard library only: commands that never load the compiler (running a saved plan) use it too.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun, singular for exactly 1: `plural(1, "agent")` is "1 agent"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def closest(name: str, names: Iterable[str]) -> str | None:
    """The valid name `name` most likely misspells, if one is close enough."""
    found = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown(kind: str, name: str, names: Iterable[str]) -> str:
    """`no workflow 'reserch' (did you mean 'research'? workflows: research, review)`."""
    valid = list(names)
    guess = closest(name, valid)
    did_you_mean = f"did you mean '{guess}'? " if guess else ""
    return f"no {kind} '{name}' ({did_you_mean}{kind}s: {', '.join(valid) or 'none'})"


def listing(names: Iterable[str], most: int | None = None) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`; past `most` names, `'a', 'b' and 3 more`."""
    quoted = [f"'{n}'" for n in names]
    if most is not None and len(quoted) > most:
        return ", ".join(quoted[:most]) + f" and {len(quoted) - most} more"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
