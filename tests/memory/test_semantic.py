"""Semantic memory (tier 4) with the real model (all-MiniLM-L6-v2, int8, from the installed
packages): paraphrases rank above unrelated sentences; the same text embeds to the same bytes in
two processes; a text embeds the same alone and padded in a batch; recall over 2,000 stored
memories finds the planted one; a process killed (SIGKILL) while storing reloads with every
index key backed by its text and every text indexed; a torn line and a corrupt index are
repaired with a warning; the packaged files are verified by sha256; a missing extra or model
is a message naming `pip install 'axoc[memory]'`."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from axoc.memory.semantic import (
    DIMENSIONS,
    Embedder,
    EmbedderUnavailable,
    SemanticStore,
    model_files,
    shared_embedder,
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return shared_embedder()  # loaded once for the module (~0.5-1.5 s)


def test_paraphrases_rank_above_unrelated_sentences(embedder: Embedder) -> None:
    pairs = [
        ("The cat sat on the mat.", "A cat was sitting on a rug."),
        ("Stock markets fell sharply today.", "Equities dropped a lot this afternoon."),
        ("How do I reset my password?", "I forgot my login password, how can I change it?"),
        ("The train to Paris leaves at noon.", "At 12 o'clock the Paris train departs."),
    ]
    texts = [t for pair in pairs for t in pair]
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(texts), DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    scores = vectors @ vectors.T
    for n in range(len(pairs)):
        a, b = 2 * n, 2 * n + 1
        paraphrase = scores[a, b]
        unrelated = [scores[a, c] for c in range(len(texts)) if c not in (a, b)]
        assert paraphrase > max(unrelated) + 0.2, (texts[a], paraphrase, max(unrelated))


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(embedder: Embedder) -> None:
    alone = embedder.embed(["The cat sat on the mat."])[0]
    longer = "a much longer sentence with many more words than the first one, " * 3
    batched = embedder.embed(["The cat sat on the mat.", longer])[0]
    assert np.allclose(alone, batched, atol=1e-5)
    assert embedder.tokenizer.padding is None  # the tokenizer's fixed padding (128) is reset
    assert embedder.tokenizer.truncation is not None
    assert embedder.tokenizer.truncation["max_length"] == 256


EMBED = """
import hashlib, sys
from axoc.memory.semantic import shared_embedder
print(hashlib.sha256(shared_embedder().embed(sys.argv[1:]).tobytes()).hexdigest())
"""


def test_the_same_text_embeds_to_the_same_bytes_in_two_processes(embedder: Embedder) -> None:
    texts = ["Remember that the deploy key rotates on Fridays.", "Ada prefers metric units."]
    digests = {
        subprocess.run(
            [sys.executable, "-c", EMBED, *texts],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1
    assert digests == {hashlib.sha256(embedder.embed(texts).tobytes()).hexdigest()}


SUBJECTS = ["the invoice", "the garden", "the server", "my sister", "the recipe", "the bicycle",
            "the meeting", "the novel", "the airport", "the painting"]  # fmt: skip
VERBS = ["was discussed", "needs attention", "was fixed", "looked odd", "came up again"]
WHEN = ["on Monday", "last week", "this morning", "in March", "yesterday", "at noon",
        "after lunch", "before the holidays"]  # fmt: skip


def filler() -> list[str]:
    return [f"{s.capitalize()} {v} {w}." for s in SUBJECTS for v in VERBS for w in WHEN]


def test_recall_over_two_thousand_memories_finds_the_planted_one(
    embedder: Embedder, tmp_path: Path
) -> None:
    """2,001 memories: the 400 filler sentences, each stored 5 times (its real embedding, the
    text numbered), and the planted one — embedding 400 texts, not 2,000, keeps the test fast."""
    store = SemanticStore(tmp_path / "semantic", embedder)
    unique = filler()
    vectors = embedder.embed(unique)
    texts = [f"{text} ({n})" for n in range(5) for text in unique]
    store.add_many("a", texts, time.time(), np.concatenate([vectors] * 5))
    planted = "The wifi password for the beach house is seashell-42."
    store.add("a", planted, time.time())
    store.add_many("a", texts[:5], time.time(), vectors[:5])  # not the last one stored
    hits = store.search("a", "what is the beach house wifi password?", 5, 0.15)
    assert hits and hits[0].text == planted and hits[0].score > 0.5
    assert len(store.between("a", 0, 4e9)) == 2006
    store.close()
    reopened = SemanticStore(tmp_path / "semantic", embedder)  # from the saved index
    assert reopened.search("a", "beach house wifi", 1, 0.0)[0].text == planted
    assert reopened.warnings == []
    assert store.search("b", "beach house wifi", 5, 0.0) == []  # another agent's memories


def test_between_lists_memories_of_a_timeframe_oldest_first(
    embedder: Embedder, tmp_path: Path
) -> None:
    store = SemanticStore(tmp_path / "semantic", embedder)
    store.add("a", "late", 2_000_000_000.0)
    store.add("a", "early", 1_000_000_000.0)
    assert [h.text for h in store.between("a", 0, 3e9)] == ["early", "late"]
    assert [h.text for h in store.between("a", 1.5e9, 3e9)] == ["late"]


WRITER = """
import sys, time
from pathlib import Path
from axoc.memory.semantic import SemanticStore, shared_embedder
store = SemanticStore(Path(sys.argv[1]), shared_embedder())
n = 0
while True:
    store.add_many("a", [f"memory {n} about the garden", f"memory {n} about the server"], time.time())
    n += 1
    if n % 5 == 0:
        store.close()  # saves the index: the kill may land in a save too
    print(n, flush=True)
