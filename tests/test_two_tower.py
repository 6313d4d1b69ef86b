"""The two-tower model's levers (``recsys/model/two_tower.py``, ``recsys/training/train.py``): each one trains
and changes the training, InBatchSoftmax is the tutorial's loss, validation never reads test.

Real ML-100k, real TensorFlow training with tiny configs (dim 8, 1 epoch, batch 4096).
"""
import math

import numpy as np
import pytest

from recsys import config as cfg
from recsys.experiments import report
from recsys.data import prepared
from recsys.training import train
from recsys.config import KS
from tests.helpers import TINY


LEVERS = {
    "popularity_correction": dict(popularity_correction=True),
    "split_fraction": dict(split_fraction=0.7),
    "validation_fraction": dict(validation_fraction=0.1),
    "l2": dict(l2=0.01),
    "user_features": dict(user_features=True),
    "movie_features": dict(movie_features=True),
    "deep_layers": dict(deep_layers=(16,)),
    "remove_accidental_hits": dict(remove_accidental_hits=True),
    "temperature": dict(temperature=0.5),
    # Hard negatives rank each row of the B x B batch scores, work that grows with B: batches of 1,024 cost a
    # quarter of 4,096's, and the plain config it is measured against trains at the same batch size.
    "num_hard_negatives": dict(num_hard_negatives=64, batch_size=1024),
    "movie_bias": dict(movie_bias=True),
    "user_id_dropout": dict(user_id_dropout=0.3),
    "user_history": dict(user_history=True),
    "full_softmax": dict(full_softmax=True),
    "history_encoder": dict(history_encoder=True),
    "history_dropout": dict(history_encoder=True, history_dropout=0.5),
    "user_id": dict(user_id=False, user_features=True),
    "multinomial": dict(multinomial=True),
}


def _check_metrics(block: dict) -> None:
    assert set(block) == {f"top_{k}" for k in KS}
    values = [block[f"top_{k}"] for k in KS]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values)  # top-K accuracy can only grow with K


@pytest.fixture(scope="module")
def plain(ml100k):
    """The tiny config with every lever off, at a lever's batch size: what each lever is measured against."""
    fits = {}

    def at(batch_size: int):
        if batch_size not in fits:
            fits[batch_size] = train.fit(TINY.with_(batch_size=batch_size), ml100k)
        return fits[batch_size]
    return at


@pytest.mark.slow
@pytest.mark.parametrize("lever", sorted(LEVERS))
def test_each_lever_changes_the_loss_and_the_vectors(ml100k, plain, lever):
    """Pulling one lever trains, logs valid metrics, and really changes the training (not a no-op)."""
    config = TINY.with_(**LEVERS[lever])
    result, base = train.fit(config, ml100k), plain(config.batch_size)
    assert len(result.history) == 1
    record = result.history[0]
    assert math.isfinite(record["loss"]) and record["loss"] > 0
    for key in ("test", "test_filtered") + (("validation", "validation_all") if config.validation_fraction else ()):
        _check_metrics(record[key])
    dim = config.embedding_dim + (1 if config.movie_bias else 0)  # the bias rides along as one more number
    assert result.user_vectors.shape == (len(ml100k.user_ids), dim)
    assert result.movie_vectors.shape == (len(ml100k.titles), dim)
    assert np.isfinite(result.user_vectors).all() and np.isfinite(result.movie_vectors).all()
    same_shape = result.movie_vectors.shape == base.movie_vectors.shape
    loss_moved = not math.isclose(record["loss"], base.history[0]["loss"], rel_tol=1e-6)
    vectors_moved = not same_shape or not (np.allclose(result.user_vectors, base.user_vectors, atol=1e-6)
                                           and np.allclose(result.movie_vectors, base.movie_vectors, atol=1e-6))
    assert loss_moved, f"{lever}: the training loss is the plain config's ({record['loss']:.2f})"
    assert vectors_moved, f"{lever}: the vectors are the plain config's"


