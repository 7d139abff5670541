"""Memory that persists across activations and runs (SPEC §7): core memory blocks (tier 3,
`axoc.memory.core`), semantic memory (tier 4, `axoc.memory.semantic`, the `axoc[memory]`
extra), the tools over them (`axoc.memory.tools`), a run's `MemoryPort` (`axoc.memory.run`) and
the `axoc memory` command (`axoc.memory.command`). Docs: docs/memory.md."""
