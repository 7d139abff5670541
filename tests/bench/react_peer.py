"""LangGraph's prebuilt ReAct agent doing a two-round tool loop with a fake chat model: the peer
of bench_tools.py. Runs in the peers' Python (`$PEERENV/bin/python`, langgraph installed), not
axoc's; imports nothing of axoc.

The agent (`langgraph.prebuilt.create_react_agent`, built once) is given one tool; its model is
a fake chat model that answers each conversation with one call of that tool, then, once the
tool's result is in, with text — the two model turns and one tool call an axoc activation
makes in bench_tools.py. Each run is one `invoke` (one activation); timed like peers.py:
one untimed run, then runs until 1 s has been spent or 1,000 runs (at least 3). Prints one
JSON line: the median µs per activation, the runs, and langgraph's version.

    $PEERENV/bin/python tests/bench/react_peer.py [--runs-min-s S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from importlib.metadata import version
from typing import Any


def build() -> Any:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool

    @tool
    def lookup(query: str) -> str:
        """Look something up."""
        return "42"

    class TwoRounds(BaseChatModel):
        """One call of `lookup` while no tool result follows the last human message; then the
        answer."""

        @property
        def _llm_type(self) -> str:
            return "two-rounds"

        def bind_tools(self, tools: Any, **kwargs: Any) -> TwoRounds:
            return self

        def _generate(self, messages: list[Any], stop: Any = None, **kwargs: Any) -> ChatResult:
            answered = False
            for message in reversed(messages):
                if isinstance(message, ToolMessage):
                    answered = True
                    break
                if isinstance(message, HumanMessage):
                    break
            if answered:
                reply = AIMessage(content="done")
            else:
                call = {"name": "lookup", "args": {"query": "x"}, "id": "call_1"}
                reply = AIMessage(content="", tool_calls=[call])
            return ChatResult(generations=[ChatGeneration(message=reply)])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent may be deprecated in favour of
        from langgraph.prebuilt import create_react_agent  # langchain's create_agent

        return create_react_agent(TwoRounds(), [lookup])


def run(agent: Any) -> int:
    result = agent.invoke({"messages": [("user", "x")]})
    messages = result["messages"]
    assert messages[-1].content == "done" and len(messages) == 4, (
        messages
    )  # user, call, tool, answer
    return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-total-s", type=float, default=1.0)
    args = parser.parse_args()
    started = time.perf_counter()
    agent = build()
    build_s = time.perf_counter() - started
    run(agent)  # untimed: lazy initialisation
    runs: list[float] = []
    while len(runs) < 3 or (sum(runs) < args.min_total_s and len(runs) < 1000):
        started = time.perf_counter()
        run(agent)
        runs.append(time.perf_counter() - started)
    print(json.dumps({
        "engine": "langgraph create_react_agent", "version": version("langgraph"),
        "build_s": build_s, "us_per_activation": statistics.median(runs) * 1e6,
        "min_us": min(runs) * 1e6, "reps": len(runs),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
