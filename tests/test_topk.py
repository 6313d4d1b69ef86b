"""The exact evaluator (``recsys/evaluation/topk.py``) and the popularity baseline, against TFRS's
FactorizedTopK and by hand."""
from itertools import islice

import numpy as np
import pytest

from recsys.bench import speed as bench
from recsys.config import KS, TUTORIAL
from recsys.data import prepared
from recsys.evaluation import baselines, topk


@pytest.mark.slow
def test_evaluator_agrees_with_factorized_top_k(tutorial_run):
    """``bench eval`` (the README's table): the tutorial preset trained afresh, TFRS's FactorizedTopK and our exact
    ranks on its vectors agree at every K, and ours are the saved run's figures (the training is reproducible)."""
    out = bench.bench_eval(TUTORIAL)
    for k in KS:
        assert abs(out["factorized_top_k"][f"top_{k}"] - out["ours"][f"top_{k}"]) <= 0.002, (k, out)
    assert out["max_abs_diff"] <= 0.002 and out["ours"] == tutorial_run.metrics["model"]["test"]
    assert {"factorized_top_k_seconds", "ours_seconds", "speedup"} <= set(out)


def test_ranks_on_a_hand_made_case():
    users = np.array([[1.0, 0.0], [0.0, 1.0]])
    movies = np.array([[3.0, 0.0], [2.0, 2.0], [0.0, 1.0], [1.0, 1.0]])
    # user 0 scores: 3, 2, 0, 1 ; user 1 scores: 0, 2, 1, 1
    r = topk.ranks(users, movies, np.array([0, 0, 1, 1]), np.array([0, 3, 2, 3]))
    assert r.tolist() == [0, 2, 1, 1]  # ties (user 1: movies 2 and 3 both score 1) are not "strictly higher"
    seen = np.zeros((2, 4), bool)
    seen[0, 0] = True  # user 0 already rated movie 0
    assert topk.ranks(users, movies, np.array([0]), np.array([3]), seen).tolist() == [1]
    assert topk.accuracy_at(np.array([0, 2, 1, 1]), ks=(1, 2)) == {"top_1": 0.25, "top_2": 0.75}


@pytest.mark.slow
def test_popularity_baseline_against_a_direct_count(ml100k):
    p = prepared.prepare(ml100k, TUTORIAL)
    counts = np.bincount(p.train_movies, minlength=len(ml100k.titles))
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))  # most rated first, ties by index
    top100 = set(order[:100])
    direct = np.mean([m in top100 for m in p.test_movies])
    assert baselines.popularity_of(p)["test"]["top_100"] == pytest.approx(direct)
    # seen removed: a user's top list skips movies they rated in training
    rng = np.random.default_rng(0)
    sample = rng.choice(len(p.test_users), 300, replace=False)
    hits = 0
    for i in sample:
        u, m = p.test_users[i], p.test_movies[i]
        mine = list(islice((x for x in order if x == m or not p.seen[u, x]), 10))  # the first 10 unseen (or m)
        hits += m in mine
    filtered = topk.accuracy_at(topk.ranks(np.ones((len(ml100k.user_ids), 1)),
                                                   baselines.popularity_scores(p.train_movies, len(counts))[:, None],
                                                   p.test_users[sample], p.test_movies[sample], p.seen,
                                                   dtype=np.float64))
    assert filtered["top_10"] == pytest.approx(hits / len(sample))
