"""axoc: a declarative config compiler and a minimal execution kernel for multi-agent LLM systems.

The compiler (this package) turns YAML configs into a `SignalTable` that the kernel
(`axoc.kernel`) executes. `axoc.cli.main` is the only composition root.
"""

__version__ = "0.1.0"
