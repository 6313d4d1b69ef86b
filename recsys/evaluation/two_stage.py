"""Retrieval, then ranking, measured: NDCG@10 of both lists and the recall@N that bounds the second.

A two-stage recommender first **retrieves** N candidates out of the whole catalog (the two
towers: one dot product per movie, cheap enough for millions), then **ranks** only those N
with a model that may cost much more per movie (here a ranking run: an MLP predicting stars).
Two numbers say whether the second stage pays:

- **recall@N** of stage 1: of the held-out ratings, the share whose movie is among the user's N
  retrieved candidates (seen movies left out, as on the page). Stage 2 only reorders those N,
  so a movie retrieval missed stays missed: recall@N bounds what ranking can ever find. (Unlike
  the top-K evaluator, which never removes the held-out movie, a held-out title the user also
  rated in training is left out here as on the page: 93 of ML-100k's 20,000 test ratings.)
- **NDCG@10** of each final list, graded by the held-out stars. A movie at position i
  (1-based) that the user rated r stars in the test set gains 2^r - 1 (a 5-star film counts 31,
  a 1-star one 1, a movie they did not rate 0), discounted by log2(i + 1):

      DCG@10  = sum_i (2^r_i - 1) / log2(i + 1)
      NDCG@10 = DCG@10 / IDCG@10,   IDCG@10: the DCG of the user's own test movies sorted by stars

  so 1 means "the ten best-rated held-out movies, best first". The mean is over users with at
  least one test rating. Retrieval's list is its top 10; the re-ranked list is the 10 of the N
  candidates with the highest predicted stars.

Retrieval was trained to tell *watched* from *not watched*; a rating model was trained to tell
5 stars from 2 among watched movies. Re-ranking by stars alone can therefore lower NDCG when it
pushes up movies the user would rate highly but is unlikely to watch (on ML-100k it halves it).
So stage 2 may also **blend** the two signals: with a weight a in [0, 1],

    score_c = (1 - a) * z(stars_c) + a * z(retrieval score_c)

where z standardises each signal over the user's N candidates (mean 0, spread 1), so that the
weight, not the units, decides. a = 0 is the tutorial's re-rank by stars, a = 1 keeps stage 1's
order. ``evaluate`` scores every a of ``MIXES``; the curve is measured on the test ratings, so
reading its best a off it would be tuning on test: it is there to be looked at.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.evaluation.topk import top_k

K = 10
MIXES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # blends of stars and retrieval score scored by ``evaluate``


def gains_matrix(n_users: int, n_movies: int, users: np.ndarray, movies: np.ndarray, stars: np.ndarray):
    """[U, C] sparse matrix of test gains 2^stars - 1 (the highest, if a user rated one title twice)."""
    g = 2.0 ** np.asarray(stars, np.float64) - 1.0
    order = np.lexsort((g, movies, users))  # by user, then title, then gain: the last of each pair is its max
    u, m, g = np.asarray(users)[order], np.asarray(movies)[order], g[order]
    last = np.ones(len(u), bool)
    last[:-1] = (u[1:] != u[:-1]) | (m[1:] != m[:-1])
    return sp.csr_matrix((g[last], (u[last], m[last])), shape=(n_users, n_movies))


def discounts(k: int) -> np.ndarray:
    """1 / log2(i + 1) for positions i = 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2))


def ideal_dcg(gains, k: int = K) -> np.ndarray:
    """Per user, the DCG@k of their own test movies sorted by gain (0 for users with none)."""
    out = np.zeros(gains.shape[0])
    d = discounts(k)
    for u in range(gains.shape[0]):
        row = gains.data[gains.indptr[u]:gains.indptr[u + 1]]
        if len(row):
            top = np.sort(row)[::-1][:k]
            out[u] = float(top @ d[:len(top)])
    return out


def ndcg(lists: np.ndarray, gains, k: int = K, ideal: np.ndarray | None = None) -> float:
    """Mean NDCG@k of ranked lists ``[U, >= k]`` of movie ids (row u: user u), over users with test ratings."""
    lists = np.asarray(lists)[:, :k]
    ideal = ideal_dcg(gains, k) if ideal is None else ideal
    rows = np.repeat(np.arange(lists.shape[0]), lists.shape[1])
    got = np.asarray(gains[rows, lists.ravel()]).reshape(lists.shape)
    dcg = got @ discounts(lists.shape[1])
    has = ideal > 0
    return float(np.mean(dcg[has] / ideal[has])) if has.any() else 0.0


