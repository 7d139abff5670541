"""Load one YAML config into plain data plus the position of every key and value.

In: a file path (or its text). Out: a `Document` — JSON-like data (dict, list, str, int, float,
bool, None), a `Span` for every value and every mapping key keyed by its path, and the source
text — together with the diagnostics found on the way.

Guaranteed: safe loading only (no tags but the standard scalar ones); scalars are typed by the
YAML 1.2 core schema, so only `true`/`false` are booleans and a bare `no`/`on`/`yes` is a string
with a warning (AX103); duplicate keys are errors naming the first key's line (AX102); hostile
input (huge files, binary, bad encodings, deep nesting, alias bombs, recursive aliases) gets one
located diagnostic in bounded time, never a traceback or a crash of libyaml.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from axoc.diagnostics import Diagnostic, Path, Span, error, warning
from axoc.readfile import MAX_CONFIG_BYTES, NotRegular, read_bounded

MAX_BYTES = MAX_CONFIG_BYTES
MAX_DEPTH = 100  # nesting of collections in the document
MAX_FLOW_DEPTH = 1000  # libyaml composes recursively in C; deeper flow nesting can crash it
# Block nesting needs indentation: a collection nested N levels deep in block style starts at
# column N / 2 or more. Below this column the composers (libyaml's has a limit of its own since
# PyYAML 6.0.4; PyYAML's Python one recurses) are never at risk and the builder measures depth
# exactly; a line indented this far gets the exact (event-level) depth check before composing.
DEEP_COLUMN = 120
MAX_INT_DIGITS = 100  # a longer integer is no count of anything: it stays text
MAX_NODES = 2_000_000  # values in a document (a 50,000-agent config has about 750,000)
MAX_ALIAS_NODES = 100_000  # nodes produced by alias expansion ("billion laughs")
MAX_ALIAS_CHARS = 10 * 1024 * 1024  # text that aliases may add (one big string aliased 1,000×)

_AUTO = "axoc:auto"  # the tag our resolver gives every node that has no explicit tag
_STD = "tag:yaml.org,2002:"
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_VERSION_LIKE = re.compile(r"[1-9][0-9]*\.[0-9]*0")  # 1.10, 3.20: the trailing zero is lost
_OCTAL_LIKE = re.compile(r"[-+]?0[0-9]+")  # 0755: YAML 1.1 reads octal, 1.2 decimal
_EXPLICIT: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "null": type(None),
}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOLS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"}
)


@dataclass(slots=True)
class Document:
    """The data of one config and the node tree it came from, for locating any path on demand."""

    file: str
    text: str
    data: Any
    root: Node
    positions: Positions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.positions = Positions(self.file, self.text)

    def node(self, path: Path, *, key: bool = False) -> Node | None:
        """The node of the value (or, with `key`, of the mapping key) at `path`, if it exists."""
        node: Node | None = self.root
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            if isinstance(node, SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            elif isinstance(node, MappingNode):
                pair = _find_key(node, str(part))
                node = None if pair is None else pair[0 if (key and last) else 1]
            else:
                return None
            if node is None:
                return None
        return node

    def span(self, path: Path, *, key: bool = False) -> Span:
        """The span of the value (or key) at `path`, or of its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            found = self.node(path[:end], key=key and end == len(path))
            if found is not None:
                return self.positions.span(found)
        return Span.point(self.file, 1, 1)

    def scalar_text(self, path: Path) -> str | None:
        """The source text of the scalar at `path`, as written (before typing)."""
        node = self.node(path)
        return str(node.value) if isinstance(node, ScalarNode) else None

    def is_plain(self, path: Path) -> bool:
        """Whether the value at `path` is a plain (unquoted, not block) scalar."""
        node = self.node(path)
        return isinstance(node, ScalarNode) and not node.style

    def span_in(self, path: Path, offset: int, length: int) -> Span:
        """The span of `length` characters at `offset` inside the string at `path`; the whole
        value's span when it is not a plain or quoted scalar on one line."""
        node = self.node(path)
        span = self.span(path)
        if not isinstance(node, ScalarNode) or node.start_mark.line != node.end_mark.line:
            return span
        if node.style not in ("", "'", '"'):
            return span
        quote = 1 if node.style else 0
        raw = self.text[node.start_mark.index + quote : node.end_mark.index - quote]
        if raw != node.value:  # escapes or doubled quotes: offsets into the value do not map
            return span
        column = span.column + quote + offset
        return Span(span.file, span.line, column, span.line, column + max(1, length))


