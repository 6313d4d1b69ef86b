"""One user's search with their rated movies left out: ours (``index.search``) against TFRS's ``query_with_exclusions``.

    .venv/bin/python benchmarks/exclusion_search.py [--users 200] [--dim 32]

On ML-100k's catalog (1,664 titles; Gaussian vectors of ``--dim`` dimensions, seed 0) and its real users'
rated movies, for BruteForce and ScaNN: ours calls the layer eagerly and drops the excluded movies in
NumPy; TFRS's method is a ``tf.function`` that asks the index for k + L answers (L padded as ours,
``index.padded_length``) and traces a graph for each new L. Prints the CPU seconds of those traces (what
the page no longer pays), the median latency of each way over ``--users`` users after that, their ratio,
and whether every answer is the same (ids and scores).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import load_average  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    import recsys  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
    import tensorflow as tf

    from recsys.data import prepared
    from recsys.serving import index as idx

    ds = prepared.load_dataset("100k")
    n = len(ds.titles)
    movies = np.random.default_rng(0).normal(size=(n, args.dim)).astype(np.float32)
    queries = np.random.default_rng(1).normal(size=(len(ds.user_ids), args.dim)).astype(np.float32)
    seen = ds.ratings.groupby("user_idx")["title_idx"].unique()
    users = np.random.default_rng(2).choice(len(ds.user_ids), min(args.users, len(ds.user_ids)), replace=False)

    def tfrs_way(index, query, exclude):
        padded = np.full((1, idx.padded_length(len(exclude), args.k, n)), -1, np.int32)
        padded[0, :len(exclude)] = exclude
        s, i = index.query_with_exclusions(tf.constant(query[None, :]), tf.constant(padded), k=args.k)
        s, i = s.numpy()[0], i.numpy()[0]
        keep = ~np.isin(i, exclude)
        return s[keep], i[keep]

    def ours(index, query, exclude):
        return idx.search(index, query, args.k, exclude)

    print(f"ML-100k catalog ({n} titles, {args.dim} dimensions), {len(users)} users, k={args.k}, "
          f"load average {load_average()}")
    mismatches = 0
    for name, index in (("BruteForce", idx.build_bruteforce(movies)), ("ScaNN", idx.build_scann(movies))):
        shapes = {idx.query_shape(index, args.k, seen[u]) for u in users}
        start = time.process_time()
        for shape in shapes:  # one user per shape: TFRS's way traces its graph there
            u = next(u for u in users if idx.query_shape(index, args.k, seen[u]) == shape)
            tfrs_way(index, queries[u], seen[u])
        traced = time.process_time() - start
        times = {"ours": [], "tfrs": []}
        for u in users:
            for way, fn in (("ours", ours), ("tfrs", tfrs_way)):
                t = time.perf_counter()
                got = fn(index, queries[u], seen[u])
                times[way].append((time.perf_counter() - t) * 1000)
                if way == "ours":
                    mine = got
            mismatches += not (np.array_equal(mine[1], got[1]) and np.array_equal(mine[0], got[0]))
        a, b = np.median(times["ours"]), np.median(times["tfrs"])
        print(f"{name:10s} TFRS's traces: {len(shapes)} shapes, {traced:.2f} CPU-s | median per user: ours "
              f"{a:.3f} ms, TFRS {b:.3f} ms, ratio ours/TFRS {a / b:.2f}")
    print(f"answers that differ: {mismatches} of {2 * len(users)}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
