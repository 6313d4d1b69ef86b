"""A process's start-up CPU with ``recsys``'s collector setting and with Python's default, in fresh processes.

    .venv/bin/python benchmarks/startup.py [--rounds 8]

Each round starts two new Pythons, in turn, that import what a training worker imports (``recsys``,
TensorFlow, TFRS, ScaNN, the trainer and the serving code) and print their CPU seconds and the time
their cycle collector spent, by generation (``gc.callbacks``). The reference is the same process with
Python's default thresholds put back right after ``import recsys``. Prints the medians and the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import load_average  # noqa: E402
CHILD = """
import gc, json, sys, time
spent, since = [0.0, 0.0, 0.0], {}
def timed(phase, info):
    g = info["generation"]
    if phase == "start":
        since[g] = time.process_time()
    else:
        spent[g] += time.process_time() - since[g]
gc.callbacks.append(timed)
import recsys
if sys.argv[1] == "python":
    gc.set_threshold(700, 10, 10)  # CPython's default
import tensorflow_recommenders, scann
from recsys.training import train
from recsys.serving import index, recommend
print(json.dumps({"cpu": time.process_time(), "gc": spent, "threshold": gc.get_threshold()}))
"""


def start(setting: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, setting], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    rounds = parser.parse_args().rounds
    got = {"recsys": [], "python": []}
    for i in range(rounds):
        for setting in got:
            got[setting].append(start(setting))
        print(f"round {i + 1}: " + ", ".join(f"{s} {r[-1]['cpu']:.2f} CPU-s (collector {sum(r[-1]['gc']):.2f})"
                                              for s, r in got.items()), flush=True)
    med = {s: statistics.median(r["cpu"] for r in rows) for s, rows in got.items()}
    for s, rows in got.items():
        by_gen = [statistics.median(r["gc"][g] for r in rows) for g in range(3)]
        print(f"{s:7s} thresholds {tuple(rows[0]['threshold'])}: median {med[s]:.2f} CPU-s, of which the collector "
              + " / ".join(f"{x:.2f}" for x in by_gen) + " (generations 0 / 1 / 2)")
    print(f"ratio recsys / python: {med['recsys'] / med['python']:.2f}")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