def _find_key(node: MappingNode, key: str) -> tuple[Node, Node] | None:
    """The last (key, value) pair for `key`, looking into `<<` merges as loading does."""
    found = None
    for key_node, value_node in node.value:
        if _is_merge_key(key_node):
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if found is None and isinstance(source, MappingNode):
                    found = _find_key(source, key)
        elif isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return found


class Positions:
    """1-based lines and columns of the parser's marks in `text`, counting as line breaks only
    what YAML 1.2 does (LF, CRLF, CR). libyaml also breaks lines at U+0085, U+2028 and U+2029,
    which would shift every later position; a text with one of them is located from the marks'
    character offsets instead. A mark at the end of the text (an error found there) is put on
    the text's last character, never past the file."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self._by_offset = any(c in text for c in _ODD_BREAKS)
        self._starts: list[int] | None = None

    def point(self, mark: Any) -> tuple[int, int]:
        if mark is None:
            return 1, 1
        index = mark.index
        if index >= len(self.text):  # the end of the text: its last character
            index = max(len(self.text) - 1, 0)
        elif not self._by_offset and mark.line >= 0:
            return mark.line + 1, mark.column + 1
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _BREAK.finditer(self.text))]
        line = bisect.bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1

    def at(self, mark: Any) -> Span:
        return Span.point(self.file, *self.point(mark))

    def span(self, node: Node) -> Span:
        start, end = self.point(node.start_mark), self.point(node.end_mark)
        return Span(self.file, *start, *end)

    def line_text(self, line: int) -> str:
        """The text of 1-based `line`, without its break."""
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _BREAK.finditer(self.text))]
        if not 1 <= line <= len(self._starts):
            return ""
        start = self._starts[line - 1]
        end = self._starts[line] if line < len(self._starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


_BREAK = re.compile(r"\r\n|\r|\n")
_ODD_BREAKS = ("\x85", "\u2028", "\u2029")  # line breaks in YAML 1.1 only (`in`: instant on ASCII)


def load_file(path: str) -> tuple[Document | None, list[Diagnostic]]:
    text, diagnostics = read_text(path)
    if text is None:
        return None, diagnostics
    return parse(path, text)


def read_text(path: str) -> tuple[str | None, list[Diagnostic]]:
    """Read a config as UTF-8 text; refuse huge, binary and mis-encoded files, and anything
    but a regular file (a FIFO, a device), with a location, in bounded time (`readfile`)."""
    where = Span.point(path, 1, 1)
    try:
        data = read_bounded(path, MAX_BYTES)
    except FileNotFoundError:
        return None, [error("AX100", "no such file", where)]
    except NotRegular as exc:
        if exc.kind == "a directory":
            return None, [error("AX100", "is a directory, expected a file", where)]
        return None, [error("AX100", str(exc), where)]
    except OSError as exc:
        return None, [error("AX100", f"cannot read: {exc.strerror or exc}", where)]
    if len(data) > MAX_BYTES:
        return None, [_too_large(_size(path), where)]
    return decode(path, data)


def _size(path: str) -> int | None:
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    return size if size > MAX_BYTES else None


def _too_large(size: int | None, where: Span) -> Diagnostic:
    """`size` None: the file grew past the limit while it was read."""
    limit = f"configs are limited to {MAX_BYTES // 1024 // 1024} MB ({MAX_BYTES:,} bytes)"
    found = f"{size:,} bytes" if size is not None else f"more than {MAX_BYTES:,} bytes"
    return error("AX112", f"file is {found}; {limit}", where)


def decode(path: str, data: bytes) -> tuple[str | None, list[Diagnostic]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = "file is UTF-16 encoded; save it as UTF-8"
        return None, [error("AX105", msg, Span.point(path, 1, 1))]
    nul = data.find(b"\x00")
    if nul >= 0:
        span = _byte_span(path, data, nul)
        return None, [error("AX106", "binary file: NUL byte found; expected YAML text", span)]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        span = _byte_span(path, data, exc.start)
        return None, [error("AX105", f"invalid UTF-8 byte 0x{bad}; save the file as UTF-8", span)]


def _byte_span(path: str, data: bytes, offset: int) -> Span:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Span.point(path, data.count(b"\n", 0, offset) + 1, column)


class _PythonLoader(yaml.SafeLoader):
    """PyYAML's own composer with typing left to us: every untagged node gets the tag `_AUTO`.
    Path resolvers are not used, so the composer's calls on entering and leaving each node do
    nothing (a Python call per node each: a tenth of composing a large config with libyaml)."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        return _AUTO

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


