"""LangGraph's overhead per step, the peer in Orchestra's engine benchmark.

The same shapes as Orchestra's generated pipelines, with no-op nodes: a chain where each node
reads the previous node's value and writes its own, and a fan-out where one root is read by every
middle node and a last node joins them all. Every step is checkpointed durably: a `SqliteSaver`
on a file, and `durability="sync"`, so each checkpoint is written before the next step starts.

Only `invoke` is timed, as Orchestra's figure is its run alone. Prints one JSON line like
Orchestra's `engine_overhead` example.

    python3 langgraph_overhead.py chain 1000 5
"""

import json
import operator
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from typing import Annotated, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    value: str
    joined: Annotated[list, operator.add]


def copy_value(state: State) -> dict:
    return {"value": state["value"]}


def read_root(state: State) -> dict:
    return {"joined": [state["value"]]}


def join(state: State) -> dict:
    return {"value": state["joined"][0]}


def build(shape: str, steps: int) -> StateGraph:
    graph = StateGraph(State)
    names = [f"s{n:05}" for n in range(steps)]
    if shape == "chain":
        for name in names:
            graph.add_node(name, copy_value)
        graph.add_edge(START, names[0])
        for before, after in zip(names, names[1:]):
            graph.add_edge(before, after)
        graph.add_edge(names[-1], END)
    else:
        root, middle, last = names[0], names[1:-1], names[-1]
        graph.add_node(root, copy_value)
        for name in middle:
            graph.add_node(name, read_root)
            graph.add_edge(root, name)
        graph.add_node(last, join)
        graph.add_edge(START, root)
        graph.add_edge(middle, last)
        graph.add_edge(last, END)
    return graph


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "chain"
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    repetitions = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    if shape not in ("chain", "fan-out"):
        sys.exit(f"error: the shape is `chain` or `fan-out`, not `{shape}`")
    folder = tempfile.mkdtemp()
    connection = sqlite3.connect(os.path.join(folder, "checkpoints.db"), check_same_thread=False)
    saver = SqliteSaver(connection)
    app = build(shape, steps).compile(checkpointer=saver)
    seconds = []
    for repetition in range(repetitions):
        config = {"configurable": {"thread_id": f"run-{repetition}"}, "recursion_limit": steps + 10}
        started = time.perf_counter()
        result = app.invoke({"value": "hello", "joined": []}, config, durability="sync")
        seconds.append(time.perf_counter() - started)
        assert result["value"] == "hello", result
    per_step_us = statistics.median(seconds) / steps * 1e6
    print(json.dumps({
        "engine": "langgraph",
        "shape": shape,
        "steps": steps,
        "run_seconds": seconds,
        "per_step_us": per_step_us,
    }))


if __name__ == "__main__":
    main()
