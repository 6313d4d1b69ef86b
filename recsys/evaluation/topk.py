"""Exact top-K evaluation of a retrieval model.

*Factorized top-K categorical accuracy* (``tfrs.metrics.FactorizedTopK``) asks, for each
test rating (user u, movie m): is m among the K highest-scoring movies of the whole
catalog for u? Its rank is the number of catalog movies that score *strictly* higher than
m; it is a hit at K when rank < K. The accuracy at K is the fraction of hits.

TFRS computes this by streaming the catalog through a top-K layer for every test batch.
All we need is each test user's row of scores (one matrix product), sorted, and a binary
search of the true movie's score in it, which numpy does in milliseconds on ML-100k.

Two sets of candidates (the "metric variants" of a run's metrics, ``CANDIDATES``):
- ``test``: all catalog movies are candidates (what TFRS reports);
- ``test_filtered``: movies the user rated in *training* are removed from that user's
  candidates, because recommending something the user already watched is a wasted slot.
  Without filtering, a model is punished for ranking known favourites high.
"""
from __future__ import annotations

import numpy as np

from recsys.config import KS

# The two metric variants: which movies compete with the true one (see above).
CANDIDATES = {"test": "all candidates", "test_filtered": "seen removed"}


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` highest scores along the last axis (of a row or of each row), best first.

    A partial sort: ``argpartition`` moves the k highest to the front in O(C) (introselect, C
    scores a row), and only those k are sorted, O(k log k): O(C + k log k) a row where a full
    sort costs O(C log C), which counts when C is a catalog and k a page. The sort is stable, so
    equal scores keep the order ``argpartition`` leaves them in; which of several scores equal to
    the k-th highest make the cut is ``argpartition``'s choice (a caller that needs ties broken
    says so in the scores). ``k`` is at most C.
    """
    k = min(k, scores.shape[-1])
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(part, order, axis=-1)


def ranks(user_vectors: np.ndarray, movie_vectors: np.ndarray, users: np.ndarray, movies: np.ndarray,
          seen=None, batch: int = 4096, dtype=np.float32) -> np.ndarray:
    """Rank of each test pair's true movie among all movies (0 = top).

    user_vectors: [U, d]; movie_vectors: [C, d]; users, movies: [N] indices of the test pairs.
    seen: optional [U, C] movies to remove from each user's candidates, as a dense boolean
    array or a sparse matrix (``recsys.data.prepared.seen_matrix``); the true movie itself is never removed.
    """
    if seen is None:
        return ranks_both(user_vectors, movie_vectors, users, movies, None, batch, dtype)[0]
    return ranks_both(user_vectors, movie_vectors, users, movies, seen, batch, dtype)[1]


def ranks_both(user_vectors, movie_vectors, users, movies, seen=None, batch: int = 4096,
               dtype=np.float32) -> tuple[np.ndarray, np.ndarray | None]:
    """Ranks among all movies and among the movies not seen, from one pass over the scores.

    The filtered rank is the plain rank minus the seen movies that score strictly higher, so
    both come from the same row of scores: each distinct user's row (users x catalog x
    dimension for all of them) is computed once (a user has ~20 test ratings on ML-100k), in
    blocks of at most ~16M scores, so memory stays flat however large the catalog.
    """
    movie_t = np.ascontiguousarray(movie_vectors.T, dtype=dtype)
    return ranks_from(lambda block: user_vectors[block].astype(dtype) @ movie_t, len(movie_vectors), users, movies,
                      seen, batch)


def ranks_from(score_rows, n_movies: int, users, movies, seen=None, batch: int = 4096):
    """``ranks_both`` for any scorer: ``score_rows(distinct user indices) -> [b, n_movies]`` scores.

    A baseline that is not a dot product of small vectors (EASE, item-kNN score with the whole
    item x item matrix) hands its rows in here. Each user's row is sorted once; a test pair's
    rank, the movies scoring strictly above its true one, is then a binary search of the true
    score in that row, and the seen movies above it one in the sorted scores of the user's seen
    movies (the true movie never counts: it does not score above itself). O(C log C) a user
    where comparing every pair with its row costs O(C) a pair.
    """
    users, movies = np.asarray(users), np.asarray(movies)
    plain = np.empty(len(users), dtype=np.int64)
    filtered = None if seen is None else np.empty(len(users), dtype=np.int64)
    sparse = seen is not None and is_sparse(seen)
    if sparse:
        seen = seen.tocsr()
    order = np.argsort(users, kind="stable")
    distinct, starts = np.unique(users[order], return_index=True)
    starts = np.r_[starts, len(users)]
    per_block = max(1, min(batch, (1 << 24) // max(n_movies, 1)))
    for i in range(0, len(distinct), per_block):
        block = distinct[i:i + per_block]
        table = np.asarray(score_rows(block))                            # [users of the block, C]
        ranked = np.sort(table, axis=1)
        for j, u in enumerate(block):
            rows = order[starts[i + j]:starts[i + j + 1]]                # u's test pairs
            true = table[j, movies[rows]]
            plain[rows] = n_movies - np.searchsorted(ranked[j], true, side="right")
            if seen is None:
                continue
            cols = seen.indices[seen.indptr[u]:seen.indptr[u + 1]] if sparse else np.flatnonzero(seen[u])
            above = len(cols) - np.searchsorted(np.sort(table[j, cols]), true, side="right")
            filtered[rows] = plain[rows] - above
    return plain, filtered


def is_sparse(x) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(x)


def accuracy_at(rank: np.ndarray, ks=KS) -> dict:
    """Fraction of pairs with rank < K, as ``{"top_1": ..., "top_100": ...}``."""
    return {f"top_{k}": float(np.mean(rank < k)) if len(rank) else 0.0 for k in ks}


def evaluate(user_vectors, movie_vectors, test_users, test_movies, seen, ks=KS) -> dict:
    """Both metric variants for a model: ``{"test": {...}, "test_filtered": {...}}``."""
    plain, filtered = ranks_both(user_vectors, movie_vectors, test_users, test_movies, seen)
    return {"test": accuracy_at(plain, ks), "test_filtered": accuracy_at(filtered, ks)}


def read_result(model: dict, baseline: dict, candidates: str = "test") -> str:
    """One sentence that reads a result: where the model beats the baseline and where not."""
    wins = [k for k in KS if model[candidates][f"top_{k}"] > baseline[candidates][f"top_{k}"]]
    losses = [k for k in KS if k not in wins]
    if not losses:
        return "The model beats the popularity baseline at every K."
    if not wins:
        return "The model loses to the popularity baseline at every K: recommending what is popular is better."
    fmt = lambda ks: ", ".join(f"K = {k}" for k in ks)
    return f"The model beats popularity at {fmt(wins)} and loses at {fmt(losses)}."


BASELINES = {"popularity": "popularity", "itemknn": "item-kNN", "ials": "iALS", "ease": "EASE"}  # metrics keys


def read_against(metrics: dict, candidates: str = "test_filtered", who: str = "model") -> str:
    """One honest sentence: which baselines the model beats at every K, and where and by how much it loses."""
    mine = metrics[who][candidates]
    beaten, lost = [], []
    for key, name in BASELINES.items():
        if key not in metrics:
            continue
        theirs = metrics[key][candidates]
        where = [k for k in KS if not mine[f"top_{k}"] > theirs[f"top_{k}"]]
        if not where:
            beaten.append(name)
            continue
        gap = max((theirs[f"top_{k}"] - mine[f"top_{k}"]) / max(theirs[f"top_{k}"], 1e-12) for k in where)
        at = "every K" if len(where) == len(KS) else "K = " + ", ".join(map(str, where))
        lost.append(f"loses to {name} at {at} (by up to {gap:.0%})")
    parts = ([f"beats {' and '.join(beaten) if len(beaten) < 3 else ', '.join(beaten[:-1]) + ' and ' + beaten[-1]} "
              "at every K"] if beaten else []) + lost
    scope = "With the movies users rated removed" if candidates == "test_filtered" else "Among all movies"
    return f"{scope}, the model " + "; ".join(parts) + "."
