"""A run's memory, made at its start: the `RunMemory` its sessions use and the memory tools of
its toolbox — or none, when no agent of the run has memory (then nothing is imported, opened or
loaded: a run without memory costs what it did before memory existed).

In: the run's table, the state directory, whether it is a dry run, the config's `memory:`
settings (None: the defaults — from a saved plan, which does not hold them). Out: `RunMemory`
or None. Refused (`MemoryUnavailable`, a message naming `pip install 'axoc[memory]'`) when an
agent needs semantic memory and the `axoc[memory]` extra, or its model, is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from axoc.kernel.table import SignalTable
from axoc.memory.core import uses_core
from axoc.memory.run import RunMemory, uses_recall

if TYPE_CHECKING:
    from axoc.config import SemanticMemory


class MemoryUnavailable(Exception):
    """Semantic memory is needed and cannot be loaded; the message says what to install."""


def for_run(
    table: SignalTable, state: Path, *, dry_run: bool, settings: SemanticMemory | None = None
) -> RunMemory | None:
    enabled = settings is None or settings.enabled
    recall = enabled and any(uses_recall(a) for a in table.agents)
    if not recall and not any(uses_core(a) for a in table.agents):
        return None
    semantic = None
    if recall:
        from axoc.memory import semantic as semantic_module

        try:
            model = settings.embed_model if settings is not None else None
            tokenizer = settings.tokenizer if settings is not None else None
            embedder = semantic_module.shared_embedder(model, tokenizer)
            semantic = semantic_module.SemanticStore(state / "memory" / "semantic", embedder)
        except semantic_module.EmbedderUnavailable as exc:
            raise MemoryUnavailable(str(exc)) from None
    return RunMemory.open(state, dry_run=dry_run, semantic=semantic)
