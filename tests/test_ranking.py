"""The ranking model (stars of a user for a movie): its baselines, training, NumPy serving, store and CLI.

Real ML-100k through the real loader, tiny configs trained for real (a few seconds each).
The bias baseline is checked against a direct solution of its definition (a ridge regression)
on a hand-made example; the NumPy predictions of a run against the Keras model's.
"""
import json

import numpy as np
import pytest

from recsys import cli
from recsys.config import RANKING_BEST, RANKING_PRESETS, RANKING_TUTORIAL, RankingConfig
from recsys.errors import UserError
from recsys.evaluation import ranking as rating_eval
from recsys.serving.ranking import Ranker
from recsys.store import runs
from recsys.data import prepared
from recsys.training import ranking
from tests.helpers import TINY_RANKING as TINY

# Tiny configs: the tutorial's model, smaller, and one with every lever of ours on.
TINY_FLAGS = ["--embedding-dim", "8", "--layers", "16", "--epochs", "2", "--batch-size", "4096"]
LEVERS = TINY.with_(optimizer="adam", learning_rate=0.05, epochs=5, biases=True, dot=True, user_features=True,
                    movie_features=True, history=True, l2=0.01, dropout=0.1, clip=True, validation_fraction=0.1)


# --------------------------------------------------------------------------- the baselines, by hand


def test_rmse_and_the_bias_baseline_solve_their_definitions():
    assert rating_eval.rmse(np.array([1.0, 5.0]), np.array([2.0, 3.0])) == pytest.approx(np.sqrt((1 + 4) / 2))
    # 3 users, 3 movies, 6 ratings; the biases minimise
    #   sum (r - mu - b_u - b_i)^2 + lam_u |b_u|^2 + lam_i |b_i|^2   with mu the mean rating.
    users, movies = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 2, 1, 2])
    stars = np.array([5.0, 3.0, 4.0, 1.0, 2.0, 4.0])
    lam_u, lam_i = 2.0, 0.5
    mu = stars.mean()
    a = np.zeros((6, 6))  # one column per user bias, then one per movie bias
    a[np.arange(6), users] = 1.0
    a[np.arange(6), 3 + movies] = 1.0
    penalty = np.diag([lam_u] * 3 + [lam_i] * 3)
    exact = np.linalg.solve(a.T @ a + penalty, a.T @ (stars - mu))  # the normal equations of the ridge problem
    fitted_mu, b_u, b_i = rating_eval.fit_biases(users, movies, stars, 3, 3, lam_u, lam_i, passes=200)
    assert fitted_mu == pytest.approx(mu)
    np.testing.assert_allclose(np.concatenate([b_u, b_i]), exact, atol=1e-9)
    # one pass: the movie biases with the user biases at 0, b_i = sum (r - mu) / (lam_i + n_i), then the users'
    _, b_u1, b_i1 = rating_eval.fit_biases(users, movies, stars, 3, 3, lam_u, lam_i, passes=1)
    expected_i = (np.array([5 + 4, 3 + 2, 1 + 4]) - 2 * mu) / (lam_i + 2)
    np.testing.assert_allclose(b_i1, expected_i)
    np.testing.assert_allclose(b_u1[0], (5 - mu - expected_i[0] + 3 - mu - expected_i[1]) / (lam_u + 2))
    pred = rating_eval.predict_biases((fitted_mu, b_u, b_i), users, movies)
    np.testing.assert_allclose(pred, mu + a @ exact)


def test_the_baselines_of_a_split_are_tuned_on_validation_and_beat_the_mean(ml100k):
    base = ranking.baselines(ml100k, TINY)
    p = prepared.prepare(ml100k, TINY)
    mu = float(p.train_ratings.mean())
    assert base["global_mean"]["params"]["mean"] == pytest.approx(mu)
    mean_rmse = rating_eval.rmse(p.test_ratings, np.full(len(p.test_ratings), mu))
    assert base["global_mean"]["test"]["rmse"] == pytest.approx(mean_rmse)
    lam = base["biases"]["params"]
    assert lam["lam_user"] in rating_eval.LAMBDAS and lam["lam_movie"] in rating_eval.LAMBDAS
    refit = rating_eval.fit_biases(p.train_users, p.train_movies, p.train_ratings, len(ml100k.user_ids),
                                   len(ml100k.titles), lam["lam_user"], lam["lam_movie"])
    assert base["biases"]["test"]["rmse"] == pytest.approx(
        rating_eval.rmse(p.test_ratings, rating_eval.predict_biases(refit, p.test_users, p.test_movies)))
    assert base["biases"]["test"]["rmse"] < base["global_mean"]["test"]["rmse"] - 0.1


# --------------------------------------------------------------------------- training and serving


@pytest.fixture(scope="module")
def levers_result(ml100k):
    return ranking.fit(LEVERS, ml100k)


