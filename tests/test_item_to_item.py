"""Item-to-item ("movies like this"): the held-out measure, the similarity every page uses, the item-to-item model.

Real ML-100k, real training (small configs). The property checked on the neighbours is
generic, no title hard-coded: for the 100 most-rated movies, the neighbours are not the same
few titles for every query, they share raters with the query (item-kNN's cosine of the two
rater sets) more than the popularity list does, and the held-out hit rate beats the
popularity list's. The folded movie bias made every famous movie's neighbours the same
rarely rated titles; these tests fail on that.
"""
import json

import numpy as np
import pytest
import scipy.sparse

from recsys import cli
from recsys.config import ID_TOWER, ITEM_DEFAULT, TUTORIAL
from recsys.evaluation import item_to_item as i2i
from recsys.store import runs
from recsys.training import item_to_item as fit_i2i
from recsys.data import prepared
from recsys.training import train
from tests import shared_runs

SMALL = TUTORIAL.with_(embedding_dim=16, epochs=3, batch_size=4096)  # a small, trained config
LEVERS = {"plain": {}, "movie_bias": dict(movie_bias=True),
          "bias_and_log_q": dict(movie_bias=True, popularity_correction=True),
          "features": dict(user_features=True, movie_features=True), "user_history": dict(user_history=True),
          "id_dropout": dict(movie_bias=True, user_id_dropout=0.5)}


# --------------------------------------------------------------------------- the measure, by hand


def test_queries_take_the_previous_training_rating_and_hit_rate_counts_by_hand():
    # user 0 rated movies 1 (t=10), 2 (t=20) in training; test: movie 3 at t=15 and movie 4 at t=30.
    # user 1 rated movie 2 (t=50) in training; test: movie 1 at t=5 (before all: the earliest is used).
    # user 2 has no training rating: no query.
    q = i2i.queries(np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([10, 20, 50]),
                    np.array([0, 0, 1, 2]), np.array([3, 4, 1, 0]), np.array([15, 30, 5, 7]))
    assert q.movies.tolist() == [1, 2, 2] and q.targets.tolist() == [3, 4, 1]
    # similarity: movie 1's best neighbour is 3; movie 2's is 0, then 1, then 4
    sim = np.zeros((5, 5))
    sim[1, 3], sim[2, 0], sim[2, 1], sim[2, 4] = 0.9, 0.8, 0.7, 0.6
    hits = i2i.hit_rate(lambda movies: sim[movies], q, popularity=np.zeros(5), ks=(1, 2, 3))
    assert hits == {"hit_1": 1 / 3, "hit_2": 2 / 3, "hit_3": 1.0}
    # ties are broken toward the popular movie, and a query is never its own neighbour
    top = i2i.top_k(np.ones((1, 4)), np.array([0]), 2, popularity=np.array([9, 1, 5, 3]))
    assert top.tolist() == [[2, 3]]


def test_itemknn_is_the_cosine_of_the_rater_sets():
    users, movies = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 1])
    scores = i2i.itemknn_scores(3, 3, users, movies)(np.array([0, 1]))
    x = scipy.sparse.csr_array((np.ones(5), (users, movies)), shape=(3, 3)).toarray()
    norms = np.linalg.norm(x, axis=0)
    expected = (x.T @ x)[[0, 1]] / np.maximum(norms[[0, 1]][:, None] * norms[None, :], 1e-12)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


# --------------------------------------------------------------------------- neighbours on real data


def neighbour_quality(space: np.ndarray, p, n_queries: int = 100) -> dict:
    """Distinct neighbours and rater overlap for the most-rated movies, for ``space`` and the popularity list."""
    n = len(p.ds.titles)
    pop = np.bincount(p.train_movies, minlength=n)
    famous = np.argsort(-pop)[:n_queries]
    knn = i2i.itemknn_scores(len(p.ds.user_ids), n, p.train_users, p.train_movies)(famous)
    out = {}
    for name, fn in (("model", i2i.embedding_scores(space)), ("popularity", i2i.popularity_scores(n, p.train_movies))):
        top = i2i.top_k(fn(famous), famous, 10, pop)
        out[name] = {"distinct": len(np.unique(top)), "shared_raters": float(np.take_along_axis(knn, top, 1).mean())}
    return out