def standardised(x: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its spread (a row of equal values becomes zeros)."""
    x = np.asarray(x, np.float64)
    return (x - x.mean(axis=-1, keepdims=True)) / (x.std(axis=-1, keepdims=True) + 1e-12)


def blended(stars: np.ndarray, retrieval: np.ndarray, mix: float) -> np.ndarray:
    """Stage 2's score of each candidate: (1 - mix) * z(stars) + mix * z(retrieval score), per row."""
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be between 0 and 1, got {mix}")
    if mix == 0.0:  # exactly the stars' order (no rounding from the standardisation)
        return np.asarray(stars, np.float64)
    return (1.0 - mix) * standardised(stars) + mix * standardised(retrieval)


def candidates_of(user_vectors: np.ndarray, movie_vectors: np.ndarray, predict_pairs, seen, n: int,
                  users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``users``: their N candidates in retrieval order, the retrieval scores, the predicted stars.

    ``seen`` is the [U, C] sparse matrix of training ratings (left out).
    """
    scores = user_vectors[users] @ movie_vectors.T
    rated = seen[users].tocoo()
    scores[rated.row, rated.col] = -np.inf
    candidates = top_k(scores, n)                                                 # retrieval order
    retrieval = np.take_along_axis(scores, candidates, axis=1)
    stars = np.asarray(predict_pairs(np.repeat(users, n), candidates.ravel()), np.float64).reshape(len(users), n)
    return candidates, retrieval, stars


def reorder(candidates: np.ndarray, retrieval: np.ndarray, stars: np.ndarray, mix: float = 0.0) -> np.ndarray:
    """The candidates sorted by stage 2's score (``blended``); ties keep the retrieval order."""
    return np.take_along_axis(candidates, np.argsort(-blended(stars, retrieval, mix), axis=-1, kind="stable"),
                              axis=-1)


def evaluate(user_vectors: np.ndarray, movie_vectors: np.ndarray, predict_pairs, data, n: int = 100,
             k: int = K, chunk: int = 1024, mixes=MIXES) -> dict:
    """Both stages for every test user of ``data`` (a ``data.prepared.TrainingData``), seen movies left out.

    ``predict_pairs(users, movies) -> stars`` is the ranking run's prediction for aligned arrays.
    Returns NDCG@k of the retrieval list, of the list re-ranked by stars and of each blend in
    ``mixes`` (``"mix"``: {"0.7": ...}), and recall@n of retrieval. Users are scored ``chunk`` at
    a time (the score matrix of a chunk is chunk x catalog).
    """
    n_users, n_movies = len(user_vectors), len(movie_vectors)
    if not k <= n <= n_movies:
        raise ValueError(f"need k <= n <= catalog size, got k={k}, n={n}, catalog {n_movies}")
    gains = gains_matrix(n_users, n_movies, data.test_users, data.test_movies, data.test_ratings)
    ideal = ideal_dcg(gains, k)
    retrieved = np.zeros((n_users, k), np.int64)
    mixed = {float(a): np.zeros((n_users, k), np.int64) for a in (0.0, *mixes)}
    found = np.zeros(len(data.test_users), bool)
    test_keys = data.test_users.astype(np.int64) * n_movies + data.test_movies
    for start in range(0, n_users, chunk):
        users = np.arange(start, min(start + chunk, n_users))
        candidates, retrieval, stars = candidates_of(user_vectors, movie_vectors, predict_pairs, data.seen, n, users)
        retrieved[users] = candidates[:, :k]
        for a, out in mixed.items():
            out[users] = reorder(candidates, retrieval, stars, a)[:, :k]
        found |= np.isin(test_keys, (users[:, None].astype(np.int64) * n_movies + candidates).ravel())
    return {"n": int(n), "k": int(k), "users": int((ideal > 0).sum()),
            "ndcg": {"retrieval": ndcg(retrieved, gains, k, ideal), "reranked": ndcg(mixed[0.0], gains, k, ideal)},
            "mix": {f"{a:g}": ndcg(lists, gains, k, ideal) for a, lists in mixed.items()},
            "recall_at_n": float(found.mean()) if len(found) else 0.0}
