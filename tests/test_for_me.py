"""The history encoder, the multinomial loss and "recommend for me", on the real ML-100k (tiny real trainings)."""
import json

import numpy as np
import pytest

from recsys.errors import UserError
from recsys.model import fold_in
from recsys.serving import for_me
from recsys.serving.recommend import Recommender
from recsys.store import runs
from recsys.data import prepared
from recsys.training import train
from tests.helpers import TINY

# The user tower reads only the history: a visitor's picks and a test user's training movies are the same input.
ENCODER = TINY.with_(history_encoder=True, user_id=False, multinomial=True, history_dropout=0.5, movie_bias=True,
                     embedding_dim=32, epochs=10, optimizer="adam", learning_rate=0.003)


@pytest.fixture(scope="module")
def encoder_run(ml100k):
    run, _ = runs.train_or_load(ENCODER, ml100k)
    return run


@pytest.fixture(scope="module")
def rec(encoder_run, ml100k):
    return Recommender(encoder_run, ml100k)


def test_multinomial_loss_is_the_log_likelihood_of_each_users_movies(ml100k):
    """The loss of one step equals -sum_u sum_{m in H_u} log softmax(s_u)_m, computed by hand from the vectors."""
    import tensorflow as tf

    from recsys.model.two_tower import TwoTowerModel

    config = TINY.with_(multinomial=True, history_encoder=True, movie_bias=True)
    p = prepared.prepare(ml100k, config)
    n_users, n_titles = len(ml100k.user_ids), len(ml100k.titles)
    tf.keras.utils.set_random_seed(0)
    model = TwoTowerModel(config, n_users, n_titles, p.candidate_probability, history=p.fit_seen,
                          serving_history=p.seen)
    users = np.array([0, 5, 41], np.int32)
    loss = float(model.compute_loss({"user_idx": tf.constant(users)}, training=False))
    u, m = model.vectors(n_users, n_titles, serving=False)  # no dropout: the same vectors the step used
    scores = u[users] @ m.T
    log_p = scores - np.log(np.exp(scores - scores.max(1, keepdims=True)).sum(1, keepdims=True)) - \
        scores.max(1, keepdims=True)
    by_hand = -sum(log_p[i, p.fit_seen[[u_]].indices].sum() for i, u_ in enumerate(users))
    assert loss == pytest.approx(by_hand, rel=1e-4)


@pytest.mark.slow
def test_the_encoder_in_numpy_is_the_keras_tower(ml100k, encoder_run):
    """fold_in (NumPy, what serving uses) computes what the Keras tower computes, for every user."""
    result = train.fit(ENCODER.with_(epochs=1), ml100k)
    p = prepared.prepare(ml100k, ENCODER)
    keras_users = result.model.vectors(len(ml100k.user_ids), len(ml100k.titles))[0]
    assert np.abs(fold_in.user_vectors(result.encoder, p.seen) - keras_users).max() < 1e-4
    assert encoder_run.encoder() is not None and set(encoder_run.encoder()) >= {"encoder_w0", "encoder_b0"}


def test_fold_in_of_a_users_training_movies_is_that_users_vector(ml100k, encoder_run, rec):
    """A visitor who picks exactly a test user's training movies is that user: same vector, same list."""
    p = prepared.prepare(ml100k, encoder_run.config)
    users, _ = encoder_run.vectors
    for u in (0, 41, 300, 942):
        movies = p.seen[[u]].indices
        assert np.allclose(for_me.user_vector(encoder_run, ml100k, movies), users[u], atol=1e-5)
    for u in (5, 41):  # the user's own list, their training movies dropped, is the visitor's list
        picks = set(p.seen[[u]].indices)
        mine = for_me.for_likes(rec, [str(ml100k.titles[m]) for m in picks], 10).bruteforce
        theirs = [r for r in rec.for_user(ml100k.user_ids[u], 100).bruteforce if r["movie_idx"] not in picks][:10]
        assert len(theirs) == 10
        assert [r["movie_idx"] for r in mine] == [r["movie_idx"] for r in theirs]
        assert np.allclose([r["score"] for r in mine], [r["score"] for r in theirs], atol=1e-4)


def test_a_picked_movie_is_never_recommended_back(ml100k, rec):
    """Picks are left out of both indexes' lists, however strongly the model would recommend them."""
    for picks in (["Star Wars (1977)", "Return of the Jedi (1983)", "Empire Strikes Back, The (1980)"],
                  ["Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)"]):
        comp = for_me.for_likes(rec, picks, 20)
        for rows in (comp.bruteforce, comp.scann):
            assert rows and not {r["movie_title"] for r in rows} & set(picks)


def test_picks_move_the_list(ml100k, rec):
    """Two tastes, two lists: the fold-in reads the picks (it is not the popularity list for everyone)."""
    a = for_me.for_likes(rec, ["Star Wars (1977)", "Alien (1979)", "Terminator, The (1984)"], 10)
    b = for_me.for_likes(rec, ["Sense and Sensibility (1995)", "Emma (1996)", "Persuasion (1995)"], 10)
    assert len({r["movie_idx"] for r in a.bruteforce} & {r["movie_idx"] for r in b.bruteforce}) <= 5


def test_bad_titles_and_runs_that_cannot_fold_in(ml100k, rec, tiny_run):
    with pytest.raises(UserError, match=r"unknown movie title 'Star Wars 1977'.*did you mean 'Star Wars \(1977\)'"):
        for_me.movie_indices(ml100k, ["Star Wars 1977"])
    with pytest.raises(UserError, match="pick at least one movie"):
        for_me.movie_indices(ml100k, [" "])
    reason = for_me.why_not(tiny_run)
    assert "looks users up by id" in reason and "Our best" in reason


def test_cli_likes(cli, encoder_run, tiny_run):
    out = cli("recommend", "--run", encoder_run.run_id, "--likes", "Star Wars (1977)", "Alien (1979)", "--k", "5",
              "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert sorted(got["query"]["likes"]) == ["Alien (1979)", "Star Wars (1977)"]
    assert len(got["bruteforce"]) == 5
    assert not {r["movie_title"] for r in got["bruteforce"] + got["scann"]} & {"Alien (1979)", "Star Wars (1977)"}
    bad = cli("recommend", "--run", encoder_run.run_id, "--likes", "Star Warz (1977)")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "did you mean 'Star Wars (1977)'" in bad.stderr
    cannot = cli("recommend", "--run", tiny_run.run_id, "--likes", "Star Wars (1977)")
    assert cannot.returncode == 2 and "looks users up by id" in cannot.stderr and cannot.stderr.count("\n") == 1
    both = cli("recommend", "--run", tiny_run.run_id, "--likes", "Star Wars (1977)", "--user", "42")
    assert both.returncode == 2 and "exactly one of" in both.stderr
