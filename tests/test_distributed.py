"""Training past one device with TensorFlow's own runtime: the CLI's ``--strategy`` on CPU.

Two logical CPU devices (``MirroredStrategy``) and two worker processes on localhost
(``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``) train the tiny config, and their metrics
are compared with single-device training of the same config (the ``tiny_run`` fixture).

Tolerance: 0.02 absolute at every top-K. With two replicas each row of a 4,096-row batch
meets ~2,048 in-batch negatives instead of 4,096 (see recsys/training/distributed.py), so the
gradients, and the model, differ a little; how much a small change moves this config's
metrics is its seed-to-seed spread, which over five seeds is 0.246-0.264 at top-100 and
0.031-0.036 at top-10 (measured with ``train.fit``): 0.02 covers that spread and would
still catch a broken split of the batch or gradients that are not summed (both move top-100
by far more). Mirrored and multi-worker do the *same* computation (each global batch cut
into the same two halves) and must agree to rounding (0.002).

All three TensorFlow processes start at once (module fixture) so their start-up overlaps.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.training import distributed
from recsys.config import KS
from recsys.errors import UserError
from tests.serve import free_port

ROOT = Path(__file__).resolve().parents[1]
TINY_FLAGS = ["--embedding-dim", "8", "--epochs", "1", "--batch-size", "4096", "--json", "--quiet"]
TOLERANCE = 0.02
SAME_COMPUTATION = 0.002


def _train(extra_env: dict, *flags) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "recsys", "train", *flags, *TINY_FLAGS], cwd=ROOT,
                            env={**os.environ, **extra_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _result(proc: subprocess.Popen, timeout: float = 300) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"training did not finish in {timeout} s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


class _Launched:
    """The three training processes; ``result(name)`` waits for one and keeps its JSON."""

    def __init__(self, procs: dict):
        self.procs, self.results = procs, {}

    def result(self, name: str) -> dict:
        if name not in self.results:
            self.results[name] = _result(self.procs[name])
        return self.results[name]


@pytest.fixture(scope="module")
def launched(ml100k):
    """Start the mirrored run and both workers together (the data cache exists by now)."""
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    procs = {"mirrored": _train({}, "--strategy", "mirrored", "--cpu-devices", "2")}
    for i in range(2):
        conf = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
        procs[f"worker{i}"] = _train({"TF_CONFIG": json.dumps(conf)}, "--strategy", "multiworker")
    yield _Launched(procs)
    for p in procs.values():
        if p.poll() is None:
            p.kill()


def _close(a: dict, b: dict, tol: float) -> None:
    for variant in ("test", "test_filtered"):
        for k in KS:
            x, y = a[variant][f"top_{k}"], b[variant][f"top_{k}"]
            assert abs(x - y) <= tol, (variant, k, x, y)


@pytest.mark.slow
def test_two_logical_cpu_devices_match_one_device(launched, tiny_run):
    out = launched.result("mirrored")
    assert out["strategy"] == "mirrored x2"
    assert out["run_id"] != tiny_run.run_id  # a different training, saved as a different run
    assert out["config"] == tiny_run.config.to_dict()
    _close(out["metrics"]["model"], tiny_run.metrics["model"], TOLERANCE)
    assert out["metrics"]["popularity"] == tiny_run.metrics["popularity"]  # same split, same baseline
    # Each replica's softmax runs over half the batch, so the summed loss is smaller than one device's.
    assert out["history"][0]["loss"] < tiny_run.history[0]["loss"]


@pytest.mark.slow
def test_two_workers_on_localhost_match_one_device(launched, tiny_run):
    chief, other = launched.result("worker0"), launched.result("worker1")
    assert chief["strategy"] == other["strategy"] == "multiworker x2"
    assert chief["metrics"] == other["metrics"]  # the replicas hold the same weights
    assert Path(chief["run_dir"]).parent == tiny_run.path.parent  # only the chief saves into the runs root
    assert Path(other["run_dir"]).parent != tiny_run.path.parent
    _close(chief["metrics"]["model"], tiny_run.metrics["model"], TOLERANCE)
    _close(chief["metrics"]["model"], launched.result("mirrored")["metrics"]["model"], SAME_COMPUTATION)


def test_bad_strategy_settings_are_user_errors(monkeypatch, tiny_run):  # tiny_run: TensorFlow has started
    with pytest.raises(UserError, match="needs TF_CONFIG"):
        monkeypatch.delenv("TF_CONFIG", raising=False)
        distributed.tf_config()
    for bad, expect in (("{not json", "TF_CONFIG is not valid"), ('{"cluster": {}}', "TF_CONFIG is not valid"),
                        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}',
                         "task worker\\[3\\] is not in the cluster"),
                        ('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}',
                         "'nohost' is not host:port")):
        monkeypatch.setenv("TF_CONFIG", bad)
        with pytest.raises(UserError, match=expect):
            distributed.tf_config()
    with pytest.raises(UserError, match="unknown strategy"):
        distributed.make_strategy("tpu")
    with pytest.raises(UserError, match="TensorFlow has already started with 1 CPU device"):
        distributed.configure_cpu_devices(3)  # this test process has run TensorFlow already


# ----------------------------------------------------------------------------- larger data


def test_synthetic_data_is_movielens_like_and_reproducible():
    import numpy as np

    from recsys.data import synthetic

    n = 200_000
    a, b, c = synthetic.generate(n, seed=3), synthetic.generate(n, seed=3), synthetic.generate(n, seed=4)
    cols = ["user_idx", "title_idx", "user_rating", "timestamp"]
    assert a.ratings[cols].equals(b.ratings[cols]) and not a.ratings[cols].equals(c.ratings[cols])
    r = a.ratings
    users, movies = r["user_idx"].to_numpy(np.int64), r["title_idx"].to_numpy(np.int64)
    assert len(r) == n and len(np.unique(users * len(a.titles) + movies)) == n  # distinct (user, movie) pairs
    assert (len(a.user_ids), len(a.titles)) == synthetic.default_sizes(n)
    counts = np.sort(np.bincount(movies, minlength=len(a.titles)))[::-1]
    assert counts[: len(counts) // 100].sum() > 0.04 * n  # power law: the top 1% of movies get >4x their share
    per_user = np.bincount(users)
    assert per_user.min() >= 5 and per_user.max() > 5 * np.median(per_user)  # a few very active users
    # clustered tastes: a user's favourite primary genre holds a share of their ratings well
    # above what the same movies dealt out at random would give (~0.12)
    primary = r["movie_genres"].astype(str).str.split("|").str[0].to_numpy()
    share = (pd_crosstab_max(users, primary) / per_user).mean()
    shuffled = (pd_crosstab_max(users, np.random.default_rng(0).permutation(primary)) / per_user).mean()
    assert share > 2 * shuffled
    assert r["timestamp"].between(synthetic.START, synthetic.END).all()
    assert set(np.unique(r["user_rating"])) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    s = a.summary()
    assert (s["ratings"], s["source"]) == (n, "synthetic")


def pd_crosstab_max(users, labels):
    import numpy as np
    import pandas as pd

    codes, _ = pd.factorize(labels)
    table = np.zeros((users.max() + 1, codes.max() + 1), dtype=np.int64)
    np.add.at(table, (users, codes), 1)
    return table.max(axis=1)[table.sum(axis=1) > 0]


def test_sparse_seen_matrix_gives_the_same_ranks_as_a_dense_one(ml100k):
    import numpy as np

    from recsys.evaluation import baselines, topk
    from recsys.data import prepared
    from recsys.config import TUTORIAL

    p = prepared.prepare(ml100k, TUTORIAL)
    assert p.seen.nnz == len({(u, m) for u, m in zip(p.train_users.tolist(), p.train_movies.tolist())})
    dense = p.seen.toarray()
    rng = np.random.default_rng(0)
    u = rng.normal(size=(len(ml100k.user_ids), 8)).astype(np.float32)
    m = rng.normal(size=(len(ml100k.titles), 8)).astype(np.float32)
    plain, filtered = topk.ranks_both(u, m, p.test_users, p.test_movies, p.seen)
    assert (filtered == topk.ranks(u, m, p.test_users, p.test_movies, dense)).all()
    assert (plain == topk.ranks(u, m, p.test_users, p.test_movies)).all()
    assert (filtered <= plain).all() and (filtered < plain).any()
    # the popularity shortcut (one sort) equals ranking with the popularity vectors
    scores = baselines.popularity_scores(p.train_movies, len(ml100k.titles))[:, None]
    ones = np.ones((len(ml100k.user_ids), 1))
    by_ranks = {"test": topk.accuracy_at(topk.ranks(ones, scores, p.test_users, p.test_movies,
                                                            dtype=np.float64)),
                "test_filtered": topk.accuracy_at(topk.ranks(ones, scores, p.test_users, p.test_movies,
                                                                     dense, dtype=np.float64))}
    assert baselines.popularity_of(p) == by_ranks


def test_scale_bench_reports_every_stage(capsys, tiny_run):
    from recsys import cli

    assert cli.main(["bench", "scale", "--interactions", "2e4,3e4", "--in-process", "--json",
                     "--batch-size", "2048"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["interactions"] for r in rows] == [20_000, 30_000]
    for r in rows:
        assert r["train_examples_per_s"] > 0 and r["eval_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["train_rows"] + r["test_rows"] == r["interactions"]
        assert 0 <= r["model_top_100"] <= 1 and 0 <= r["popularity_top_100"] <= 1
