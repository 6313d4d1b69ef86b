"""Item-to-item ("movies like this"), and a held-out measure of how good its neighbours are.

A page that shows "movies like *Fargo*" is an item-to-item recommender: a similarity between
two movies, and the K most similar to the query. Three ways to have one here:

- **the two-tower model's movie tower**: the movie vectors the retrieval model learned. With
  ``movie_bias`` the run's movie vectors end in the bias b_m (users end in 1, so u · m + b_m
  is one dot product). That column is right for user -> movie scores and wrong between two
  movies: m_q · m_c would add b_q · b_c, a product of two negative log-popularities that is
  largest for the *rarest* movies. ``without_bias`` drops it. Between two movies we rank by
  **cosine** (the angle of the tower vectors, their length ignored): a vector's length mostly
  says how often the movie was trained, not what it is like. Held-out hit rate @10 on the
  random split (seed 42), cosine against the dot product of the same vectors: 0.085 / 0.080
  for the tutorial preset, 0.072 / 0.040 for *Our best* (``tests/test_item_to_item.py``
  checks the second).
- **item-kNN** (the classic baseline): two movies are similar when the same users rated them,
  cosine between their columns of the training user x movie matrix (Sarwar et al. 2001).
- **the item-to-item two-tower model** (``recsys/model/item_to_item.py``): trained on pairs of
  movies rated by the same user, as the TFRS tutorial's last section describes; compared by
  cosine too (``item_space``).

**The measure** (``hit_rate``), the same for all three and for a popularity list: for every
test rating (user u, movie m, time t) whose user has training ratings, the query is the
movie u rated in training just before t ("what you watched before this one"; the earliest
training rating when all came later). It is a hit at K when m is among the query's K
neighbours (the query itself left out). Hit rate @K is the share of hits, at K = 1, 5, 10,
50: how often "movies like what you just watched" would have shown what you watched next.
The popularity list (the K most-rated training movies, whatever the query) is the number to
beat: a similarity that does not beat it has learned nothing about the query. (Asking
instead whether *any* of a user's test movies is among the neighbours of one query rewards
popularity above everything: a user's twenty test movies nearly always include a
blockbuster, so the popularity list wins and the measure says nothing about relatedness.)
Ties are broken toward the more popular movie (``top_k``); scores are computed in blocks
of queries x catalog, so memory stays flat.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from recsys.evaluation import topk

KS = (1, 5, 10, 50)
METHODS = {"two_tower": "two-tower movie tower", "item_to_item": "item-to-item model", "itemknn": "item-kNN",
           "popularity": "most popular"}  # the keys of metrics.item_to_item, and how pages name them
MOVIE_MODELS = {"two-tower": "two_tower", "item-to-item": "item_to_item", "itemknn": "itemknn"}  # CLI/page name -> key


@dataclass(frozen=True)
class Queries:
    """One query per held-out rating: the movie rated just before it in training, and the rated movie."""

    movies: np.ndarray       # [Q] the query movie
    targets: np.ndarray      # [Q] the held-out movie it should find

    def __len__(self) -> int:
        return len(self.movies)


def queries(train_users, train_movies, train_times, test_users, test_movies, test_times) -> Queries:
    """The held-out queries of a split (see the module docstring), vectorised over all ratings."""
    train_users, test_users = np.asarray(train_users, np.int64), np.asarray(test_users, np.int64)
    train_times, test_times = np.asarray(train_times, np.int64), np.asarray(test_times, np.int64)
    order = np.lexsort((train_times, train_users))           # by user, then time
    users, times, movies = train_users[order], train_times[order], np.asarray(train_movies)[order]
    span = int(max(times.max(initial=0), test_times.max(initial=0)) - min(times.min(initial=0),
                                                                            test_times.min(initial=0))) + 1
    base = min(times.min(initial=0), test_times.min(initial=0))
    key = users * span + (times - base)                       # sorted: user first, then time
    at = np.searchsorted(key, test_users * span + (test_times - base), side="right") - 1
    before = (at >= 0) & (users[np.clip(at, 0, None)] == test_users)  # a training rating of this user, earlier
    first = np.searchsorted(users, test_users)                # else the user's earliest, if they have one
    after = ~before & (first < len(users)) & (users[np.clip(first, 0, len(users) - 1)] == test_users)
    pick = np.where(before, at, first)
    keep = before | after
    return Queries(movies=movies[pick[keep]].astype(np.int64), targets=np.asarray(test_movies, np.int64)[keep])


def without_bias(vectors: np.ndarray, movie_bias: bool) -> np.ndarray:
    """The towers' own vectors: without the folded bias column when the run has one (movies' b_m, users' 1)."""
    return vectors[:, :-1] if movie_bias else vectors


