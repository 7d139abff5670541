"""`python -m axoc` runs the CLI."""

from axoc.cli import entry

entry()
