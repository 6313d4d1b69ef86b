"""``python -m recsys bench scale``: how the cost of each stage grows with the number of ratings.

For each size it builds a synthetic MovieLens-like dataset (``recsys/data/synthetic.py``), then times the
stages the app runs on real data: the split and the model-independent preparation (the
sparse seen-matrix and the popularity baseline), one epoch of training (examples per second,
without the first step, which traces the graph) and one exact evaluation of both metric
variants on every test rating. Each size runs in its own process, so "peak memory" is that
size's own high-water mark (it includes ~0.5 GB of TensorFlow itself).

What to expect: generating, splitting and preparing are linear in the ratings (their time per
million stays flat); training throughput (examples/s) stays roughly flat, so an epoch is
linear too; exact evaluation scores every test rating against the whole catalog, so it grows
with ratings x catalog size (the catalog grows with the data: 3.7k movies at 1M, 13k at 10M).
"""
from __future__ import annotations

import os
import resource
import time

from recsys.errors import UserError

MIN_SIZE, MAX_SIZE = 1_000, 50_000_000


def parse_sizes(text: str) -> list[int]:
    """``"1e6,1e7"`` -> [1000000, 10000000], each checked."""
    sizes = []
    for part in str(text).split(","):
        part = part.strip().replace("_", "")
        try:
            value = float(part)
        except ValueError:
            raise UserError(f"--interactions: {part!r} is not a number (e.g. 1e6,1e7)") from None
        if not (MIN_SIZE <= value <= MAX_SIZE) or value != int(value):
            raise UserError(f"--interactions: each size must be a whole number between {MIN_SIZE:,} and "
                            f"{MAX_SIZE:,}, got {part!r}")
        sizes.append(int(value))
    return sizes


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Clock:
    """Training callback that times the steady part of the first epoch and the evaluation."""

    def __init__(self):
        self.first = self.last = self.eval_seconds = None
        self.steps = 0

    def on_batch(self, epoch, step, steps, loss):
        now = time.perf_counter()
        if epoch == 1:
            if step == 1:
                self.first = now
            self.last, self.steps = now, steps

    def on_epoch(self, record):
        if record["epoch"] == 1:
            self.eval_seconds = time.perf_counter() - self.last


def measure(n: int, config, seed: int = 0) -> dict:
    """One size, in this process: the figures of one row of the table."""
    import numpy as np

    from recsys.data import prepared, synthetic
    from recsys.evaluation import baselines
    from recsys.training import train

    baseline = _rss_mb()
    t = time.perf_counter()
    ds = synthetic.generate(n, seed=seed)
    generate_s = time.perf_counter() - t
    t = time.perf_counter()
    p = prepared.prepare(ds, config)
    baselines.popularity_of(p)  # the split and its popularity baseline, timed together
    prepare_s = time.perf_counter() - t
    clock = _Clock()
    result = train.fit(config, ds, clock)
    n_fit = len(p.fit_users)
    steady_rows = n_fit - min(config.batch_size, n_fit)
    steady_s = (clock.last - clock.first) if clock.steps > 1 else float("nan")
    return {
        "interactions": n, "users": int(len(ds.user_ids)), "movies": int(len(ds.titles)),
        "train_rows": int(n_fit), "test_rows": int(len(p.test_users)),
        "generate_s": generate_s, "prepare_s": prepare_s,
        "train_examples_per_s": steady_rows / steady_s if steady_s > 0 else float("nan"),
        "epoch_s": n_fit / (steady_rows / steady_s) if steady_s > 0 else float("nan"),
        "eval_s": clock.eval_seconds,
        "dataset_mb": float(ds.ratings.memory_usage(deep=False).sum() / 2**20),
        "baseline_rss_mb": baseline, "peak_rss_mb": _peak_mb(),
        "model_top_100": result.metrics["model"]["test"]["top_100"],
        "popularity_top_100": result.metrics["popularity"]["test"]["top_100"],
        "config": {k: getattr(config, k) for k in ("embedding_dim", "epochs", "batch_size", "optimizer",
                                                   "learning_rate")},
        "numpy": np.__version__,
    }


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (also what the terminal shows)."""
    head = ("| interactions | users | movies | generate s | prepare s | prepare s / M | train examples/s "
            "| epoch s | eval s | peak memory MB | model top-100 | popularity top-100 |")
    lines = [head, "|" + "|".join(["---:"] * 12) + "|"]
    for r in rows:
        m = r["interactions"] / 1e6
        lines.append(
            f"| {r['interactions']:,} | {r['users']:,} | {r['movies']:,} | {r['generate_s']:.1f} | {r['prepare_s']:.1f} "
            f"| {r['prepare_s'] / m:.2f} | {r['train_examples_per_s']:,.0f} | {r['epoch_s']:.1f} | {r['eval_s']:.1f} "
            f"| {r['peak_rss_mb']:,.0f} | {r['model_top_100']:.3f} | {r['popularity_top_100']:.3f} |")
    return "\n".join(lines)
