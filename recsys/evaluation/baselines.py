"""Baselines: what a retrieval model must beat, scored exactly like the model (``topk``).

The popularity baseline recommends the most-rated training movies to everyone. It knows
nothing about the user, yet on MovieLens it beats the TFRS tutorial's model: a few
blockbusters collect most ratings, so "what is popular" is right surprisingly often.
"""
from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=8)  # a TrainingData hashes by identity: once per split
def popularity_of(data) -> dict:
    """The popularity baseline's metrics on a split's test pairs (``data``: a ``data.prepared.TrainingData``)."""
    return popularity(data.train_movies, data.test_users, data.test_movies, data.seen, len(data.ds.titles))


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


# ----------------------------------------------------------------------------- the strong simple baselines
#
# The reproducibility studies of the field (Dacrema et al., RecSys 2019; Rendle et al. 2022)
# found that tuned linear and neighbourhood models beat most neural recommenders on data like
# this. Three of them, each scoring every (user, movie) pair from the binary training matrix X
# [users x movies] (1 where the user rated the movie):
#
# - EASE (Steck 2019): scores X B with an item x item matrix B learned in closed form;
# - item-kNN (Sarwar et al. 2001): scores X S, S the cosine between movies' rater sets;
# - iALS (Hu, Koren, Volinsky 2008; the ``implicit`` library): X ~ U V^T by weighted
#   alternating least squares, scores U V^T: a factorisation like the two towers, fitted by
#   least squares instead of a softmax.
#
# Each gives a full [users x movies] score matrix (X B, X S, U V^T: small on ML-100k), ranked
# by ``topk`` exactly like the model's scores: rank = movies scoring strictly higher, with a
# tie-breaker toward the more popular movie (``scores_with_popularity_ties``), both variants.
# ``recsys/training/baselines.py`` fits them and chooses their settings on a validation slice.


def interactions(n_users: int, n_movies: int, users, movies):
    """X: the binary [users x movies] matrix of the given ratings (CSR, float32)."""
    import scipy.sparse

    x = scipy.sparse.csr_array((np.ones(len(users), np.float32), (np.asarray(users), np.asarray(movies))),
                               shape=(n_users, n_movies))
    x.sum_duplicates()
    x.data[:] = 1.0
    return x


def ease(x, lam: float) -> np.ndarray:
    """EASE's item x item weights: B = argmin ||X - X B||^2 + lam ||B||^2 with diag(B) = 0.

    Closed form (Steck 2019, eq. 8): with P = (X^T X + lam I)^-1, B_ij = -P_ij / P_jj off the
    diagonal and B_jj = 0. The zero diagonal is what keeps it from the trivial B = I ("a
    movie predicts itself"); lam shrinks the weights of rarely co-rated pairs. One C x C
    inverse, of a symmetric positive definite matrix: by Cholesky (G = U^T U, then P = U^-1 U^-T),
    C^3 multiply-adds where an LU inverse takes twice that: half its CPU on ML-100k's 1,664 titles, and
    weights equal to 1e-11 (``benchmarks/ease_inverse.py``).
    """
    from scipy.linalg import lapack

    g = np.asarray((x.T @ x).toarray(), np.float64)
    g[np.diag_indices_from(g)] += lam
    u, info = lapack.dpotrf(g, lower=False, overwrite_a=True)
    p, info2 = lapack.dpotri(u, lower=False, overwrite_c=True)  # P's upper triangle
    if info or info2:
        raise np.linalg.LinAlgError(f"X^T X + {lam:g} I is not positive definite (LAPACK info {info or info2})")
    p = np.triu(p) + np.triu(p, 1).T
    b = p / (-np.diag(p))[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(np.float32)


def cosines(x) -> np.ndarray:
    """The cosine of every two movies' rater sets [C, C] (0 on the diagonal): item-kNN before pruning."""
    co = np.asarray((x.T @ x).toarray(), np.float32)
    norms = np.sqrt(np.diag(co)).copy()
    s = co / np.maximum(norms[:, None] * norms[None, :], 1e-12)
    np.fill_diagonal(s, 0.0)
    return s


def itemknn_weights(x, neighbours: int | None = None, similarity: np.ndarray | None = None) -> np.ndarray:
    """Item-kNN's item x item weights: the cosine of two movies' rater sets, each movie's ``neighbours`` strongest kept.

    A user's score for movie j is the sum of j's similarities to the movies the user rated
    (X S); keeping only j's ``neighbours`` most similar movies (None: all) drops the weak, noisy
    links. ``similarity``: ``cosines(x)`` when already computed (a grid prunes one matrix).
    """
    s = (cosines(x) if similarity is None else similarity).copy()
    if neighbours is not None and neighbours < len(s) - 1:
        weakest = np.argpartition(-s, neighbours, axis=0)[neighbours:]  # per column j: all but its k strongest
        np.put_along_axis(s, weakest, 0.0, axis=0)
    return s


def ials(x, factors: int, regularization: float, alpha: float, iterations: int = 8, seed: int = 0):
    """iALS through ``implicit``: (user factors [U, f], movie factors [C, f]), X ~ U V^T weighted by confidence.

    Every unrated pair counts as a 0 with weight 1, a rated pair as a 1 with weight 1 + alpha:
    "not rated" is weak evidence of "not liked", a rating strong evidence of interest.
    One BLAS thread: the library asks for it (its own threads do the work).
    """
    import scipy.sparse
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                        iterations=iterations, random_state=seed, num_threads=2)
        model.fit(scipy.sparse.csr_matrix(x), show_progress=False)  # implicit wants the matrix class
    return np.asarray(model.user_factors, np.float32), np.asarray(model.item_factors, np.float32)


def scores_with_popularity_ties(scores: np.ndarray, train_movies) -> np.ndarray:
    """Every user's scores [U, C] plus a tie-breaker far below any real difference, toward the more popular movie."""
    pop = popularity_scores(np.asarray(train_movies), scores.shape[1])
    tie = (pop - pop.min()) / max(pop.max() - pop.min(), 1.0)                 # in [0, 1]
    scale = 1e-6 * max(float(np.abs(scores).max()), 1e-6)
    return (np.asarray(scores, np.float64) + scale * tie[None, :]).astype(np.float32)


def evaluate_scores(scores: np.ndarray, test_users, test_movies, seen, train_movies, ks=KS) -> dict:
    """Both metric variants for a baseline's full [U, C] score matrix, ranked exactly like the model's."""
    from recsys.evaluation.topk import ranks_from

    s = scores_with_popularity_ties(scores, train_movies)
    plain, filtered = ranks_from(lambda u: s[u], s.shape[1], test_users, test_movies, seen)
    return {"test": accuracy_at(plain, ks), "test_filtered": accuracy_at(filtered, ks)}
