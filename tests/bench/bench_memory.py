"""Semantic memory speed (issue 14): embeddings per second (batch and single), what storing one
turn's memory adds to the turn, and recall latency at 10,000 and 100,000 memories against a
brute-force numpy scan of the same vectors, at recall@10 measured against that exact scan.

    python -m tests.bench.bench_memory [--sizes 10000,100000] [--queries 200]

The memories are 384-d unit vectors made from real embeddings: 1,000 sentences are embedded with
the model, and each memory is one of them plus Gaussian noise, normalised again — clustered the
way a store of one agent's turns is, where embedding 100,000 texts one by one would take half an
hour here. Queries are made the same way from other noise. The index is the store's
(`axoc.memory.semantic.new_index`: HNSW, cosine, f32, M 16, ef_add 128, ef `EXPANSION_SEARCH`);
if its recall@10 is under 0.95 the bench doubles ef until it is not, and says so. Latencies are
single queries, one at a time (as a turn asks), medians and 95th percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from axoc.kernel.table import SignalTable
from axoc.memory.run import RunMemory
from axoc.memory.semantic import (
    DIMENSIONS,
    EXPANSION_SEARCH,
    SemanticStore,
    new_index,
    shared_embedder,
)
from tests.kernel import fakes

AGENT = (
    "agents: [{id: a, provider: echo, tools: [recall_search]}]\nworkflows: [{id: w, agents: [a]}]\n"
)
SUBJECTS = ["the invoice", "the garden", "the server", "my sister", "the recipe", "the bicycle",
            "the meeting", "the novel", "the airport", "the painting"]  # fmt: skip
VERBS = ["was discussed", "needs attention", "was fixed", "looked odd", "came up again"]
WHEN = ["on Monday", "last week", "this morning", "in March", "yesterday", "at noon",
        "after lunch", "before the holidays", "at night", "in the rain",
        "with the team", "for the third time", "twice", "by email", "on the phone",
        "in the report", "during the call", "on the train", "at the office", "at home"]  # fmt: skip


def sentences() -> list[str]:
    return [f"{s.capitalize()} {v} {w}." for s in SUBJECTS for v in VERBS for w in WHEN]


def ms(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1e3:7.3f} ms, p95 {p95 * 1e3:7.3f} ms"


def embedding_speed(embedder: Any) -> None:
    texts = sentences()
    embedder.embed(texts[:32])  # warm
    began = time.perf_counter()
    embedder.embed(texts)
    batch = len(texts) / (time.perf_counter() - began)
    began = time.perf_counter()
    for text in texts[:200]:
        embedder.embed([text])
    single = 200 / (time.perf_counter() - began)
    print(f"embeddings: {batch:6.1f}/s in batches of 32, {single:6.1f}/s one at a time "
          f"({len(texts)} short sentences; goal >= 100/s)")  # fmt: skip


def store_cost(embedder: Any, table: SignalTable) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SemanticStore(Path(folder) / "semantic", embedder)
        store.add("a", "warm up", time.time())
        texts = [f"question {n}: {s}" for n, s in enumerate(sentences()[:100])]
        times = []
        for text in texts:
            began = time.perf_counter()
            store.add("a", text, time.time())  # embed + append + fsync + index
            times.append(time.perf_counter() - began)
        print(f"storing one memory (embed, append, fsync, index; in the worker): {ms(times)}")
        memory = RunMemory.open(Path(folder), dry_run=False, semantic=store)
        agent = table.agents[0]
        waited = asyncio.run(_remembered(memory, agent, texts))
        memory.close()
        print(f"what it adds to the turn (await memory.remember): {ms(waited)} (goal < 20 ms)")


async def _remembered(memory: RunMemory, agent: Any, texts: list[str]) -> list[float]:
    waited = []
    for text in texts:
        began = time.perf_counter()
        await memory.remember(agent, "a question", text)
        waited.append(time.perf_counter() - began)
        await memory.context(agent, "")  # the next activation: waits for the store to finish
    return waited


def memories(embedder: Any, count: int, rng: Any, noise: float = 0.35) -> Any:
    base = embedder.embed(sentences())
    picks = base[rng.integers(0, len(base), count)]
    made = picks + rng.normal(0, noise / np.sqrt(DIMENSIONS), (count, DIMENSIONS))
    made = made.astype(np.float32)
    made /= np.linalg.norm(made, axis=1, keepdims=True)
    return made


def recall_at(size: int, vectors: Any, queries: Any) -> None:
    data = vectors[:size]
    keys = np.arange(size, dtype=np.uint64)
    began = time.perf_counter()
    index = new_index()
    index.add(keys, data)
    built = time.perf_counter() - began
    exact, brute = [], []
    for q in queries:
        t = time.perf_counter()
        scores = data @ q
        top = np.argpartition(-scores, 10)[:10]
        top = top[np.argsort(-scores[top])]
        brute.append(time.perf_counter() - t)
        exact.append(set(top.tolist()))
    ef = EXPANSION_SEARCH
    while True:
        index.expansion_search = ef
        found, took = [], []
        for q in queries:
            t = time.perf_counter()
            result = index.search(q, 10)
            took.append(time.perf_counter() - t)
            found.append({int(k) for k in result.keys})
        recall = statistics.mean(len(f & e) / 10 for f, e in zip(found, exact, strict=True))
        if recall >= 0.95 or ef >= 1024:
            break
        print(f"  {size}: recall@10 {recall:.3f} at ef {ef}: doubling ef")
        ef *= 2
    speedup = statistics.median(brute) / statistics.median(took)
    print(
        f"{size:>7} memories: usearch {ms(took)}, recall@10 {recall:.3f} (ef {ef}); numpy "
        f"brute force {ms(brute)}; {speedup:5.1f}x faster (index built in {built:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    began = time.perf_counter()
    embedder = shared_embedder()
    print(f"model loaded (and verified) in {time.perf_counter() - began:.2f} s")
    embedding_speed(embedder)
    with tempfile.TemporaryDirectory() as folder:
        table = fakes.table(Path(folder), AGENT)
    store_cost(embedder, table)
    rng = np.random.default_rng(14)
    sizes = [int(s) for s in args.sizes.split(",")]
    vectors = memories(embedder, max(sizes), rng)
    queries = memories(embedder, args.queries, rng)
    print(
        "recall latency, one query at a time (goal at 100,000: < 5 ms, >= 10x brute force, "
        "recall@10 >= 0.95):"
    )
    for size in sizes:
        recall_at(size, vectors, queries)


if __name__ == "__main__":
    main()