LOADERS: dict[str, type[yaml.SafeLoader]] = {"python": _PythonLoader}
if hasattr(yaml, "CSafeLoader"):  # PyYAML built with libyaml (every wheel on PyPI is)

    class _CLoader(yaml.CSafeLoader):
        """libyaml's composer, typing left to us as in `_PythonLoader`."""

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            return _AUTO

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

    LOADERS["c"] = _CLoader  # type: ignore[assignment]
DEFAULT_LOADER = "c" if "c" in LOADERS else "python"


def parse(
    file: str, text: str, loader_name: str = DEFAULT_LOADER
) -> tuple[Document | None, list[Diagnostic]]:
    """Parse with libyaml (`c`) or PyYAML's pure-Python loader (`python`): same results, same
    guarantees; the pure-Python one is the fallback where PyYAML was built without libyaml."""
    loader_class = LOADERS[loader_name]
    positions = Positions(file, text)
    refused = (
        _flow_depth_guard(positions)
        or _block_depth_guard(positions, loader_class)
        or _size_guard(positions, loader_class)
    )
    if refused is not None:
        return None, [refused]
    try:
        loader = loader_class(text)
        try:
            root = loader.get_single_node()
        except RecursionError:  # the Python composer recurses: block and flow nesting combined
            return None, [_too_deep(positions, loader.get_mark())]
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in (exc.problem or ""):  # libyaml's own limit (1,000)
            return None, [_too_deep(positions, exc.problem_mark or exc.context_mark)]
        return None, [_syntax_error(positions, exc)]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_error(positions, exc)]
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml reports everything with a mark
        return None, [error("AX101", f"YAML error: {exc}", Span.point(file, 1, 1))]
    if root is None:
        msg = "empty config: expected a mapping with keys such as agents and workflows"
        return None, [error("AX109", msg, Span.point(file, 1, 1))]
    builder = _Builder(positions)
    try:
        data = builder.convert(root, 0)
    except _Abort as stop:
        return None, [*_located(root, builder.found), stop.diagnostic]
    diagnostics = _located(root, builder.found)
    if not isinstance(data, dict):
        found = _kind_of(data)
        msg = f"top level is {found}; expected a mapping with keys such as agents and workflows"
        return None, [*diagnostics, error("AX110", msg, positions.span(root))]
    return Document(file, text, data, root), diagnostics


def _located(root: Node, found: list[tuple[Diagnostic, Node]]) -> list[Diagnostic]:
    """Give each diagnostic its path; drop repeats (a merged anchor is converted again)."""
    if not found:
        return []
    paths = _paths_of(root, {id(node) for _, node in found})
    located = [replace(d, path=paths.get(id(node), ())) for d, node in found]
    return list(dict.fromkeys(located))


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_ASCII_NOT_BRACKET = dict.fromkeys(i for i in range(128) if chr(i) not in _BRACKET_STEP)