def test_the_lever_table_covers_every_lever_the_tutorial_leaves_off():
    """Every lever under "More levers" (not the main settings, not the dataset) is tested above."""
    from recsys.config import LEVERS as REGISTRY

    untested = {n for n, spec in REGISTRY.items() if not spec.main} - set(LEVERS) - {"variant"}  # no other MovieLens here
    assert not untested, untested


@pytest.mark.slow
def test_all_levers_at_once_on_the_temporal_split(ml100k):
    """The id tower's levers together (shrunk to a tiny run), where most test users are strangers."""
    config = cfg.ID_TOWER.with_(embedding_dim=8, epochs=2, batch_size=4096, split="temporal")
    result = train.fit(config, ml100k)
    assert [r["epoch"] for r in result.history] == [1, 2] and result.best_epoch in (1, 2)
    for record in result.history:
        for key in ("test", "test_filtered", "validation", "validation_all"):
            _check_metrics(record[key])
    # Users without a training rating were never updated: their id vectors are still the zero
    # start, so the towers describe them by their features alone (the "stranger" of id dropout).
    p = prepared.prepare(ml100k, config)
    cold = np.setdiff1d(np.arange(len(ml100k.user_ids)), p.fit_users)
    assert len(cold) > 100
    ids = result.model.user_model.id_embedding.embeddings.numpy()
    assert not ids[cold].any() and ids[p.fit_users].any()


# --------------------------------------------------------------------------- exactness


def _batch(seed=0, n_users=40, n_movies=60, rows=300, dim=8):
    """A batch with repeats: ``rows`` (user, movie) pairs over few distinct users and movies."""
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(n_users, dim)).astype(np.float32)
    movies = rng.normal(size=(n_movies, dim)).astype(np.float32)
    user_index = rng.integers(0, n_users, rows).astype(np.int32)
    movie_index = rng.zipf(1.5, rows).astype(np.int32) % n_movies  # popular movies repeat, as in ML-100k
    probability = (np.bincount(movie_index, minlength=n_movies) + 1.0) / (rows + n_movies)
    return users, movies, user_index, movie_index, probability.astype(np.float32)


@pytest.mark.parametrize("temperature", [None, 0.5])
@pytest.mark.parametrize("log_q", [False, True])
@pytest.mark.parametrize("accidental", [False, True])
def test_in_batch_softmax_equals_tfrs_retrieval(temperature, log_q, accidental):
    """Our loss over distinct users x distinct movies == tfrs.tasks.Retrieval on the expanded batch."""
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    from recsys.model.two_tower import InBatchSoftmax

    users, movies, ui, mi, prob = _batch()
    users, movies = tf.Variable(users), tf.Variable(movies)
    ours = InBatchSoftmax(temperature=temperature, remove_accidental_hits=accidental)
    theirs = tfrs.tasks.Retrieval(temperature=temperature, remove_accidental_hits=accidental)
    with tf.GradientTape(persistent=True) as tape:
        a = ours(users, movies, tf.constant(ui), tf.constant(mi), tf.constant(prob) if log_q else None)
        b = theirs(tf.gather(users, ui), tf.gather(movies, mi),
                   candidate_sampling_probability=tf.gather(prob, mi) if log_q else None,
                   candidate_ids=tf.constant(mi) if accidental else None,
                   compute_metrics=False, compute_batch_metrics=False)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4)
    for var in (users, movies):  # the same loss, so the same training steps
        ga, gb = (tf.convert_to_tensor(tape.gradient(x, var)).numpy() for x in (a, b))
        np.testing.assert_allclose(ga, gb, rtol=1e-3, atol=1e-4)


def test_hard_negatives_match_tfrs():
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    from recsys.model.two_tower import InBatchSoftmax

    users, movies, ui, mi, _ = _batch(seed=1)
    a = InBatchSoftmax(num_hard_negatives=10)(users, movies, tf.constant(ui), tf.constant(mi))
    b = tfrs.tasks.Retrieval(num_hard_negatives=10)(tf.gather(users, ui), tf.gather(movies, mi),
                                                     compute_metrics=False, compute_batch_metrics=False)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4)


