"""Activation expressions: parse with lark, lower to threshold terms.

Grammar (SPEC §4.3): `all(a, b)`, `any(a, b)`, `2 of (a, b, c)`, `a and any(b, c)`,
`(a and b) or (c and d)`, event atoms such as `AgentFailed(x)`, weights such as `a * 1.5`. A bare
agent id means `TaskCompleted(id)`; a bare event name means that event from any source.

In: the expression text. Out: a list of `Term`s — alternatives, the first to fire wins — each one
threshold unit: a set of weighted atoms and a threshold θ. Lowering rules: a conjunction of atoms
is one unit with θ = Σw; `any(atoms)` is one unit with θ = min w; `k of (atoms)` with equal
weights is one unit with θ = k·w; everything else is expanded into its disjunctive normal form,
at most `MAX_TERMS` units. Errors are `ExprError`s carrying the offset inside the text.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from axoc.wording import plural

MAX_TERMS = 16
# Work bounds, checked before the work: alternatives held at any step (absorption compares them
# pairwise), parenthesis nesting (lowering recurses through it), digits of a `k of` count.
MAX_RAW_TERMS = 4 * MAX_TERMS
MAX_NESTING = 32
MAX_K_DIGITS = 4
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

GRAMMAR = r"""
?start: disj
?disj: conj ("or" conj)*
?conj: item ("and" item)*
?item: call | kof | "(" disj ")" | weighted
call: FUNC "(" disj ("," disj)* ")"
kof: INT "of" "(" disj ("," disj)* ")"
weighted: atom ("*" NUMBER)?
atom: NAME ("(" NAME ")")?
FUNC.3: /(all|any)(?![A-Za-z0-9_-])/
INT.2: /[0-9]+(?![A-Za-z_.-])/
NUMBER: /[0-9]+(\.[0-9]+)?|\.[0-9]+/
NAME: /(?!(and|or|of|all|any)(?![A-Za-z0-9_-]))[A-Za-z0-9][A-Za-z0-9_-]*/
%ignore /[ \t\r\n]+/
"""

_FRIENDLY = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "STAR": "'*'",
    "NAME": "a name",
    "INT": "a number",
    "NUMBER": "a number",
    "FUNC": "all/any",
    "OR": "'or'",
    "AND": "'and'",
    "OF": "'of'",
    "$END": "the end",
}


class ExprError(Exception):
    """A problem at `offset` (0-based) inside the expression text. `kind` is "syntax",
    "lowering" (parses but cannot be lowered), "reference" (an unknown agent or event) or
    "name" (not a valid event name)."""

    def __init__(
        self, message: str, offset: int, length: int = 1, *, kind: str = "lowering",
        hint: str | None = None, on_source: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.on_source = on_source  # about the (source) part of an atom: located there
        self.message = message
        self.offset = offset
        self.length = max(1, length)
        self.kind = kind
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Atom:
    event: str
    source: str | None
    weight: float
    offset: int = field(compare=False)  # where the atom starts in the text
    length: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Term:
    """One threshold unit: fires when the weights of the arrived atoms reach `threshold`."""

    atoms: tuple[Atom, ...]
    threshold: float


# --- parsing -----------------------------------------------------------------------------------


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse(text: str) -> Tree[Token]:
    if not text.strip():
        raise ExprError("empty activation expression", 0, kind="syntax")
    _check_nesting(text)
    try:
        return _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None


def _check_nesting(text: str) -> None:
    """Refuse parentheses nested deeper than `MAX_NESTING`, at the first one too deep."""
    if text.count("(") <= MAX_NESTING:
        return
    depth = 0
    for offset, char in enumerate(text):
        if char == "(":
            depth += 1
            if depth > MAX_NESTING:
                msg = f"parentheses nested deeper than {MAX_NESTING} levels; simplify it"
                raise ExprError(msg, offset, kind="lowering")
        elif char == ")":
            depth = max(0, depth - 1)


def _eof(text: str) -> ExprError:
    if text.count("(") > text.count(")"):
        return ExprError(
            "unexpected end of expression: a '(' is not closed", len(text), kind="syntax"
        )
    return ExprError("unexpected end of expression", len(text), kind="syntax")


def _syntax_error(text: str, exc: UnexpectedInput) -> ExprError:
    if isinstance(exc, UnexpectedEOF):
        return _eof(text)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        word = _WORD.match(text, pos)
        if word:
            return ExprError(f"unexpected '{word.group()}'", pos, len(word.group()), kind="syntax")
        char = text[pos] if pos < len(text) else "?"
        if ord(char) > 127:
            name = unicodedata.name(char, "unnamed")
            msg = f"unexpected character '{char}' (U+{ord(char):04X} {name}: a look-alike?)"
            return ExprError(msg, pos, kind="syntax")
        return ExprError(f"unexpected character '{char}'", pos, kind="syntax")
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    if token.type == "$END":
        return _eof(text)
    expected = sorted({_FRIENDLY.get(name, name.lower()) for name in exc.expected})
    pos = token.start_pos if token.start_pos is not None else 0
    return ExprError(
        f"unexpected '{token}', expected {' or '.join(expected)}",
        pos,
        len(str(token)),
        kind="syntax",
    )


# --- lowering ------------------------------------------------------------------------------------

# A normal form: a list of alternatives; each alternative is a list of "factors" that must all
# hold; a factor is ("atom", Atom) or ("kof", k, [Atom]) kept whole while it can be one unit.
Factor = tuple[Any, ...]
Alternatives = list[list[Factor]]


def lower(
    text: str, resolve: Callable[[str, str | None, int, int], tuple[str, str | None, float]]
) -> list[Term]:
    """Lower `text` to terms. `resolve(name, source, offset, length)` turns a parsed atom into
    (event, source, base weight) or raises `ExprError` (an unknown agent, say)."""
    tree = parse(text)
    terms: list[Term] = []
    for factors in _Lowering(resolve).visit(tree):
        if len(factors) == 1 and factors[0][0] != "atom":
            terms.append(_group_term(factors[0]))
        else:
            terms += [_conjunction(conj) for conj in _expand(factors)]
    unique = list(dict.fromkeys(terms))
    if len(unique) > MAX_RAW_TERMS:  # before absorption, which compares them pairwise
        raise _too_many(len(unique), text)
    unique = _absorbed(unique)
    if len(unique) > MAX_TERMS:
        raise ExprError(
            f"expands into {len(unique)} alternative units (at most {MAX_TERMS}); simplify it",
            0,
            len(text),
        )
    return unique


def _too_many(count: int, text: str) -> ExprError:
    return ExprError(
        f"expands into {count} alternative units (at most {MAX_TERMS}); simplify it", 0, len(text)
    )


def _absorbed(terms: list[Term]) -> list[Term]:
    """Drop a conjunction implied by a smaller one: `a or (a and b)` is `a`."""

    def conj(term: Term) -> frozenset[Atom] | None:
        exact = math.isclose(term.threshold, sum(a.weight for a in term.atoms))
        return frozenset(term.atoms) if exact else None

    sets = [conj(t) for t in terms]
    return [
        term
        for term, atoms in zip(terms, sets, strict=True)
        if atoms is None or not any(other is not None and other < atoms for other in sets)
    ]


def _group_term(factor: Factor) -> Term:
    """`any(atoms)`: θ = the smallest weight; `k of (atoms)` of equal weight w: θ = k·w."""
    if factor[0] == "any":
        atoms = factor[1]
        return Term(tuple(atoms), min(a.weight for a in atoms))
    _, k, atoms = factor
    return Term(tuple(atoms), k * atoms[0].weight)


def _conjunction(factors: list[Factor]) -> Term:
    """All of the atoms: θ = Σw (an atom named twice counts once)."""
    atoms: dict[tuple[str, str | None], Atom] = {}
    for _, atom in factors:
        atoms.setdefault((atom.event, atom.source), atom)
    chosen = tuple(atoms.values())
    return Term(chosen, sum(a.weight for a in chosen))


class _Lowering:
    def __init__(
        self, resolve: Callable[[str, str | None, int, int], tuple[str, str | None, float]]
    ) -> None:
        self.resolve = resolve

    def visit(self, tree: Tree[Token] | Token) -> Alternatives:
        assert isinstance(tree, Tree)
        method: Callable[[Tree[Token]], Alternatives] = getattr(self, f"_{tree.data}")
        return method(tree)

    def _disj(self, tree: Tree[Token]) -> Alternatives:
        alternatives = [alt for child in tree.children for alt in self.visit(child)]
        _bounded(len(alternatives), tree)
        return alternatives

    def _conj(self, tree: Tree[Token]) -> Alternatives:
        return _product([self.visit(child) for child in tree.children], tree)

    def _call(self, tree: Tree[Token]) -> Alternatives:
        func, *args = tree.children
        parts = [self.visit(arg) for arg in args]
        if str(func) == "all":
            return _product(parts, tree)
        atoms = _single_atoms(parts)
        if atoms is not None:  # any(atoms) is one unit
            return [[("any", atoms)]]
        return [alt for part in parts for alt in part]

    def _kof(self, tree: Tree[Token]) -> Alternatives:
        count, *args = tree.children
        assert isinstance(count, Token)
        parts = [self.visit(arg) for arg in args]
        digits = str(count).lstrip("0") or "0"
        k = int(digits) if len(digits) <= MAX_K_DIGITS else len(parts) + 1  # never int() of 4,300+
        if not 1 <= k <= len(parts):
            meaning = "always holds" if k == 0 else "can never hold"
            shown = str(count) if len(digits) <= MAX_K_DIGITS else f"a {len(digits):,}-digit k"
            raise ExprError(
                f"{shown} of ({plural(len(parts), 'item')}) {meaning}; k must be 1 to {len(parts)}",
                count.start_pos or 0,
                len(str(count)),
            )
        atoms = _single_atoms(parts)
        if atoms is not None and _equal(atoms):
            return [[("kof", k, atoms)]]
        _bounded(math.comb(len(parts), k), tree)  # before building any of the combinations
        alternatives: Alternatives = []
        for chosen in itertools.combinations(parts, k):
            alternatives += _product(list(chosen), tree)
            _bounded(len(alternatives), tree)
        return alternatives

    def _weighted(self, tree: Tree[Token]) -> Alternatives:
        atom_tree, *rest = tree.children
        assert isinstance(atom_tree, Tree)
        factor = 1.0
        if rest:
            number = rest[0]
            assert isinstance(number, Token)
            factor = float(str(number))
            if not math.isfinite(factor) or factor <= 0 or factor > 1e6:
                raise ExprError(
                    f"weight {number} must be a positive number up to 1e6",
                    number.start_pos or 0,
                    len(str(number)),
                )
        ((_, base),) = self._atom(atom_tree)[0]
        weighted = Atom(base.event, base.source, base.weight * factor, base.offset, base.length)
        return [[("atom", weighted)]]

    def _atom(self, tree: Tree[Token]) -> Alternatives:
        name, *source = tree.children
        assert isinstance(name, Token)
        start = name.start_pos or 0
        end = tree.meta.end_pos if not tree.meta.empty else start + len(str(name))
        src = str(source[0]) if source else None
        try:
            event, resolved_source, weight = self.resolve(str(name), src, start, end - start)
        except ExprError as exc:
            if exc.on_source and source and isinstance(source[0], Token):
                exc.offset, exc.length = source[0].start_pos or start, len(str(source[0]))
            raise
        return [[("atom", Atom(event, resolved_source, weight, start, end - start))]]


def _bounded(count: int, tree: Tree[Token] | None) -> None:
    """Refuse a step that would hold more than `MAX_RAW_TERMS` alternatives, before it does."""
    if count <= MAX_RAW_TERMS:
        return
    meta = tree.meta if tree is not None else None
    start = meta.start_pos if meta is not None and not meta.empty else 0
    length = (meta.end_pos - start) if meta is not None and not meta.empty else 1
    raise ExprError(
        f"expands into more than {MAX_TERMS} alternative units; simplify it", start, length
    )


def _single_atoms(parts: list[Alternatives]) -> list[Atom] | None:
    """The atoms, when every part is exactly one plain atom."""
    atoms = []
    for part in parts:
        if len(part) != 1 or len(part[0]) != 1 or part[0][0][0] != "atom":
            return None
        atoms.append(part[0][0][1])
    return atoms


def _equal(atoms: list[Atom]) -> bool:
    return all(math.isclose(a.weight, atoms[0].weight) for a in atoms)


def _product(parts: list[Alternatives], tree: Tree[Token]) -> Alternatives:
    """AND of alternatives: distribute into DNF, expanding any(...) and k-of groups."""
    if len(parts) == 1:
        return parts[0]
    result: Alternatives = [[]]
    for part in parts:
        expanded = [_expand(factors, tree) for factors in part]
        result = [left + right for left in result for alt in expanded for right in alt]
        if len(result) > MAX_TERMS:
            meta = tree.meta
            raise ExprError(
                f"expands into more than {MAX_TERMS} alternative units; simplify it",
                meta.start_pos if not meta.empty else 0,
                (meta.end_pos - meta.start_pos) if not meta.empty else 1,
            )
    return result


def _expand(factors: list[Factor], tree: Tree[Token] | None = None) -> Alternatives:
    """A conjunction whose factors may be groups, as plain-atom conjunctions (when combined
    with something else, a group can no longer be a unit of its own). How many there will be
    is known before any is built, and bounded (`_bounded`)."""
    if len(factors) == 1:
        return [factors]
    count = 1
    for factor in factors:
        count *= _options(factor)
        _bounded(count, tree)
    alternatives: Alternatives = [[]]
    for factor in factors:
        if factor[0] == "atom":
            options: list[list[Factor]] = [[factor]]
        elif factor[0] == "any":
            options = [[("atom", a)] for a in factor[1]]
        else:
            _, k, atoms = factor
            options = [[("atom", a) for a in chosen] for chosen in itertools.combinations(atoms, k)]
        alternatives = [left + right for left in alternatives for right in options]
    return alternatives


def _options(factor: Factor) -> int:
    """How many plain-atom alternatives a factor expands into."""
    if factor[0] == "atom":
        return 1
    if factor[0] == "any":
        return len(factor[1])
    _, k, atoms = factor
    return math.comb(len(atoms), k)