def check_meaningful(result, ds, what: str) -> None:
    p = prepared.prepare(ds, result.config)
    space = i2i.similarity_space(result.movie_vectors, result.config.movie_bias)
    q = neighbour_quality(space, p)
    assert q["model"]["distinct"] >= 200, (what, q)  # not the same few titles for every famous movie
    assert q["model"]["shared_raters"] > q["popularity"]["shared_raters"], (what, q)
    m = result.metrics["item_to_item"]
    assert m["two_tower"]["hit_10"] > m["popularity"]["hit_10"], (what, m)
    return q


@pytest.mark.slow
@pytest.mark.parametrize("lever", list(LEVERS))
def test_every_lever_keeps_item_to_item_meaningful(ml100k, lever):
    result = train.fit(SMALL.with_(**LEVERS[lever]), ml100k)
    check_meaningful(result, ml100k, lever)
    if result.config.movie_bias:  # the bug: with the bias column folded in, every famous movie got the same few
        p = prepared.prepare(ml100k, result.config)
        raw = neighbour_quality(result.movie_vectors, p)  # the dot product of the vectors as saved
        assert raw["model"]["distinct"] < 100, raw


@pytest.mark.slow
def test_the_id_tower_preset_has_meaningful_neighbours_and_cosine_beats_the_dot_product(ml100k):
    result = train.fit(ID_TOWER, ml100k)
    check_meaningful(result, ml100k, "Id tower")
    p = prepared.prepare(ml100k, ID_TOWER)
    q, _ = i2i.held_out(p)
    pop = np.bincount(p.train_movies, minlength=len(ml100k.titles))
    tower = i2i.without_bias(result.movie_vectors, True)
    dot = i2i.hit_rate(i2i.embedding_scores(tower), q, pop)["hit_10"]
    assert result.metrics["item_to_item"]["two_tower"]["hit_10"] > dot  # why "movies like this" is cosine


# --------------------------------------------------------------------------- the item-to-item model


def test_pairs_are_consecutive_or_within_a_window_and_never_cross_users():
    users, movies, times = np.array([0, 0, 0, 1, 1]), np.array([5, 6, 7, 8, 9]), np.array([3, 1, 2, 1, 2])
    q, c = fit_i2i.pairs(users, movies, times, "next")
    assert list(zip(q.tolist(), c.tolist())) == [(6, 7), (7, 5), (8, 9)]  # user 0 in time order: 6, 7, 5
    q, c = fit_i2i.pairs(users, movies, times, "window", window=2)
    assert sorted(zip(q.tolist(), c.tolist())) == sorted([(6, 7), (7, 6), (7, 5), (5, 7), (8, 9), (9, 8),
                                                          (6, 5), (5, 6)])


@pytest.fixture(scope="module")
def item_run(ml100k):
    return shared_runs.get(ITEM_DEFAULT.with_(epochs=2), ml100k)  # trained with the code under test, once per run


@pytest.mark.slow
def test_the_item_to_item_model_trains_saves_reloads_and_beats_popularity(item_run, ml100k):
    assert item_run.kind == "item_to_item" and item_run.run_id not in {r.run_id for r in runs.list_runs()}
    assert item_run.run_id in {r.run_id for r in runs.list_runs(kind="item_to_item")}
    again, reused = runs.train_or_load(ITEM_DEFAULT.with_(epochs=2), ml100k)
    assert reused and again.run_id == item_run.run_id
    queries, movies = again.vectors_for(ml100k)
    assert queries.shape == movies.shape == (len(ml100k.titles), ITEM_DEFAULT.embedding_dim)
    m = again.metrics["item_to_item"]
    assert m["item_to_item"]["hit_10"] > m["popularity"]["hit_10"]
    assert m["item_to_item"]["hit_50"] > m["popularity"]["hit_50"]
    assert [r["epoch"] for r in again.history] == [1, 2] and "validation" in again.history[0]
    # the shared tower gives one vector per movie on both sides
    np.testing.assert_allclose(queries, movies)