def test_levers_off_is_the_tutorial():
    """The tutorial preset pulls none of the levers, so our model trains the tutorial's loss."""
    for name in set(LEVERS) - {"split_fraction"}:  # the split is the tutorial's own 80 / 20
        assert getattr(cfg.TUTORIAL, name) in (False, 0, 0.0, (), 1.0), name
    assert cfg.TUTORIAL.split_fraction == 0.8


# --------------------------------------------------------------------------- validation


@pytest.mark.slow
def test_validation_epoch_choice_never_reads_the_test_split(ml100k):
    """Scramble the test ratings' movies: the chosen epoch and vectors must not change.

    Only rows outside training are altered (the split is by position, so it is the same),
    so training and the validation slice are identical; if choosing the epoch looked at
    test, a different test set could change the choice.
    """
    from recsys import data
    from recsys.data import Dataset

    config = TINY.with_(epochs=3, optimizer="adam", learning_rate=0.01, validation_fraction=0.1,
                        popularity_correction=True)
    test_rows = data.split(ml100k, config.split, config.split_fraction, config.seed).test
    ratings = ml100k.ratings.copy()
    col = ratings.columns.get_loc("movie_title")
    rng = np.random.default_rng(0)
    ratings.iloc[test_rows, col] = rng.permutation(ratings["movie_title"].to_numpy()[test_rows])
    scrambled = Dataset(ratings, ml100k.movies.copy(), ml100k.users.copy(), source=ml100k.source, variant="100k")

    a = train.fit(config, ml100k)
    b = train.fit(config, scrambled)
    assert a.history[-1]["test"] != b.history[-1]["test"]  # the test split did change
    assert [r["validation"] for r in a.history] == [r["validation"] for r in b.history]
    assert a.best_epoch == b.best_epoch
    np.testing.assert_array_equal(a.user_vectors, b.user_vectors)
    np.testing.assert_array_equal(a.movie_vectors, b.movie_vectors)


def test_validation_score_uses_only_validation_numbers():
    record = {"test": {"top_10": 1.0, "top_100": 1.0}, "test_filtered": {"top_10": 1.0, "top_100": 1.0},
              "validation": {"top_10": 0.1, "top_100": 0.3}, "validation_all": {"top_10": 0.05, "top_100": 0.2}}
    assert train.validation_score(record) == pytest.approx(0.65)


# --------------------------------------------------------------------------- report


@pytest.mark.slow
def test_report_tables_and_explanation(ml100k):
    rows = report.collect(1, splits=("random",), models={"Tiny": TINY}, ds=ml100k,
                          item_model=cfg.ITEM_DEFAULT.with_(epochs=1))
    assert [r["system"] for r in rows] == ["Tiny", report.POPULARITY, "EASE", "Item-kNN", "iALS", report.ITEM_MODEL]
    movies = report.item_to_item_markdown(rows)
    assert "| Item-to-item model (its towers) |" in movies and "| Tiny (movie tower) |" in movies
    assert "| Item-kNN |" in movies and movies.count("| Popularity") == 1
    summary = report.summarize(rows)
    assert summary["random"]["seeds"] == [42] and set(summary["random"]["wins"]) == {"Tiny"}
    mean, sd = summary["random"]["Tiny"]["test"]["top_100"]
    assert 0 < mean < 1 and sd == 0.0
    text = report.to_markdown(summary, "python -m recsys report --seeds 1", date="2024-01-02")
    assert "`python -m recsys report --seeds 1`" in text and "2024-01-02" in text
    assert "| Popularity | all movies |" in text and "| Tiny | seen removed |" in text
    assert "| EASE | seen removed |" in text and "- Tiny, mean over the seeds: With the movies" in text
    assert "loses to EASE" in text  # a tiny model does; the sentence says so
    why = report.explain(report.facts(ml100k))
    assert "Log-Q" in why and "%" in why
    f = report.facts(ml100k)
    assert 0.5 < f["cold_share"] < 1 and 0 < f["top100_catalog_share"] < f["top100_negative_share"] < 1


