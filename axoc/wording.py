"""How messages word counts and unknown names, in one place.

In: a count and a noun, a list of names, or a name and the names it could have been. Out: text —
"1 agent", "2 agents"; "'a', 'b' and 'c'"; "no workflow 'reserch' (did you mean 'research'?
workflows: research, review)".
Standard library only: commands that never load the compiler (running a saved plan) use it too.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable


def shortened(text: str, most: int) -> str:
    """`text`, cut after `most` characters with "..." to say so."""
    return text if len(text) <= most else text[:most] + "..."


def escaped(text: str) -> str:
    """`text` for a message about a value: a line break or another unprintable character escaped
    (`\\n`), never printed raw."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun, singular for exactly 1: `plural(1, "agent")` is "1 agent"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


class Names:
    """Valid names, indexed once for guessing what an unknown name meant and for listing them in
    a hint. A guess compares the unknown name with at most 32 valid ones: all of a small set; of a
    big one, its neighbours in alphabetical order and in the order of their reversed spellings (a
    typo seldom changes both ends). So n unknown names among n valid ones cost n, not n²
    (20,000 dangling references took minutes)."""

    NEAR = 8  # neighbours taken on each side, in each order
    SHOWN = 20  # names listed in a hint

    def __init__(self, names: Iterable[str]) -> None:
        self._names = names  # sorted when first needed: most configs have nothing unknown
        self._sorted: list[str] | None = None
        self._reversed: list[str] | None = None
        self._set: set[str] | None = None

    @property
    def sorted(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(set(self._names))
        return self._sorted

    def __bool__(self) -> bool:
        return bool(self.sorted)

    def __contains__(self, name: object) -> bool:
        if self._set is None:
            self._set = set(self.sorted)
        return name in self._set

    def closest(self, name: str, cutoff: float = 0.6) -> str | None:
        """The valid name `name` most likely misspells, if one is close enough."""
        found = difflib.get_close_matches(name, self._candidates(name), n=1, cutoff=cutoff)
        return found[0] if found else None

    def shown(self) -> str:
        """The first names, alphabetically, then `…` when there are more."""
        more = ", …" if len(self.sorted) > self.SHOWN else ""
        return ", ".join(self.sorted[: self.SHOWN]) + more

    def _candidates(self, name: str) -> list[str]:
        if len(self.sorted) <= 4 * self.NEAR:
            return self.sorted
        if self._reversed is None:
            self._reversed = sorted(n[::-1] for n in self.sorted)
        near = _around(self.sorted, name, self.NEAR)
        near += [n[::-1] for n in _around(self._reversed, name[::-1], self.NEAR)]
        return list(dict.fromkeys(near))


def _around(ordered: list[str], name: str, count: int) -> list[str]:
    at = bisect.bisect_left(ordered, name)
    return ordered[max(0, at - count) : at + count]


def closest(name: str, names: Iterable[str]) -> str | None:
    """The valid name `name` most likely misspells, if one is close enough."""
    return Names(names).closest(name)


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
