"""The CPU of the tests' trainings, and a digest of what they learn: to compare two commits.

    .venv/bin/python benchmarks/train_cpu.py [--repo PATH]

Trains, in one process, the tiny configs the test suite trains most (``tests/test_two_tower.py: LEVERS``,
``tests/test_notebook.py: COMBINATIONS``, the tiny ranking run, every ranking lever, a multitask ranking run
and two item-to-item runs) with the code of ``--repo`` (default: this checkout; give another
``git worktree`` to measure another commit), on ML-100k from the test data cache. Prints each training's
CPU seconds and a digest of its vectors and per-epoch losses, then the totals. Two commits that train
the same models print the same digests; a change that only makes training cheaper lowers the CPU and
keeps every digest.
"""
from __future__ import annotations

import argparse
import hashlib
import resource
import sys
from pathlib import Path


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def digest(*arrays) -> str:
    import numpy as np

    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    repo = Path(parser.parse_args().repo).resolve()
    sys.path.insert(0, str(repo))  # its recsys and tests
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import load_average, suite_home

    suite_home("train-cpu-")
    import recsys  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
    from recsys.config import ITEM_DEFAULT
    from recsys.data import prepared
    from recsys.training import item_to_item, ranking, train
    from tests import test_ranking, test_two_tower
    from tests.helpers import TINY, TINY_RANKING
    from tests.test_notebook import COMBINATIONS

    print(f"code: {repo}")
    ds = prepared.load_dataset("100k")
    jobs = [(f"two-tower {name}", train.fit, TINY.with_(**levers))
            for name, levers in {**test_two_tower.LEVERS, **COMBINATIONS}.items()]
    jobs += [("ranking tiny", ranking.fit, TINY_RANKING),
             ("ranking levers", ranking.fit, test_ranking.LEVERS.with_(epochs=2)),
             ("ranking multitask", ranking.fit, TINY_RANKING.with_(retrieval_weight=0.5)),
             ("item-to-item", item_to_item.fit, ITEM_DEFAULT.with_(epochs=1)),
             ("item-to-item features", item_to_item.fit, ITEM_DEFAULT.with_(epochs=1, movie_features=True))]
    totals = {"two-tower": 0.0, "ranking": 0.0, "item-to-item": 0.0}
    first = None
    for label, fit, config in jobs:
        start = cpu()
        result = fit(config, ds)
        spent = cpu() - start
        first = spent if first is None else first
        totals[label.split()[0]] += spent
        arrays = getattr(result, "arrays", None)
        if arrays is not None:  # a ranking run
            learned = [arrays[k] for k in sorted(arrays)]
        elif hasattr(result, "query_vectors"):  # item-to-item
            learned = [result.query_vectors, result.movie_vectors]
        else:
            learned = [result.user_vectors, result.movie_vectors]
        losses = [h["loss"] for h in result.history]
        print(f"{label:36s} {spent:6.2f} CPU-s  digest {digest(*learned, losses)}", flush=True)
    print(f"\nfirst training of the process: {first:.2f} CPU-s")
    print("totals: " + ", ".join(f"{k} {v:.1f}" for k, v in totals.items()) + f"; all {sum(totals.values()):.1f} CPU-s")
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