def test_ladder_ends_at_our_best():
    steps = report.ladder()
    assert steps[0][2] == cfg.TUTORIAL and steps[-1][2] == cfg.BEST
    assert len({s[2] for s in steps}) == len(steps)  # every step changes something


def test_report_cli_rejects_bad_seed_count(capsys):
    from recsys.cli import main

    assert main(["report", "--seeds", "0"]) == 2
    assert "--seeds must be between 1 and 10" in capsys.readouterr().err


def test_id_dropout_serves_the_id_at_its_training_weight(ml100k):
    """Classic dropout: a known user's id vector counts with weight 1 - p when serving, a stranger stays at zero."""
    import tensorflow as tf

    from recsys.model.two_tower import TwoTowerModel

    config = TINY.with_(user_id_dropout=0.25, movie_bias=True)
    n_users, n_titles = len(ml100k.user_ids), len(ml100k.titles)
    model = TwoTowerModel(config, n_users, n_titles, candidate_probability=np.full(n_titles, 1 / n_titles))
    ids = tf.constant([0, 5, n_users])  # two users and the unknown row
    model.user_model(ids)  # build
    table = np.random.default_rng(0).normal(size=(n_users + 1, 8)).astype(np.float32)
    model.user_model.id_embedding.set_weights([table])
    served = model.user_model(ids, training=False).numpy()
    np.testing.assert_allclose(served, 0.75 * table[[0, 5, n_users]], rtol=1e-6)
    trained = np.stack([model.user_model(ids, training=True).numpy() for _ in range(40)])  # [40, 3, 8]
    kept = np.isclose(trained, table[[0, 5, n_users]][None]).all(axis=2)
    dropped = (trained == 0).all(axis=2)
    assert (kept | dropped).all() and 0.1 < dropped.mean() < 0.45  # each row whole or zero, ~25 % zero


def test_user_history_is_the_mean_of_the_training_movies_leaving_out_the_row(ml100k):
    """Serving adds the mean of h over the user's training movies; training leaves the row's own movie out."""
    import tensorflow as tf

    from recsys.model.two_tower import TwoTowerModel

    config = TINY.with_(user_history=True)
    p = prepared.prepare(ml100k, config)
    n_users, n_titles = len(ml100k.user_ids), len(ml100k.titles)
    model = TwoTowerModel(config, n_users, n_titles, history=p.fit_seen)
    model.vectors(n_users, n_titles)  # build
    h = np.random.default_rng(1).normal(size=(n_titles, 8)).astype(np.float32)
    model.history_embedding.set_weights([h])
    users, _ = model.vectors(n_users, n_titles)
    towers = model.user_model(tf.range(n_users)).numpy()
    seen = p.fit_seen.tocsr()
    user = int(p.fit_users[0])
    movies = seen.indices[seen.indptr[user]:seen.indptr[user + 1]]
    np.testing.assert_allclose(users[user], towers[user] + h[movies].mean(axis=0), rtol=1e-4, atol=1e-5)
    no_history = np.flatnonzero(np.asarray(seen.sum(axis=1)).ravel() == 0)
    if len(no_history):  # a user without training ratings is their tower alone
        np.testing.assert_allclose(users[no_history[0]], towers[no_history[0]], atol=1e-6)
    rows = {"user_idx": tf.constant([user, user]), "title_idx": tf.constant(movies[:2].astype(np.int32))}
    per_row = model._with_history(tf.constant(towers[[user, user]]), tf.constant([user]), tf.constant([0, 0]),
                                  rows, training=False).numpy()
    for i, m in enumerate(movies[:2]):
        others = [c for c in movies if c != m]
        np.testing.assert_allclose(per_row[i], towers[user] + h[others].mean(axis=0), rtol=1e-4, atol=1e-5)


def test_user_history_with_a_strategy_is_a_clear_error(ml100k):
    from recsys.training import distributed
    from recsys.errors import UserError

    with pytest.raises(UserError, match="user_history, history_encoder and multinomial are not supported with --strategy"):
        train.fit(TINY.with_(user_history=True), ml100k, strategy=distributed.make_strategy("mirrored", cpu_devices=1))
