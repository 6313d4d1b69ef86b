"""EASE's weights by Cholesky (``evaluation.baselines.ease``) against NumPy's LU inverse, on real MovieLens.

    .venv/bin/python benchmarks/ease_inverse.py [--variant 100k] [--rounds 5]

On the tutorial's split (random 80/20, seed 42) of ``--variant`` (from the test data cache for 100k), for each
lambda of the baselines' grid: ours and the reference (``np.linalg.inv`` of ``X^T X + lambda I``, then the same
B = -P / diag(P) with a zero diagonal) in turns, on one thread as the test suite runs. Prints the median CPU
seconds of each, their ratio, and the largest difference between the two float32 weight matrices.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
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
    parser.add_argument("--variant", default="100k")
    parser.add_argument("--rounds", type=int, default=5)
    a = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # one BLAS thread, as in the test suite
        os.environ[name] = "1"
    sys.path.insert(0, str(ROOT))
    if a.variant == "100k" and not os.environ.get("RECSYS_HOME"):
        os.environ["RECSYS_HOME"] = tempfile.mkdtemp(prefix="ease-bench-")
        from tests import data_cache

        data_cache.seed(os.environ["RECSYS_HOME"])
    import numpy as np

    import recsys  # noqa: F401
    from recsys.data import prepared
    from recsys.evaluation import baselines as b
    from recsys.training import baselines as tb
    from recsys.training.train import TrainConfig

    ds = prepared.load_dataset(a.variant)
    p = prepared.prepare(ds, TrainConfig())
    x = b.interactions(len(ds.user_ids), len(ds.titles), p.train_users, p.train_movies)
    print(f"{a.variant}: {len(ds.titles)} titles, {len(p.train_users)} training ratings")
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
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
