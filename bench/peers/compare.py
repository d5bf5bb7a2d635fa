"""Runs Orchestra's whole-process benchmarks side by side with LangGraph and prints the figures.

Called by `bench/run`, which builds the release binaries and prepares LangGraph's virtual
environment. Uses only the standard library besides LangGraph (through langgraph_overhead.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def overhead(binaries: str, repetitions: int) -> bool:
    """The engine's time per step against LangGraph's, for both shapes."""
    print("\nengine overhead per step (1,000 no-op steps, every step durably checkpointed)")
    print(f"{'shape':8}  {'orchestra':>10}  {'with load':>10}  {'langgraph':>10}  {'ratio':>6}")
    met = True
    for shape in ("chain", "fan-out"):
        ours = run_json([os.path.join(binaries, "examples", "engine_overhead"), shape, "1000", str(repetitions)])
        peer = run_json([sys.executable, os.path.join(HERE, "langgraph_overhead.py"), shape, "1000", str(repetitions)])
        ratio = peer["per_step_us"] / ours["per_step_us"]
        print(
            f"{shape:8}  {ours['per_step_us']:>8.1f}µs  {ours['per_step_us_with_load']:>8.1f}µs"
            f"  {peer['per_step_us']:>8.1f}µs  {ratio:>5.1f}×"
        )
        met &= ratio >= 30
        if shape == "chain":
            met &= ours["per_step_us"] < 100
    print("targets: at least 30× less time per step than LangGraph; under 100 µs per step on the chain")
    return met


def memory(binaries: str) -> bool:
    """The peak resident memory of a 10,000-step run with 10 KB outputs."""
    with tempfile.TemporaryDirectory() as project:
        pipeline = generate(binaries, project, ["chain", "10000", "10kb"])
        started = time.perf_counter()
        child = subprocess.Popen([os.path.join(binaries, "orchestra"), "run", pipeline], cwd=project,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("bench: the 10,000-step run failed")
    peak_mb = usage.ru_maxrss / 1024
    print("\nmemory of a 10,000-step run with 10 KB outputs per step")
    print(f"peak resident memory {peak_mb:.0f} MB (target: under 200 MB); the run took {took:.1f} s")
    return peak_mb < 200


def concurrency(binaries: str, repetitions: int) -> bool:
    """500 parallel `sleep 0.2` steps under a concurrency limit of 50: ideally 2 s."""
    runs, walls = [], []
    with tempfile.TemporaryDirectory() as project:
        pipeline = generate(binaries, project, ["parallel", "500", "nap", "50"])
        for _ in range(repetitions):
            started = time.perf_counter()
            orchestra(binaries, project, ["run", pipeline])
            walls.append(time.perf_counter() - started)
        listed = json.loads(orchestra(binaries, project, ["runs", "--json"]))
        runs = [row["duration_ms"] / 1000 for row in listed]
    print("\n500 parallel `sleep 0.2` steps, concurrency 50 (ideal: 2.00 s)")
    print(f"run {statistics.median(runs):.2f} s, whole process {statistics.median(walls):.2f} s "
          f"(median of {repetitions}; target: within 10%, at most 2.20 s)")
    return statistics.median(walls) <= 2.2


def models(binaries: str, repetitions: int) -> bool:
    """100 LLM steps at once against a local model server that takes 1 s to answer each."""
    import urllib.request

    delay_ms = 1000
    server = subprocess.Popen([os.path.join(binaries, "llm-server"), str(delay_ms)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        # The server's own latency: one streamed request, read to its end.
        body = json.dumps({"model": "gpt-4.1", "stream": True,
                           "messages": [{"role": "user", "content": "latency"}]}).encode()
        request = urllib.request.Request(base_url + "/chat/completions", data=body, headers={
            "authorization": "Bearer bench", "content-type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request) as reply:
            reply.read()
        latency = time.perf_counter() - started
        runs = []
        with tempfile.TemporaryDirectory() as project, tempfile.TemporaryDirectory() as home:
            os.makedirs(os.path.join(project, ".orchestra"))
            pipeline = os.path.join(HERE, "..", "pipelines", "llm-parallel.yaml")
            env = dict(os.environ, OPENAI_API_KEY="bench", OPENAI_BASE_URL=base_url, ORCHESTRA_HOME=home)
            for _ in range(repetitions):
                done = subprocess.run([os.path.join(binaries, "orchestra"), "run", "--json", pipeline],
                                      cwd=project, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"bench: the LLM run failed: {done.stderr.strip()[-500:]}")
                runs.append(json.loads(done.stdout)["duration_ms"] / 1000)
    finally:
        server.stdin.close()
        server.wait()
    run = statistics.median(runs)
    added = (run - latency) / latency
    print("\n100 generate steps at once against a local model server (each reply takes 1 s)")
    print(f"server latency {latency:.3f} s, run {run:.3f} s (median of {repetitions}): "
          f"{added * 100:.1f}% added (target: under 10%)")
    return added < 0.10


def generate(binaries: str, project: str, args: list) -> str:
    os.makedirs(os.path.join(project, ".orchestra"), exist_ok=True)
    path = os.path.join(project, "generated.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(subprocess.run([os.path.join(binaries, "examples", "generate"), *args],
                                  check=True, capture_output=True, text=True).stdout)
    return path


def orchestra(binaries: str, project: str, args: list) -> str:
    done = subprocess.run([os.path.join(binaries, "orchestra"), *args], cwd=project,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: `orchestra {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def run_json(command: list) -> dict:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench: `{' '.join(command)}` failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target-dir", required=True, help="where the release binaries are")
    parser.add_argument("parts", nargs="*", default=["overhead", "memory", "concurrency", "models"])
    parser.add_argument("--repetitions", type=int, default=7)
    options = parser.parse_args()
    results = {}
    for part in options.parts:
        if part == "overhead":
            results[part] = overhead(options.target_dir, options.repetitions)
        elif part == "memory":
            results[part] = memory(options.target_dir)
        elif part == "concurrency":
            results[part] = concurrency(options.target_dir, 3)
        elif part == "models":
            results[part] = models(options.target_dir, 5)
        else:
            sys.exit(f"bench: there is no part `{part}`; the parts are overhead, memory, concurrency and models")
    print("\n" + ", ".join(f"{part}: {'target met' if met else 'TARGET MISSED'}" for part, met in results.items()))


if __name__ == "__main__":
    main()
