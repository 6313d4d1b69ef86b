"""Baselines: what a retrieval model must beat, scored exactly like the model (``topk``).

The popularity baseline recommends the most-rated training movies to everyone. It knows
nothing about the user, yet on MovieLens it beats the TFRS tutorial's model: a few
blockbusters collect most ratings, so "what is popular" is right surprisingly often.
"""
from __future__ import annotations

import numpy as np

from recsys.config import KS
from recsys.evaluation.topk import accuracy_at, is_sparse


def popularity_scores(train_movies: np.ndarray, n_movies: int) -> np.ndarray:
    """Score of each movie in the popularity baseline: its training count, ties broken by id.

    Recommending the most-rated movies to everyone is the baseline every recommender must
    beat. Ties are broken (lower index first) so it is a real ranked list, never credited
    with a tie.
    """
    counts = np.bincount(train_movies, minlength=n_movies).astype(np.float64)
    return counts - np.arange(n_movies) / (n_movies + 1.0)


def popularity(train_movies, test_users, test_movies, seen, n_movies: int, ks=KS) -> dict:
    """The popularity baseline's metrics, both variants, on the same test pairs.

    It is the two-tower evaluation with every user vector equal to [1] and movie vectors
    equal to [popularity score]. Since every user gets the same list, a movie's rank is
    simply the number of movies with a higher score (one sort), and the filtered rank
    subtracts the user's seen movies that score higher: the cost grows with the test
    pairs and the seen lists, not with test pairs x catalog. Equal to ``ranks`` on those
    vectors, pair for pair.
    """
    scores = popularity_scores(train_movies, n_movies)
    ascending = np.sort(scores)
    higher = n_movies - np.searchsorted(ascending, scores, side="right")  # movies scoring strictly higher
    plain = higher[test_movies].astype(np.int64)
    if not is_sparse(seen):
        import scipy.sparse

        seen = scipy.sparse.csr_array(np.asarray(seen, dtype=bool))
    filtered = plain.copy()
    step = max(1, (1 << 24) // max(1, int(seen.nnz / max(seen.shape[0], 1)) + 1))
    for start in range(0, len(test_users), step):
        u = test_users[start:start + step]
        m = test_movies[start:start + step]
        sub = seen[u]
        row_of = np.repeat(np.arange(len(u)), np.diff(sub.indptr))
        above = scores[sub.indices] > scores[m][row_of]
        filtered[start:start + step] -= np.bincount(row_of[above], minlength=len(u))
    return {"test": accuracy_at(plain, ks), "test_filtered": accuracy_at(filtered, ks)}
