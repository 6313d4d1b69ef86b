"""The strong baselines (EASE, item-kNN, iALS): written to their definitions, tuned on validation only, in every run.

EASE is checked against a direct solve of its definition on a small hand-made matrix; the
tuning must not move when the test ratings are scrambled (it never reads them); a run's
metrics carry all four baselines in both variants.
"""
import json

import numpy as np
import pytest

from recsys import cli, data
from recsys.data import Dataset
from recsys.evaluation import baselines as b
from recsys.evaluation import topk
from recsys.training import baselines as tb
from recsys.data import prepared
from tests.helpers import TINY

X = np.array([[1, 1, 0, 0, 1], [1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1],
              [1, 0, 0, 1, 1]], dtype=np.float32)


def sparse(x):
    users, movies = np.nonzero(x)
    return b.interactions(x.shape[0], x.shape[1], users, movies)


def test_ease_is_the_constrained_least_squares_solution():
    """min ||X - X B||^2 + lam ||B||^2 with diag(B) = 0, solved column by column without movie j."""
    lam = 2.0
    got = b.ease(sparse(X), lam)
    n = X.shape[1]
    for j in range(n):
        others = [i for i in range(n) if i != j]
        xo = X[:, others].astype(np.float64)
        direct = np.linalg.solve(xo.T @ xo + lam * np.eye(n - 1), xo.T @ X[:, j])
        np.testing.assert_allclose(got[others, j], direct, rtol=1e-4, atol=1e-6)
        assert got[j, j] == 0.0


def test_itemknn_weights_are_pruned_cosines_and_ials_fits_the_pattern():
    s = b.itemknn_weights(sparse(X))
    norms = np.linalg.norm(X, axis=0)
    cos = (X.T @ X) / np.outer(norms, norms)
    np.fill_diagonal(cos, 0.0)
    np.testing.assert_allclose(s, cos, rtol=1e-5)
    pruned = b.itemknn_weights(sparse(X), neighbours=2)
    for j in range(X.shape[1]):  # each movie keeps its 2 strongest links
        kept = np.flatnonzero(pruned[:, j])
        assert len(kept) <= 2 and set(kept) <= set(np.argsort(-cos[:, j])[:3])
    users, movies = b.ials(sparse(X), factors=3, regularization=0.01, alpha=20.0, iterations=30)
    scores = users @ movies.T
    assert scores[X == 1].mean() > scores[X == 0].mean() + 0.3  # it learned who rated what


def test_baselines_are_scored_like_the_model_ties_toward_the_popular():
    scores = np.zeros((2, 4))  # everything tied: the more popular movie comes first
    out = b.evaluate_scores(scores, np.array([0, 1]), np.array([2, 0]), prepared.seen_matrix(2, 4, [], []),
                            train_movies=np.array([2, 2, 2, 0, 1]), ks=(1, 2))
    assert out["test"] == {"top_1": 0.5, "top_2": 1.0}  # movie 2 is the most popular: rank 0; movie 0: rank 1


@pytest.mark.slow
def test_tuning_never_reads_the_test_split(ml100k):
    """Scramble the test ratings' movies: the settings chosen and their validation scores must not change."""
    sp = data.split(ml100k, "random", 0.8, 42)
    ratings = ml100k.ratings.copy()
    col = ratings.columns.get_loc("movie_title")
    ratings.iloc[sp.test, col] = np.random.default_rng(0).permutation(ratings["movie_title"].to_numpy()[sp.test])
    scrambled = Dataset(ratings, ml100k.movies.copy(), ml100k.users.copy(), source=ml100k.source, variant="100k")
    chosen = []
    for ds_ in (ml100k, scrambled):
        v = prepared.prepare(ds_, TINY.with_(validation_fraction=tb.VALIDATION))
        chosen.append({name: tb.tune(name, v, seed=42) for name in ("ease", "itemknn")})
    assert chosen[0] == chosen[1]
    assert len(v.val_users) == round(0.1 * len(sp.train))  # a slice of the training ratings, not of test


def test_a_run_carries_every_baseline_in_both_variants_and_the_split_is_tuned_once(ml100k, capsys):
    assert cli.main(["train", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "4096", "--json",
                     "--quiet"]) == 0
    m = json.loads(capsys.readouterr().out)["metrics"]
    for name in ("popularity", "ease", "itemknn", "ials"):
        assert set(m[name]["test"]) == set(m[name]["test_filtered"]) == {f"top_{k}" for k in (1, 5, 10, 50, 100)}
    # EASE, tuned on validation, is the strong one with seen movies removed (the reference: 0.62)
    assert m["ease"]["test_filtered"]["top_100"] > 0.6 > m["popularity"]["test_filtered"]["top_100"]
    assert m["ease"]["params"]["lam"] in [g["lam"] for g in tb.GRIDS["ease"]]
    path = tb.cache_path(ml100k, "random", 0.8, 42)
    assert path.exists()  # kept on disk: the next run on this split reads it
    stamp = path.stat().st_mtime_ns
    assert tb.cached(ml100k, "random", 0.8, 42)["ease"]["params"] == m["ease"]["params"]
    assert path.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("candidates", ["test", "test_filtered"])
def test_the_reading_names_every_baseline(candidates):
    block = {f"top_{k}": v for k, v in zip((1, 5, 10, 50, 100), (0.01, 0.05, 0.1, 0.4, 0.6))}
    lower = {k: v * 0.9 for k, v in block.items()}
    higher = {k: v * 1.1 for k, v in block.items()}
    metrics = {"model": {candidates: block}, "popularity": {candidates: lower}, "itemknn": {candidates: lower},
               "ials": {candidates: {**lower, "top_1": 0.02}}, "ease": {candidates: higher}}
    text = topk.read_against(metrics, candidates)
    assert "beats popularity and item-kNN at every K" in text
    assert "loses to iALS at K = 1 (by up to 50%)" in text and "loses to EASE at every K (by up to 9%)" in text
