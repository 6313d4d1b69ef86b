"""The engine on the real ML-100k: training, exact evaluation, popularity, indexes, runs, CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from recsys.bench import speed as bench
from recsys.evaluation import baselines, topk
from recsys.serving import index
from recsys.store import runs
from recsys.data import prepared
from recsys.training import train
from recsys.config import KS, TUTORIAL, TrainConfig
from recsys.errors import UserError
from tests.helpers import TINY
from recsys.serving.recommend import Recommender, side_by_side



@pytest.fixture(scope="module")
def tutorial_run(ml100k):
    run, _ = runs.train_or_load(TUTORIAL, ml100k)
    return run


def test_tutorial_preset_matches_the_tutorial(tutorial_run):
    m = tutorial_run.metrics
    assert 0.20 <= m["model"]["test"]["top_100"] <= 0.27  # the tutorial reports about 0.23
    assert len(tutorial_run.history) == 3
    for rec in tutorial_run.history:  # evaluation after every epoch, both variants
        for variant in ("test", "test_filtered"):
            vals = [rec[variant][f"top_{k}"] for k in KS]
            assert all(0 <= v <= 1 for v in vals) and vals == sorted(vals)
    # Removing movies the user already rated can only move the true movie up.
    for k in KS:
        assert m["model"]["test_filtered"][f"top_{k}"] >= m["model"]["test"][f"top_{k}"]
    # The popularity baseline beats the tutorial model: the lesson of issue "beat popularity".
    assert m["popularity"]["test"]["top_100"] > m["model"]["test"]["top_100"]


def test_evaluator_agrees_with_factorized_top_k(tutorial_run, ml100k):
    p = prepared.prepare(ml100k, tutorial_run.config)
    u, m = tutorial_run.vectors
    ref = bench.factorized_top_k(u, m, p.test_users, p.test_movies)
    ours = topk.accuracy_at(topk.ranks(u, m, p.test_users, p.test_movies))
    for k in KS:
        assert abs(ref[f"top_{k}"] - ours[f"top_{k}"]) <= 0.002, (k, ref, ours)
    assert ours == tutorial_run.metrics["model"]["test"]


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
        mine = [x for x in order if x == m or not p.seen[u, x]][:10]
        hits += m in mine
    filtered = topk.accuracy_at(topk.ranks(np.ones((len(ml100k.user_ids), 1)),
                                                   baselines.popularity_scores(p.train_movies, len(counts))[:, None],
                                                   p.test_users[sample], p.test_movies[sample], p.seen,
                                                   dtype=np.float64))
    assert filtered["top_10"] == pytest.approx(hits / len(sample))


def test_seeded_runs_are_reproducible(ml100k):
    a = train.fit(TINY, ml100k)
    b = train.fit(TINY, ml100k)
    for k in KS:
        assert abs(a.metrics["model"]["test"][f"top_{k}"] - b.metrics["model"]["test"][f"top_{k}"]) <= 0.002
    c = train.fit(TINY.with_(seed=7), ml100k)
    assert not np.allclose(a.movie_vectors, c.movie_vectors)


def test_callbacks_see_every_batch_and_epoch(ml100k):
    seen = {"batches": [], "epochs": []}

    class Spy(train.Callback):
        def on_batch(self, epoch, step, steps, loss):
            seen["batches"].append((epoch, step, steps))
            assert np.isfinite(loss)

        def on_epoch(self, record):
            seen["epochs"].append(record["epoch"])

    train.fit(TINY.with_(epochs=2), ml100k, Spy())
    assert seen["epochs"] == [1, 2]
    assert seen["batches"][-1] == (2, 20, 20)  # 80,000 ratings / 4,096 per batch = 20 steps


def test_adam_and_popularity_correction_train(ml100k):
    r = train.fit(TINY.with_(optimizer="adam", learning_rate=0.01, popularity_correction=True), ml100k)
    assert all(0 <= v <= 1 for v in r.metrics["model"]["test"].values())


def test_config_validation():
    with pytest.raises(UserError, match="embedding_dim must be between 8 and 1024"):
        TUTORIAL.with_(embedding_dim=4).validate()
    with pytest.raises(UserError, match="optimizer"):
        TUTORIAL.with_(optimizer="sgd").validate()
    assert TrainConfig.from_dict(TUTORIAL.to_dict()) == TUTORIAL
    from recsys.store import runs

    tag = "ml-100k/packaged"
    assert runs.run_id(TUTORIAL, tag) == runs.run_id(TrainConfig(), tag) != runs.run_id(TINY, tag)


# ----------------------------------------------------------------------------- indexes


def test_scann_defaults_recall_on_trained_catalog(tutorial_run, ml100k):
    users, movies = tutorial_run.vectors
    assert len(movies) == 1_664
    bf = index.build_bruteforce(movies)
    sc = index.build_scann(movies)  # default_scann_params(1664)
    _, exact = bf(users, k=10)
    _, approx = sc(users, k=10)
    assert index.recall(approx.numpy(), exact.numpy()) >= 0.95


def test_recall_hand_made():
    assert index.recall(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 2, 9], [7, 8, 9]])) == pytest.approx(2 / 6)


def test_scann_params_validation():
    with pytest.raises(UserError, match="num_leaves must be between 1 and the catalog size 100"):
        index.ScannParams(num_leaves=500).validate(100)
    with pytest.raises(UserError, match="num_leaves_to_search"):
        index.ScannParams(num_leaves=10, num_leaves_to_search=20).validate(100)


def test_recommend_per_user_and_per_movie(tutorial_run, ml100k):
    rec = Recommender(tutorial_run, ml100k)
    comp = rec.for_user("42", k=10)
    assert len(comp.bruteforce) == len(comp.scann) == 10
    assert 0.0 <= comp.overlap <= 1.0 and comp.latency_ms["bruteforce"] > 0 and comp.latency_ms["scann"] > 0
    users, movies = tutorial_run.vectors
    u = rec.user_index("42")
    exact = np.argsort(-(movies @ users[u]), kind="stable")[:10]
    assert [r["movie_idx"] for r in comp.bruteforce] == exact.tolist()
    scores = [r["score"] for r in comp.bruteforce]
    assert scores == sorted(scores, reverse=True)

    filtered = rec.for_user("42", k=10, exclude_seen=True)
    seen = set(rec.seen(u).tolist())
    assert len(filtered.bruteforce) == 10 and not seen & {r["movie_idx"] for r in filtered.bruteforce}
    assert not seen & {r["movie_idx"] for r in filtered.scann}

    star = rec.for_movie("Star Wars (1977)", k=5)
    assert len(star.bruteforce) == len(star.scann) == 5
    assert "Star Wars (1977)" not in [r["movie_title"] for r in star.bruteforce + star.scann]
    left, right = side_by_side(star)
    assert list(left.columns) == ["rank", "movie_title", "genres", "score", "only_here"]

    with pytest.raises(UserError, match="unknown user"):
        rec.for_user("99999")
    with pytest.raises(UserError, match="unknown movie title"):
        rec.for_movie("Star Wars")
    with pytest.raises(UserError, match="k must be between"):
        rec.for_user("42", k=0)


def test_profiles_seen_movies_and_kept_answers_match_a_direct_computation(tutorial_run, ml100k):
    """What the Recommend page shows for a user (profile, favourites, the lists) is the same whether it comes
    from the grouped lookups and memories or straight from the ratings, for users with few and many ratings."""
    rec = Recommender(tutorial_run, ml100k)
    r = ml100k.ratings
    counts = r.groupby("user_idx").size()
    for u in (int(counts.idxmin()), int(counts.idxmax()), 0, 41):
        user_id = ml100k.user_ids[u]
        mine = r[r["user_idx"] == u]
        prof = rec.profile(user_id)
        assert prof["ratings"] == len(mine) == counts[u]
        assert (prof["age"], prof["gender"], prof["occupation"]) == (
            int(mine.user_age.iloc[0]), mine.user_gender.iloc[0], mine.user_occupation.iloc[0])
        top = prof["top_rated"]
        assert len(top) == min(10, len(mine))
        assert top["user_rating"].tolist() == sorted(mine["user_rating"], reverse=True)[:len(top)]
        for title, stars, genres in top.itertuples(index=False):  # each a rating of this user, genres as shown
            row = mine[mine["movie_title"] == title].iloc[0]
            assert row.user_rating == stars and row.movie_genres.replace("|", ", ") == genres
        assert rec.seen(u).tolist() == sorted(set(mine["title_idx"]))

    # The heaviest users: ScaNN re-scores only 100 candidates, most of which they rated. What it returns is never
    # a movie they rated (the list may be shorter than k); BruteForce still finds k.
    for u in counts.sort_values().index[-15:]:
        comp = rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True)
        seen = set(rec.seen(u).tolist())
        assert len(comp.bruteforce) == 10 and not seen & {x["movie_idx"] for x in comp.bruteforce}
        assert len(comp.scann) <= 10 and not seen & {x["movie_idx"] for x in comp.scann}

    rec.warm(k=10)  # traces every shape a page can ask at k=10 (and times nothing: serving/latency.py)
    users, movies = tutorial_run.vectors
    for u in (5, 300, int(counts.idxmax())):
        comp = rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True)
        scores = movies @ users[u]
        scores[rec.seen(u)] = -np.inf
        assert [x["movie_idx"] for x in comp.bruteforce] == np.argsort(-scores, kind="stable")[:10].tolist()
        assert rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True) is comp  # kept, not recomputed
        shape = index.query_shape(rec.bruteforce, 10, rec.seen(u))
        assert comp.timing()["bruteforce"].bursts == rec.latency.bursts(("bruteforce", *shape))  # one per shape


# ----------------------------------------------------------------------------- runs and CLI


def test_runs_saved_listed_and_reused(ml100k, tmp_path):
    run, reused = runs.train_or_load(TINY, ml100k, root=tmp_path)
    assert not reused and (run.path / "run.json").exists() and (run.path / "vectors.npz").exists()
    again, reused = runs.train_or_load(TINY, ml100k, root=tmp_path)
    assert reused and again.run_id == run.run_id and again.metrics == run.metrics
    assert [r.run_id for r in runs.list_runs(tmp_path)] == [run.run_id]
    assert not list(tmp_path.glob(".tmp-*"))
    meta = json.loads((run.path / "run.json").read_text())
    assert {"config", "history", "metrics", "versions", "seconds"} <= set(meta)
    assert meta["versions"]["tensorflow"] == "2.20.0"


def _cli(*args):
    """A real `python -m recsys` process (what a user runs)."""
    return subprocess.run([sys.executable, "-m", "recsys", *args], capture_output=True, text=True, timeout=300)


def test_cli_train_recommend_runs_json(tiny_run, cli):
    out = cli("train", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "4096", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["run_id"] == tiny_run.run_id and d["reused"] is True
    assert set(d["metrics"]["model"]["test"]) == {f"top_{k}" for k in KS}
    assert set(d["metrics"]["popularity"]) == {"test", "test_filtered"}
    assert {"run_dir", "config", "history", "seconds"} <= set(d)

    out = _cli("recommend", "--run", tiny_run.run_id, "--user", "42", "--k", "5", "--json")  # a real process
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert len(d["bruteforce"]) == len(d["scann"]) == 5 and 0 <= d["overlap"] <= 1
    assert set(d["bruteforce"][0]) >= {"movie_title", "score"} and set(d["latency_ms"]) == {"bruteforce", "scann"}

    out = cli("recommend", "--run", tiny_run.run_id, "--movie", "Star Wars (1977)", "--index", "scann", "--json")
    d = json.loads(out.stdout)
    assert len(d["scann"]) == 10 and "bruteforce" not in d

    out = cli("runs", "--json")
    assert tiny_run.run_id in [r["run_id"] for r in json.loads(out.stdout)]


@pytest.mark.parametrize("args, message", [
    (["recommend", "--run", "nope", "--user", "1"], "no saved run 'nope'"),
    (["train", "--embedding-dim", "9999"], "embedding_dim must be between 8 and 1024"),
    (["train", "--epochs", "three"], "invalid int value"),
    (["recommend", "--run", "x"], "give exactly one of --user ID, --movie TITLE or --likes"),
])
def test_cli_errors_are_one_line_exit_2(args, message, tiny_run, cli):
    out = cli(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cli_unknown_user_and_movie(tiny_run, cli):
    out = _cli("recommend", "--run", tiny_run.run_id, "--user", "0")  # a real process: no traceback
    assert out.returncode == 2 and "unknown user '0'" in out.stderr and "Traceback" not in out.stderr
    out = cli("recommend", "--run", tiny_run.run_id, "--movie", "Star Wars")
    assert out.returncode == 2 and "unknown movie title" in out.stderr


def test_bench_eval_agrees(ml100k):
    out = bench.bench_eval(TINY)
    assert out["max_abs_diff"] <= 0.002
    assert {"factorized_top_k_seconds", "ours_seconds", "speedup", "max_abs_diff"} <= set(out)