def _flow_depth_guard(positions: Positions) -> Diagnostic | None:
    """Refuse flow collections nested deeper than libyaml can compose safely.

    Brackets inside quoted strings are counted too: the bound is far above any real config.
    """
    text = positions.text
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return None
    # The brackets alone: deleting the other ASCII characters is a table lookup in C, four
    # times faster than a regex substitution over a large file; what is left besides
    # brackets (non-ASCII text) is then a short string for the substitution.
    brackets = text.translate(_ASCII_NOT_BRACKET)
    if not brackets.isascii():
        brackets = _NOT_BRACKET.sub("", brackets)
    steps = map(_BRACKET_STEP.__getitem__, brackets)
    if max(itertools.accumulate(steps), default=0) <= MAX_FLOW_DEPTH:
        return None  # the deepest point, measured in C: only a refusal is located below
    depth = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_FLOW_DEPTH:
            msg = f"collections nested deeper than {MAX_FLOW_DEPTH} levels"
            return error("AX108", msg, positions.at(_Offset(match.start())))
    return None


def _block_depth_guard(
    positions: Positions, loader_class: type[yaml.SafeLoader]
) -> Diagnostic | None:
    """Refuse block nesting deeper than `MAX_DEPTH` before any composer sees it, whatever limits
    libyaml has. Only a file with a line indented `DEEP_COLUMN` columns or more (counting the
    `- `, `? ` and `: ` indicators of compact nesting) can nest deep enough to matter; for such a
    file, the parser's events are counted (the parser keeps its state in a list, not on the call
    stack), stopping at the first collection too deep."""
    text = positions.text
    if _DEEP_LINE.search(text) is None and _DEEP_FIRST_LINE.match(text) is None:
        return None
    loader = loader_class(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:  # the root is level 0 in `_Builder.convert`
                    return _too_deep(positions, event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:  # reported by the composing pass, with its context
        return None
    finally:
        loader.dispose()
    return None


# A deep line after the first, found from its line break: the regex engine skips from one break
# to the next (with `^` and re.MULTILINE it tries every character, 6 times slower).
_DEEP_LINE = re.compile(rf"\n[ \t?:-]{{{DEEP_COLUMN}}}")
_DEEP_FIRST_LINE = re.compile(rf"[ \t?:-]{{{DEEP_COLUMN}}}")


def _size_guard(positions: Positions, loader_class: type[yaml.SafeLoader]) -> Diagnostic | None:
    """Refuse a document of more than `MAX_NODES` values before composing it (a 19 MB flow
    list is millions of nodes, gigabytes once composed). Every value but the first follows a
    separator (`,` `:` `-` `[` `{` or a line break) and a separator starts at most a key and its
    value, which bounds the count from the text; only past that bound are the parser's events
    counted, stopping at the limit."""
    text = positions.text
    separators = sum(text.count(c) for c in (",", ":", "-", "[", "{", "\n"))
    if 2 * separators + 2 <= MAX_NODES:
        return None
    loader = loader_class(text)
    nodes = 0
    try:
        while (event := loader.get_event()) is not None:  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    msg = f"more than {MAX_NODES:,} values; configs are limited to that many"
                    return error("AX112", msg, positions.at(event.start_mark))
    except yaml.YAMLError:  # reported by the composing pass, with its context
        return None
    finally:
        loader.dispose()
    return None


def _too_deep(positions: Positions, mark: Any) -> Diagnostic:
    return error("AX108", f"nested deeper than {MAX_DEPTH} levels", positions.at(mark))


_UNCLOSED = {
    "while scanning a quoted scalar": "this quoted string is never closed",
    "while parsing a flow sequence": "this '[' is never closed",
    "while parsing a flow mapping": "this '{' is never closed",
    "while scanning a block scalar": "this block scalar is malformed",
}


def _syntax_error(positions: Positions, exc: yaml.MarkedYAMLError) -> Diagnostic:
    if "expected a single document" in (exc.context or ""):
        msg = "more than one YAML document; a config is a single document"
        return error("AX111", msg, positions.at(exc.problem_mark))
    problem = exc.problem or "invalid YAML"
    unclosed = _UNCLOSED.get(exc.context or "")
    if unclosed and exc.context_mark is not None:
        msg = f"YAML syntax error: {unclosed} ({problem})"
        return error("AX101", msg, positions.at(exc.context_mark))
    span = positions.at(exc.problem_mark or exc.context_mark)
    context = f" ({exc.context})" if exc.context else ""
    tab = _tab_column(positions, exc.problem_mark, problem)
    if tab is None:
        return error("AX101", f"YAML syntax error: {problem}{context}", span)
    hint = "YAML indentation uses spaces, never tabs: replace the tabs with spaces"
    if tab >= 0:  # point at the tab itself, which libyaml's message does not name
        span = Span.point(positions.file, span.line, tab + 1)
        hint = "YAML indentation uses spaces, never tabs: replace this tab with spaces"
    return error("AX101", f"YAML syntax error: {problem}{context}", span, hint=hint)


def _tab_column(positions: Positions, mark: yaml.Mark | None, problem: str) -> int | None:
    """When a tab made the parser give up: its 0-based column on the mark's line (-1 if not on
    it); None when no tab is involved."""
    if mark is None:
        return None
    line_number, column = positions.point(mark)
    line = positions.line_text(line_number)
    if line[column - 1 : column] == "\t":
        return column - 1
    if "tab" not in problem and "'\\t'" not in problem:
        return None
    return line.find("\t")


def _reader_error(positions: Positions, exc: yaml.reader.ReaderError) -> Diagnostic:
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    msg = f"YAML forbids the control character U+{ord(char):04X} here"
    return error("AX101", msg, positions.at(_Offset(exc.position)))


class _Offset:
    """A mark known by its character offset only."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.line = self.column = -1  # unknown: Positions locates it by its offset


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


class _Abort(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _Builder:
    """Turns a node graph into data; aborts on hostile structure. Paths are not tracked here
    (that would cost more than parsing): diagnostics carry nodes, paths are found afterwards."""

    def __init__(self, positions: Positions) -> None:
        self.file = positions.file
        self.positions = positions
        self.found: list[tuple[Diagnostic, Node]] = []
        # Without an `&` in the text there is no anchor, so no alias: no node is met twice.
        self._anchored = "&" in positions.text
        self._done: set[int] = set()  # collections converted once; meeting one again is an alias
        self._active: set[int] = set()  # collections being converted: meeting one is recursion
        self._aliasing = 0
        self._alias_nodes = 0
        self._alias_root: Node | None = None  # the outermost anchor being expanded
        # Scalars can only add up to the text's length, unless aliases repeat them: their text
        # beyond that is what aliases added.
        self._chars_left = len(positions.text) + MAX_ALIAS_CHARS

    def report(self, diagnostic: Diagnostic, node: Node) -> None:
        self.found.append((diagnostic, node))

    def convert(self, node: Node, depth: int) -> Any:
        if self._aliasing:
            self._alias_nodes += 1
            if self._alias_nodes > MAX_ALIAS_NODES:
                msg = f"aliases of this anchor expand to more than {MAX_ALIAS_NODES:,} nodes"
                root = self._alias_root or node
                raise _Abort(error("AX107", msg, self.positions.span(root)))
        if isinstance(node, ScalarNode):
            self._chars_left -= len(node.value)
            if self._chars_left < 0:
                msg = f"aliases expand to more than {MAX_ALIAS_CHARS:,} characters of text"
                raise _Abort(error("AX107", msg, self.positions.span(node)))
            return self.scalar(node)
        if depth > MAX_DEPTH:
            msg = f"nested deeper than {MAX_DEPTH} levels"
            raise _Abort(error("AX108", msg, self.positions.span(node)))
        if not self._anchored:
            return self.collection(node, depth)
        ident = id(node)
        if ident in self._active:
            msg = "recursive alias: a node contains itself"
            raise _Abort(error("AX107", msg, self.positions.span(node)))
        again = ident in self._done
        if again and not self._aliasing:
            self._alias_root = node
        self._aliasing += again
        self._active.add(ident)
        try:
            return self.collection(node, depth)
        finally:
            self._active.discard(ident)
            self._done.add(ident)
            self._aliasing -= again

    def collection(self, node: Node, depth: int) -> Any:
        if isinstance(node, SequenceNode):
            self.check_tag(node, "seq")
            return self.items(node, depth + 1)
        assert isinstance(node, MappingNode)
        self.check_tag(node, "map")
        return self.mapping(node, depth)

    def child(self, node: Node, depth: int) -> Any:
        """`convert(node, depth)`, with the common case done here: a scalar that is plain text
        or quoted, outside any alias expansion (the hot spot of loading: most nodes are such).
        A plain scalar that YAML could type (a number, a null, a boolean) or that YAML 1.1
        reads differently starts with one of `_NUMERIC_START` or is one of `_WORDS`."""
        if type(node) is not ScalarNode or self._aliasing or node.tag != _AUTO:
            return self.convert(node, depth)
        text: str = node.value
        self._chars_left -= len(text)
        if self._chars_left < 0:
            self._chars_left += len(text)
            return self.convert(node, depth)  # reports the limit
        if node.style or (text[:1] not in _NUMERIC_START and text not in _WORDS):
            return text
        return self.plain(node, text)

    def items(self, node: SequenceNode, depth: int) -> list[Any]:
        """`[self.child(item, depth) for item in node.value]`, with `child`'s common case inline:
        a list of ids costs no call per item (`_aliasing` holds while the items are converted:
        converting one restores it)."""
        if self._aliasing:
            return [self.convert(item, depth) for item in node.value]
        out = []
        for item in node.value:
            if type(item) is ScalarNode and item.tag == _AUTO:
                text: str = item.value
                left = self._chars_left - len(text)
                if left >= 0 and (
                    item.style or (text[:1] not in _NUMERIC_START and text not in _WORDS)
                ):
                    self._chars_left = left
                    out.append(text)
                    continue
            out.append(self.child(item, depth))
        return out

    def check_tag(self, node: Node, kind: str) -> None:
        if node.tag not in (_AUTO, _STD + kind, "!"):
            raise _Abort(
                error(
                    "AX114",
                    f"unsupported YAML tag {_short_tag(node.tag)}",
                    self.positions.span(node),
                )
            )

    def mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        """With `child`'s common case inline, as in `items`."""
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        aliasing = self._aliasing
        for key_node, value_node in node.value:
            if type(key_node) is ScalarNode and not key_node.style:
                key = key_node.value
                if key == "<<":
                    self.merge(out, value_node, depth)
                    continue
                if key in _YAML11_BOOLS:
                    self.warn_yaml11_bool(key_node)
            else:
                key = self.key(key_node)
            if key in first:
                line = first[key].start_mark.line + 1
                msg = f"duplicate key '{key}' (first defined on line {line})"
                self.report(error("AX102", msg, self.positions.span(key_node)), key_node)
                continue
            first[key] = key_node
            if type(value_node) is ScalarNode and not aliasing and value_node.tag == _AUTO:
                text: str = value_node.value
                left = self._chars_left - len(text)
                if left >= 0 and (
                    value_node.style or (text[:1] not in _NUMERIC_START and text not in _WORDS)
                ):
                    self._chars_left = left
                    out[key] = text
                    continue
            out[key] = self.child(value_node, depth + 1)
        return out

    def merge(self, out: dict[str, Any], value: Node, depth: int) -> None:
        """`<<: *defaults` (or a list of them): keys not set explicitly come from the aliases."""
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, MappingNode):
                msg = "'<<' merges mappings only"
                raise _Abort(error("AX204", msg, self.positions.span(source)))
            for key, item in self.convert(source, depth + 1).items():
                out.setdefault(key, item)

    def key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            raise _Abort(
                error("AX204", "mapping keys must be plain text", self.positions.span(node))
            )
        if not node.style and node.value in _YAML11_BOOLS:
            self.warn_yaml11_bool(node)
        return str(node.value)

    def scalar(self, node: ScalarNode) -> Any:
        text: str = node.value
        tag = node.tag
        if tag == _AUTO:
            return self.plain(node, text) if not node.style else text
        if tag in ("!", _STD + "str"):
            return text
        wanted = tag.removeprefix(_STD)
        if wanted in _EXPLICIT:
            value = resolve_plain(text)
            if _fits(value, wanted):
                return float(value) if wanted == "float" else value
            msg = f"'{text}' is not a valid !!{wanted}"
            raise _Abort(error("AX204", msg, self.positions.span(node)))
        raise _Abort(
            error("AX114", f"unsupported YAML tag {_short_tag(tag)}", self.positions.span(node))
        )

    def plain(self, node: ScalarNode, text: str) -> Any:
        value = resolve_plain(text)
        if isinstance(value, str):
            # an integer too long to be a number stays text; a number field says so (AX202)
            long_integer = len(text) > MAX_INT_DIGITS and _INT.fullmatch(text)
            if text in _YAML11_BOOLS:
                self.warn_yaml11_bool(node)
            elif (
                text[:1] in _NUMERIC_START
                and not long_integer
                and _yaml11_kind(text)
                in (
                    "int",
                    "float",
                )
            ):
                msg = f"'{text}' is read as text; YAML 1.1 tools read it as a number"
                hint = (
                    "write the number plainly (1000, 1.5e3), or quote it to make the text explicit"
                )
                self.report(warning("AX104", msg, self.positions.span(node), (), hint), node)
            return value
        if isinstance(value, bool) or value is None:
            return value
        lossy = str(value) != text and (
            _VERSION_LIKE.fullmatch(text) or _OCTAL_LIKE.fullmatch(text)
        )
        if lossy or _yaml11_kind(text) == "str":
            msg = f"'{text}' is read as the number {value}, not the text '{text}'"
            hint = f'quote it ("{text}") if you mean the text'
            self.report(warning("AX104", msg, self.positions.span(node), (), hint), node)
        return value

    def warn_yaml11_bool(self, node: ScalarNode) -> None:
        word = node.value
        msg = f"'{word}' is read as the string '{word}'; only true and false are booleans"
        hint = f'write true or false for a boolean, or quote it ("{word}") to keep the text'
        self.report(warning("AX103", msg, self.positions.span(node), (), hint), node)


def _paths_of(root: Node, wanted: set[int]) -> dict[int, Path]:
    """Paths of the nodes in `wanted` (by id), found in one walk of the tree."""
    found: dict[int, Path] = {}
    stack: list[tuple[Node, Path]] = [(root, ())]
    seen: set[int] = set()
    while stack and len(found) < len(wanted):
        node, path = stack.pop()
        if id(node) in wanted:
            found.setdefault(id(node), path)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((child, (*path, i)) for i, child in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                name = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
                if id(key_node) in wanted:
                    found.setdefault(id(key_node), (*path, name))
                stack.append((value_node, (*path, name)))
    return found


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_STD) if tag.startswith(_STD) else tag


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "<<" and not node.style


_YAML11 = yaml.resolver.Resolver()
_NUMERIC_START = frozenset("0123456789+-.") | {""}  # `text[:1]` of the empty text too
_WORDS = _NULLS | _TRUE | _FALSE | _YAML11_BOOLS  # plain words that are no plain text


def _yaml11_kind(text: str) -> str:
    """How a YAML 1.1 loader (PyYAML, many others) types a plain scalar: int, float, str, ..."""
    tag: str = _YAML11.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag.removeprefix(_STD)


def _fits(value: Any, wanted: str) -> bool:
    """Whether a plain-typed value may carry the explicit tag `!!wanted` (a bool is no int)."""
    if isinstance(value, bool) and wanted != "bool":
        return False
    return isinstance(value, _EXPLICIT[wanted])


def resolve_plain(text: str) -> Any:
    """YAML 1.2 core schema typing of a plain scalar."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if not text or text[0] not in "0123456789+-.":
        return text
    if _INT.fullmatch(text):
        if len(text) > MAX_INT_DIGITS:  # int() of 4,300+ digits raises; none is a count
            return text
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)
    if _FLOAT.fullmatch(text):
        special = text.lower().lstrip("+")
        if special.endswith((".inf", ".nan")):
            return float(special.replace(".", ""))
        return float(text)
    return text