@pytest.mark.slow
def test_cli_per_movie_models_and_train_item_to_item(tiny_run, item_run, capsys):
    star_wars = ["recommend", "--run", tiny_run.run_id, "--movie", "Star Wars (1977)", "--k", "5", "--json"]
    assert cli.main(star_wars) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["movie_model"] == "two-tower" and set(out["hit_rate"]) == {"hit_1", "hit_5", "hit_10", "hit_50"}
    assert "Star Wars (1977)" not in [r["movie_title"] for r in out["bruteforce"]]
    assert cli.main(star_wars + ["--movie-model", "itemknn"]) == 0
    knn = json.loads(capsys.readouterr().out)
    assert len(knn["itemknn"]) == 5 and knn["hit_rate"]["hit_10"] > 0
    assert cli.main(star_wars + ["--movie-model", "item-to-item"]) == 0  # the newest item run on this split
    item = json.loads(capsys.readouterr().out)
    assert item["item_run"] == item_run.run_id and len(item["bruteforce"]) == 5
    assert cli.main(["train-item-to-item", "--epochs", "2", "--json", "--quiet"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["reused"] and trained["run_id"] == item_run.run_id
    assert set(trained["metrics"]["item_to_item"]) >= {"item_to_item", "popularity", "itemknn", "queries"}
    assert cli.main(["runs", "--kind", "item_to_item", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert item_run.run_id in {r["run_id"] for r in listed} and {r["kind"] for r in listed} == {"item_to_item"}
    assert cli.main(["train", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "4096", "--json", "--quiet"]) == 0
    retrieval = json.loads(capsys.readouterr().out)
    assert set(retrieval["metrics"]["item_to_item"]) >= {"two_tower", "popularity", "itemknn"}


def test_cli_item_to_item_without_a_run_on_the_split_names_the_command(tiny_run, ml100k, capsys):
    other = runs.save(train.fit(tiny_run.config.with_(seed=31), ml100k), ml100k)  # another split (no baselines)
    rc = cli.main(["recommend", "--run", other.run_id, "--movie", "Star Wars (1977)", "--movie-model", "item-to-item"])
    err = capsys.readouterr().err
    assert rc == 2 and "python -m recsys train-item-to-item --split random" in err and "--seed 31" in err


@pytest.mark.slow
def test_pages_train_an_item_to_item_run_and_show_three_answers_per_movie(tiny_run, ml100k):
    from tests.helpers import assert_clean, open_page, run_until, texts

    at = open_page("app_pages/recommend.py", {"mode": "movie", "movie_title": "Toy Story (1995)", "k": "5"},
                   active=tiny_run.run_id)
    assert_clean(at)
    assert "Two-tower movie tower" in texts(at.markdown) and "Item-kNN" in texts(at.markdown)
    shown_before = texts(at.markdown) + texts(at.info)

    at = open_page("app_pages/train.py")
    at.slider(key="i2i_epochs").set_value(1)
    at.number_input(key="i2i_seed").set_value(42).run()
    at.button(key="i2i_train").click().run()
    run_until(at, lambda at: any("saved as run" in s.value or "Loaded a saved run" in s.value
                                 for s in list(at.success) + list(at.info)))
    assert_clean(at)
    assert "Hit rate @10 of the item-to-item model" in texts(at.markdown)
    assert [c for c in at.dataframe[-1].value.columns][:2] == ["method", "hit@1"]

    at = open_page("app_pages/recommend.py", {"mode": "movie", "movie_title": "Toy Story (1995)", "k": "5"},
                   active=tiny_run.run_id)
    assert_clean(at)
    headings = texts(at.markdown)
    for name in ("Two-tower movie tower", "Item-to-item model", "Item-kNN"):
        assert f"**{name}** · hit rate @10" in headings, (name, shown_before)
    answers = at.dataframe[:3]
    assert [len(d.value) for d in answers] == [5, 5, 5]
    assert all("Toy Story (1995)" not in set(d.value["movie_title"]) for d in answers)
    assert "Recommending the 10 most popular movies scores" in texts(at.caption)
    at.radio(key="movie_index_model").set_value("Item-to-item model").run()  # BruteForce vs ScaNN of that model
    assert_clean(at)
    assert [len(d.value) for d in at.dataframe[-2:]] == [5, 5]
