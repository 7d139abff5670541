"""A small MCP server over stdio, written with the `mcp` SDK: text tools an agent can call.

Run by `examples/tools/mcp.axoc.yaml` (`command: python3`, `args: [mcp_server.py]`); by hand:
`python3 examples/tools/mcp_server.py` speaks MCP on its standard input and output.

Tools: `word_count(text)` — words, lines and characters of a text; `add(a, b)` — a sum.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("text-tools")


@server.tool()
def word_count(text: str) -> str:
    """Count the words, lines and characters of a text."""
    return f"{len(text.split())} words, {len(text.splitlines())} lines, {len(text)} characters"


@server.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


if __name__ == "__main__":
    server.run()
