"""The split's arrays: ``prepare(ds, config)`` -> ``TrainingData``, what every model of a split trains and is scored on.

A split is a list of row numbers (``movielens.split``); training code wants integer arrays:
users, movies, times and stars of the fitted rows, the validation slice and the test rows,
and which movies each user rated (``seen``, sparse). They depend on the data and the split
only (dataset, split, share, seed, validation slice), never on the model, so they are built
once per split and shared by every run on it: a sweep, the report's seeds, the app.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from recsys.data import movielens


@lru_cache(maxsize=4)
def load_dataset(variant: str = "100k") -> movielens.Dataset:
    """The default dataset (auto source), loaded once per process (the CLI, a worker, the tests)."""
    return movielens.load(variant=variant)


@dataclass(eq=False)
class TrainingData:
    """Integer arrays of one split and its seen-matrix: model-independent.

    Hashed by identity, so what is derived from it (the popularity baseline,
    ``evaluation.baselines.popularity_of``; the item-to-item queries) is cached per split.
    """

    ds: movielens.Dataset
    train_users: np.ndarray
    train_movies: np.ndarray
    train_times: np.ndarray    # when each training rating was given (item-to-item queries: the last one)
    fit_users: np.ndarray      # training rows actually fitted (train minus the validation slice)
    fit_movies: np.ndarray
    fit_times: np.ndarray
    val_users: np.ndarray
    val_movies: np.ndarray
    val_times: np.ndarray
    test_users: np.ndarray
    test_movies: np.ndarray
    test_times: np.ndarray
    seen: object               # [U, C] sparse bool (seen_matrix): movies each user rated in training
    fit_seen: object
    candidate_probability: np.ndarray  # P(movie) among training rows, for log-Q correction
    train_ratings: np.ndarray  # the stars (1-5) of each row above, float32: what a ranking run predicts
    fit_ratings: np.ndarray
    val_ratings: np.ndarray
    test_ratings: np.ndarray


def prepare(ds: movielens.Dataset, config) -> TrainingData:
    """The arrays ``config`` (any kind's settings: its split and validation slice) trains and is scored on."""
    return _prepared(ds, config.split, config.split_fraction, config.seed, config.validation_fraction)


@lru_cache(maxsize=8)  # a Dataset hashes by identity: one entry per loaded dataset and split
def _prepared(ds, split: str, split_fraction: float, seed: int, validation_fraction: float) -> TrainingData:
    sp = movielens.split(ds, split, split_fraction, seed)
    users = ds.ratings["user_idx"].to_numpy()
    movies = ds.ratings["title_idx"].to_numpy()
    n_users, n_movies = len(ds.user_ids), len(ds.titles)
    tr, te = sp.train, sp.test
    n_val = int(round(len(tr) * validation_fraction))
    fit, val = (tr[:len(tr) - n_val], tr[len(tr) - n_val:]) if n_val else (tr, tr[:0])
    seen = seen_matrix(n_users, n_movies, users[tr], movies[tr])
    fit_seen = seen_matrix(n_users, n_movies, users[fit], movies[fit]) if n_val else seen
    counts = np.bincount(movies[fit], minlength=n_movies).astype(np.float64)
    times = ds.ratings["timestamp"].to_numpy()
    stars = ds.ratings["user_rating"].to_numpy(np.float32)
    return TrainingData(
        ds=ds, train_users=users[tr], train_movies=movies[tr], train_times=times[tr],
        fit_users=users[fit], fit_movies=movies[fit], fit_times=times[fit],
        val_users=users[val], val_movies=movies[val], val_times=times[val],
        test_users=users[te], test_movies=movies[te], test_times=times[te], seen=seen, fit_seen=fit_seen,
        candidate_probability=(counts / counts.sum()).astype(np.float32),
        train_ratings=stars[tr], fit_ratings=stars[fit], val_ratings=stars[val], test_ratings=stars[te],
    )


def seen_matrix(n_users: int, n_movies: int, users: np.ndarray, movies: np.ndarray):
    """[U, C] sparse boolean (CSR): True where the user rated the movie (in the given pairs).

    Sparse because a dense users x movies matrix grows with the *product* of the two
    (162k x 59k = 10 GB for MovieLens 25M) while the ratings grow only with their number.
    ``seen[u, m]`` and ``seen[user_rows]`` (rows as CSR) work as on a dense array.
    """
    import scipy.sparse

    users = np.asarray(users, dtype=np.int64)
    movies = np.asarray(movies, dtype=np.int64)
    seen = scipy.sparse.csr_array((np.ones(len(users), dtype=bool), (users, movies)), shape=(n_users, n_movies))
    seen.sum_duplicates()  # one entry per (user, movie), sorted: rows are sets
    return seen