@pytest.mark.slow
def test_every_lever_trains_beats_the_baselines_and_numpy_predicts_as_keras(levers_result, ml100k):
    result = levers_result
    m = result.metrics
    assert m["model"]["test"]["rmse"] < m["global_mean"]["test"]["rmse"]
    assert m["model"]["test"]["rmse"] < m["biases"]["test"]["rmse"] + 0.05
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]
    assert all({"loss", "seconds", "test", "validation"} <= set(r) for r in result.history)
    best = min(result.history, key=lambda r: r["validation"]["rmse"])  # kept on validation, never on test
    assert result.best_epoch == best["epoch"] and m["model"]["test"] == best["test"]
    # NumPy serving from the saved arrays == the Keras model (features, biases, dot, dropout off, clip)
    p = prepared.prepare(ml100k, LEVERS)
    keras = result.model({"user_idx": p.test_users, "title_idx": p.test_movies}).numpy()
    numpy = Ranker(result.arrays).predict_pairs(p.test_users, p.test_movies)
    np.testing.assert_allclose(numpy, keras, atol=1e-4)
    assert keras.min() >= 1.0 and keras.max() <= 5.0  # clip
    assert m["model"]["test"]["rmse"] == pytest.approx(rating_eval.rmse(p.test_ratings, keras), abs=1e-4)


def test_the_saved_checkpoint_is_the_kept_epoch(levers_result, ml100k, tmp_path):
    from recsys.data import features
    from recsys.model.ranking import RankingModel

    assert levers_result.best_epoch < LEVERS.epochs  # validation rose at the end: an earlier epoch was kept
    run = runs.save(levers_result, ml100k, tmp_path)
    n_users, n_movies = len(ml100k.user_ids), len(ml100k.titles)
    p = prepared.prepare(ml100k, LEVERS)
    fresh = RankingModel(LEVERS, n_users, n_movies, user_tables=features.user_tables(ml100k),
                         movie_tables=features.movie_tables(ml100k), history=p.fit_seen)
    pairs = {"user_idx": p.test_users[:500], "title_idx": p.test_movies[:500]}
    fresh(pairs)  # creates the variables, then the checkpoint fills them
    fresh.load_weights(str(run.path / "weights" / "ckpt")).expect_partial()
    np.testing.assert_allclose(fresh(pairs).numpy(), run.ranker().predict_pairs(pairs["user_idx"], pairs["title_idx"]),
                               atol=1e-4)


@pytest.fixture(scope="module")
def tiny_ranking(ml100k):
    run, _ = runs.train_or_load(TINY, ml100k)
    return run


def test_a_ranking_run_saves_reloads_predicts_and_is_reused(tiny_ranking, ml100k):
    run = tiny_ranking
    assert run.kind == "ranking" and "RMSE" in run.label()
    assert run.metrics["model"]["test"]["rmse"] < run.metrics["global_mean"]["test"]["rmse"]
    again, reused = runs.train_or_load(TINY, ml100k)
    assert reused and again.run_id == run.run_id
    loaded = runs.load(run.run_id)
    users, movies = loaded.vectors_for(ml100k)
    assert users.shape == (len(ml100k.user_ids), 8) and movies.shape == (len(ml100k.titles), 8)
    candidates = np.arange(0, len(ml100k.titles), 7)
    stars = loaded.ranker().predict(41, candidates)
    assert stars.shape == candidates.shape and np.isfinite(stars).all()
    np.testing.assert_array_equal(stars, run.ranker().predict(41, candidates))
    # the test RMSE stored with the run is what the saved arrays predict
    p = prepared.prepare(ml100k, TINY)
    pairs = loaded.ranker().predict_pairs(p.test_users, p.test_movies)
    assert rating_eval.rmse(p.test_ratings, pairs) == pytest.approx(run.metrics["model"]["test"]["rmse"], abs=1e-6)
    with pytest.raises(UserError, match="user index"):
        loaded.ranker().predict(len(ml100k.user_ids), candidates)
    # a ranking run is its own kind: not among retrieval runs, and its id differs from the same-named retrieval one
    assert run.run_id not in {r.run_id for r in runs.list_runs()}
    assert run.run_id in {r.run_id for r in runs.list_runs(kind="ranking")}


def test_the_presets_are_the_tutorial_and_ours():
    assert RANKING_PRESETS["TFRS tutorial"] == RankingConfig()
    t = RANKING_TUTORIAL
    assert (t.embedding_dim, t.layers, t.optimizer, t.learning_rate, t.batch_size, t.epochs) == \
        (32, (256, 64), "adagrad", 0.1, 8192, 3)
    assert RANKING_PRESETS["Our best"] is RANKING_BEST and RANKING_BEST.validate() is RANKING_BEST


# --------------------------------------------------------------------------- command line, worker


def test_cli_train_ranking_runs_and_errors(tiny_ranking, capsys):
    assert cli.main(["train-ranking", *TINY_FLAGS, "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reused"] and out["run_id"] == tiny_ranking.run_id and out["kind"] == "ranking"
    assert {"model", "global_mean", "biases"} <= set(out["metrics"]) and out["references"]
    assert cli.main(["train-ranking", *TINY_FLAGS]) == 0
    text = capsys.readouterr().out
    assert "global mean" in text and "user/movie biases" in text and "SVD++" in text
    assert cli.main(["runs", "--kind", "ranking", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert tiny_ranking.run_id in {r["run_id"] for r in listed} and {r["kind"] for r in listed} == {"ranking"}
    assert cli.main(["runs", "--kind", "ranking"]) == 0
    assert "RMSE" in capsys.readouterr().out
    for bad, message in ((["--dropout", "2"], "dropout must be between 0.0 and 0.9"),
                         (["--layers", "a,b"], "invalid layers value"), (["--preset", "nope"], "invalid choice")):
        assert cli.main(["train-ranking", *bad]) == 2, bad
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
