"""One module per provider kind, each defining `KIND` (`axoc.providers.registry.ProviderKind`).

Each imports its adapter inside `build`, so listing the kinds (what `axoc check` does) loads no
adapter and no httpx.
"""