def similarity_space(movie_vectors: np.ndarray, movie_bias: bool, encoder: dict | None = None) -> np.ndarray:
    """Where two of a retrieval run's movies are compared: the tower's vectors, bias dropped, at length 1.

    A dot product here is the cosine of the tower vectors; every page and command that shows
    "movies like this" from a retrieval run (Recommend per movie, the embedding map, the CLI)
    ranks in this space. A run with a history encoder (``encoder``: its arrays) has a second
    vector per movie, its row of the encoder's first layer: what having watched the movie says
    about a user. Both halves, each at length 1, side by side: the cosine is then the mean of
    the two cosines (held-out hit rate @10 on the random split, seed 42, Our best: 0.085, against
    0.074 for the movie tower alone and 0.085 for the encoder rows alone).
    """
    own = normalised(without_bias(movie_vectors, movie_bias))
    if encoder is None:
        return own
    from recsys.model.fold_in import PREFIX

    rows = normalised(encoder[f"{PREFIX}w0"][:len(own)])  # the movies' rows (feature tokens come after)
    return normalised(np.concatenate([own, rows], axis=1))


def item_space(query_vectors: np.ndarray, movie_vectors: np.ndarray) -> tuple:
    """Where an item-to-item run compares movies: its query and candidate towers' vectors at length 1."""
    return normalised(query_vectors), normalised(movie_vectors)


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, so that a dot product is the cosine (a zero row stays zero)."""
    v = np.asarray(vectors, np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def embedding_scores(query_vectors: np.ndarray, candidate_vectors: np.ndarray | None = None):
    """``scores(movies) -> [len(movies), C]``: dot products of the queries' vectors with every candidate's.

    Pass normalised vectors for cosine. ``candidate_vectors`` defaults to the query vectors
    (one tower); the item-to-item model has a candidate tower of its own.
    """
    q = np.asarray(query_vectors, np.float32)
    c = np.asarray(q if candidate_vectors is None else candidate_vectors, np.float32)
    return lambda movies: q[movies] @ c.T


def itemknn_scores(n_users: int, n_movies: int, train_users, train_movies):
    """``scores(movies)``: item-kNN, the cosine between movies' columns of the binary training matrix."""
    import scipy.sparse

    x = scipy.sparse.csr_array((np.ones(len(train_users), np.float32), (train_users, train_movies)),
                               shape=(n_users, n_movies))
    x.sum_duplicates()
    x.data[:] = 1.0
    xt = x.T.tocsr()                                          # [C, U]: each movie's raters
    norms = np.sqrt(np.asarray(xt.sum(axis=1)).ravel()).astype(np.float32)

    def scores(movies):
        co = (xt[np.asarray(movies)] @ x).toarray()           # [b, C]: users who rated both
        return co / np.maximum(norms[np.asarray(movies)][:, None] * norms[None, :], 1e-12)

    return scores


def popularity_scores(n_movies: int, train_movies):
    """``scores(movies)``: the same list for every query, the training counts."""
    counts = np.bincount(train_movies, minlength=n_movies).astype(np.float32)
    return lambda movies: np.broadcast_to(counts, (len(movies), n_movies)).copy()


