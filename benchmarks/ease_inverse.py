"""EASE's weights by Cholesky (``evaluation.baselines.ease``) against NumPy's LU inverse, on real MovieLens.

    .venv/bin/python benchmarks/ease_inverse.py [--rounds 5]

On the tutorial's split (random 80/20, seed 42) of ML-100k (the test suite's data cache), for each lambda of the
baselines' grid: ours and the reference (``np.linalg.inv`` of ``X^T X + lambda I``, then the same B = -P / diag(P) with a zero diagonal) in
turns, on one thread as the test suite runs. Prints the median CPU
seconds of each, their ratio, and the largest difference between the two float32 weight matrices.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def reference(x, lam: float):
    import numpy as np

    g = np.asarray((x.T @ x).toarray(), np.float64)
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = p / (-np.diag(p))[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    a = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import load_average, suite_home

    suite_home("ease-bench-")
    import numpy as np

    import recsys  # noqa: F401
    from recsys.data import prepared
    from recsys.evaluation import baselines as b
    from recsys.training import baselines as tb
    from recsys.training.train import TrainConfig

    ds = prepared.load_dataset("100k")
    p = prepared.prepare(ds, TrainConfig())
    x = b.interactions(len(ds.user_ids), len(ds.titles), p.train_users, p.train_movies)
    print(f"100k: {len(ds.titles)} titles, {len(p.train_users)} training ratings")
    ratios = []
    for lam in [g["lam"] for g in tb.GRIDS["ease"]]:
        cpu = {"cholesky": [], "lu": []}
        for _ in range(a.rounds):
            for label, fn in (("cholesky", b.ease), ("lu", reference)):
                start = time.process_time()
                w = fn(x, lam)
                cpu[label].append(time.process_time() - start)
                if label == "cholesky":
                    ours = w
        diff = float(np.abs(ours - w).max())
        med = {k: statistics.median(v) for k, v in cpu.items()}
        ratios.append(med["cholesky"] / med["lu"])
        print(f"lambda {lam:6g}: Cholesky {med['cholesky']:.3f} CPU-s, LU inverse {med['lu']:.3f} CPU-s, "
              f"ratio {ratios[-1]:.2f}; largest weight difference {diff:.1e}")
    print(f"median ratio Cholesky / LU: {statistics.median(ratios):.2f}")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