"""


def test_a_process_killed_while_storing_reloads_consistently(
    embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "semantic"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert writer.stdout is not None
    for line in writer.stdout:
        if int(line) >= 12:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    store = SemanticStore(folder, embedder)
    memories = store.between("a", 0, 4e9)
    assert len(memories) >= 24
    agent = store._of("a")[0]
    assert sorted(int(k) for k in agent.index.keys) == sorted(h.key for h in memories)
    hits = store.search("a", memories[-1].text, 1, 0.0)
    assert hits[0].text == memories[-1].text


def test_a_torn_line_and_a_corrupt_index_are_repaired_with_a_warning(
    embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "semantic"
    store = SemanticStore(folder, embedder)
    store.add_many("a", ["the red door", "the blue window"], time.time())
    store.close()
    with (folder / "a" / "memories.jsonl").open("ab") as lines:
        lines.write(b'{"key": 5, "time": 1.0, "text": "half a me')  # a crash mid-append
    (folder / "a" / "index.usearch").write_bytes(b"not an index at all" * 10)
    reopened = SemanticStore(folder, embedder)
    assert reopened.search("a", "a red door", 1, 0.0)[0].text == "the red door"
    assert any("index is unreadable" in w and "rebuilt" in w for w in reopened.warnings)
    reopened.add("a", "the green roof", time.time())  # the torn line is cut off first
    assert [h.text for h in reopened.between("a", 0, 4e9)][-1] == "the green roof"
    raw = (folder / "a" / "memories.jsonl").read_bytes()
    assert b"half a me" not in raw and raw.count(b"\n") == 3


def test_the_packaged_files_are_verified_and_overrides_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer, packaged = model_files()
    assert packaged and model.name == "model.onnx" and tokenizer.name == "tokenizer.json"
    bad = tmp_path / "tokenizer.json"
    bad.write_bytes(tokenizer.read_bytes() + b" ")
    with pytest.raises(EmbedderUnavailable, match="sha256"):
        Embedder(model, bad, verify=True)
    monkeypatch.setenv("AXOC_TOKENIZER", str(bad))
    assert model_files()[1:] == (bad, False)
    monkeypatch.setenv("AXOC_EMBED_MODEL", str(tmp_path / "none.onnx"))
    with pytest.raises(EmbedderUnavailable, match=r"none\.onnx is not a file"):
        model_files()


MISSING = """
import sys
sys.modules["onnxruntime"] = None  # as if the axoc[memory] extra were not installed
from axoc.memory import semantic
try:
    semantic.Embedder(*semantic.model_files()[:2])
except semantic.EmbedderUnavailable as exc:
    print(exc)
"""


def test_a_missing_extra_names_the_install_command() -> None:
    done = subprocess.run([sys.executable, "-c", MISSING], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    assert "needs 'onnxruntime', which is not installed: pip install 'axoc[memory]'" in done.stdout