def neighbours(scores_fn, movie: int, k: int, popularity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` movies most similar to ``movie`` (itself left out) and their scores, best first."""
    s = scores_fn(np.array([movie]))[0].astype(np.float64)
    top = top_k(s[None, :], np.array([movie]), k, popularity)[0]
    return top, s[top]


def top_k(scores: np.ndarray, query_movies: np.ndarray, k: int, popularity: np.ndarray) -> np.ndarray:
    """Row-wise ids of the k highest scores, each row's query movie left out, ties toward the popular."""
    s = np.asarray(scores, np.float64)
    pop = np.asarray(popularity, np.float64)
    s = s + 1e-9 * (pop / max(pop.max(), 1.0))[None, :]       # breaks exact ties only (cosines differ by far more)
    s[np.arange(len(s)), query_movies] = -np.inf
    return topk.top_k(s, min(k, s.shape[1] - 1))


def hit_rate(scores_fn, q: Queries, popularity: np.ndarray, ks=KS) -> dict:
    """Share of queries whose held-out movie is among the query's top K, for each K.

    A query's neighbours depend only on its movie, so each distinct query movie is scored
    once (at most the catalog, however many ratings are held out).
    """
    if not len(q):
        return {f"hit_{k}": 0.0 for k in ks}
    movies, inverse = np.unique(q.movies, return_inverse=True)
    block = max(16, min(4096, (1 << 24) // max(len(popularity), 1)))  # at most ~16M scores at a time
    top = np.concatenate([top_k(scores_fn(movies[s:s + block]), movies[s:s + block], max(ks), popularity)
                          for s in range(0, len(movies), block)])        # [distinct queries, K]
    found = top[inverse] == q.targets[:, None]                          # [Q, K]: where the held-out movie is
    return {f"hit_{k}": float(found[:, :k].any(axis=1).mean()) for k in ks}


def baselines(q: Queries, n_users: int, n_movies: int, train_users, train_movies) -> dict:
    """Hit rates of the popularity list and of item-kNN on the queries ``q``."""
    pop = np.bincount(train_movies, minlength=n_movies)
    return {"popularity": hit_rate(popularity_scores(n_movies, train_movies), q, pop),
            "itemknn": hit_rate(itemknn_scores(n_users, n_movies, train_users, train_movies), q, pop)}


@lru_cache(maxsize=8)
def held_out(p) -> tuple:
    """``(queries, baselines)`` of one split (a ``data.prepared.TrainingData``): model-independent, computed once per split."""
    n_users, n_movies = len(p.ds.user_ids), len(p.ds.titles)
    q = queries(p.train_users, p.train_movies, p.train_times, p.test_users, p.test_movies, p.test_times)
    return q, baselines(q, n_users, n_movies, p.train_users, p.train_movies)


def evaluate(p, scores_fn, who: str) -> dict:
    """``who``'s hit rates beside the baselines' on the split's held-out queries (``metrics.item_to_item``)."""
    q, base = held_out(p)
    pop = np.bincount(p.train_movies, minlength=len(p.ds.titles))
    return {who: hit_rate(scores_fn, q, pop), **base, "queries": int(len(q))}


def read_result(metrics: dict, who: str = "two_tower", k: int = 10) -> str:
    """One sentence: where ``who``'s neighbours stand against the baselines at K."""
    mine = metrics[who][f"hit_{k}"]
    parts = []
    for other in ("popularity", "itemknn"):
        theirs = metrics[other][f"hit_{k}"]
        verb = "beats" if mine > theirs else "loses to"
        parts.append(f"{verb} {METHODS[other]} ({mine:.3f} vs {theirs:.3f})")
    return f"Hit rate @{k} of the {METHODS[who]}: " + " and ".join(parts) + "."
