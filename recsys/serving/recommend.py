"""Recommendations from saved runs: per user (user tower) and per movie (item-to-item).

``Recommender`` holds a retrieval run's vectors and its indexes (BruteForce and ScaNN over
the movie vectors) and answers a user's query with both, side by side, as the Recommend page
and ``python -m recsys recommend`` show them. "Movies like this" has three answers
(``item_to_item.MOVIE_MODELS``), each a ``SimilarMovies`` or an exact list:

- ``two-tower``: the retrieval run's movie tower, compared by cosine with the folded bias
  left out (``item_to_item.similarity_space``: with the bias, every famous movie got the same
  rarely rated neighbours);
- ``item-to-item``: an item-to-item run (``recsys/model/item_to_item.py``): its query tower
  against its candidate tower, by cosine as well (``item_to_item.item_space``);
- ``itemknn``: the cosine between movies' columns of the training ratings (exact, no index:
  it is a sparse similarity, not an embedding).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from recsys.data import Dataset
from recsys.errors import UserError
from recsys.evaluation import item_to_item as i2i
from recsys.serving import index as idx
from recsys.serving import latency

ANSWERS_KEPT = 2048  # per Recommender: answers (and profiles) computed once, then served from memory


class Memo:
    """A small thread-safe LRU of answers: a server computes each one once for every session.

    The page reruns its whole script on every click; the answer to a query it has seen (the
    same user, k, and "leave out seen movies") comes from here in microseconds. Values are
    shared between sessions: callers read them, never change them.
    """

    def __init__(self, size: int = ANSWERS_KEPT):
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, compute):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: two sessions may compute the same answer once each, never wait
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def check_k(k: int, scann_params: idx.ScannParams | None, n_titles: int) -> int:
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= 100:
        raise UserError(f"k must be between 1 and 100, got {k!r}")
    if scann_params is not None:
        scann_params.validate(n_titles, int(k))  # ScaNN returns at most what it re-scores
    return int(k)


def title_index(ds: Dataset, title: str) -> int:
    """The catalog position of ``title``; ``UserError`` with near matches if it is not one."""
    pos = np.flatnonzero(ds.titles == title)
    if len(pos):
        return int(pos[0])
    close = [t for t in ds.titles if str(title).lower() in t.lower()][:3]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UserError(f"unknown movie title {title!r}{hint}")


def catalog_genres(ds: Dataset) -> np.ndarray:
    """Each title's genres, in catalog order ("" when unknown)."""
    return ds.title_genres.reindex(ds.titles).fillna("").to_numpy()


def describe(ds: Dataset, rows: list, genres: np.ndarray | None = None) -> list:
    """Result rows with their movie's title and genres (``genres``: ``catalog_genres(ds)``, if at hand)."""
    genres = catalog_genres(ds) if genres is None else genres
    for r in rows:
        r["movie_title"] = str(ds.titles[r["movie_idx"]])
        r["genres"] = str(genres[r["movie_idx"]]).replace("|", ", ")
    return rows


class SimilarMovies:
    """One "movies like this" similarity, with BruteForce and ScaNN indexes: query vectors vs candidate vectors."""

    def __init__(self, query_vectors, candidate_vectors, ds: Dataset, scann_params: idx.ScannParams | None = None):
        self.ds = ds
        self.query_vectors = np.asarray(query_vectors, np.float32)
        self.scann_params = (scann_params or idx.default_scann_params(len(ds.titles))).validate(len(ds.titles), k=1)
        self.bruteforce = idx.build_bruteforce(candidate_vectors)
        self.scann = idx.build_scann(np.asarray(candidate_vectors, np.float32), self.scann_params, k=1)
        self.genres = catalog_genres(ds)
        self.latency = latency.Meter()  # per index and query shape, measured over time (serving/latency.py)
        self.answers = Memo()

    def for_movie(self, title: str, k: int = 10) -> idx.Comparison:
        """The ``k`` movies scoring highest against ``title`` (itself left out), from both indexes."""
        k = check_k(k, self.scann_params, len(self.ds.titles))
        m = title_index(self.ds, title)

        def answer():
            comp = idx.compare(self.bruteforce, self.scann, self.query_vectors[m], k, [m],
                               query_info={"movie_title": title}, latency=self.latency)
            describe(self.ds, comp.bruteforce, self.genres)
            describe(self.ds, comp.scann, self.genres)
            return comp

        return self.answers.get((m, k), answer)


def itemknn_neighbours(ds: Dataset, p, title: str, k: int = 10) -> list:
    """Item-kNN's ``k`` neighbours of ``title`` (rows like an index's): cosine over ``p``'s training ratings."""
    m = title_index(ds, title)
    k = check_k(k, None, len(ds.titles))
    scores = i2i.itemknn_scores(len(ds.user_ids), len(ds.titles), p.train_users, p.train_movies)
    top, values = i2i.neighbours(scores, m, k, np.bincount(p.train_movies, minlength=len(ds.titles)))
    return describe(ds, [{"rank": r + 1, "movie_idx": int(i), "score": float(s)}
                         for r, (i, s) in enumerate(zip(top, values))])


class Recommender:
    def __init__(self, run, ds: Dataset, scann_params: idx.ScannParams | None = None):
        self.run, self.ds = run, ds
        self.user_vectors, self.movie_vectors = run.vectors_for(ds)
        # k is checked per query (``_check_k``): the index serves every k up to its re-scored candidates
        self.scann_params = (scann_params or idx.default_scann_params(len(ds.titles))).validate(len(ds.titles), k=1)
        self.bruteforce = idx.build_bruteforce(self.movie_vectors)
        self.scann = idx.build_scann(self.movie_vectors, self.scann_params, k=1)  # k is given per query
        space = i2i.similarity_space(self.movie_vectors, run.config.movie_bias, run.encoder())
        self.similar = SimilarMovies(space, space, ds, self.scann_params)  # "movies like this", by cosine
        self._user_pos = {u: i for i, u in enumerate(ds.user_ids)}
        self._genres = self.similar.genres
        self.latency = latency.Meter()  # per index and query shape, measured over time (serving/latency.py)
        self.answers, self.profiles = Memo(), Memo()
        self._rows, self._columns = None, {}  # {user_idx: positions of their ratings}, {name: array}: on first use

    # ------------------------------------------------------------------ lookups
    def user_index(self, user_id) -> int:
        key = str(user_id).strip()
        if key not in self._user_pos:
            raise UserError(f"unknown user {user_id!r} (ids run from {self.ds.user_ids[0]} to {self.ds.user_ids[-1]})")
        return self._user_pos[key]

    def title_index(self, title: str) -> int:
        return title_index(self.ds, title)

    def seen(self, user_idx: int) -> np.ndarray:
        """Title indices the user rated (in any split: they have watched them)."""
        return np.unique(self.column("title_idx")[self.rows_of_user(user_idx)])

    def rows_of_user(self, user_idx: int) -> np.ndarray:
        """Positions of the user's ratings in ``ds.ratings`` (grouped once: no scan of all ratings per view)."""
        if self._rows is None:
            self._rows = self.ds.ratings.groupby("user_idx").indices
        return self._rows.get(user_idx, np.zeros(0, np.int64))

    def column(self, name: str) -> np.ndarray:
        """A column of ``ds.ratings`` as a NumPy array (converted once)."""
        if name not in self._columns:
            self._columns[name] = self.ds.ratings[name].to_numpy()
        return self._columns[name]

    def profile(self, user_id) -> dict:
        """Age, gender, occupation and the user's highest-rated movies (computed once per user)."""
        u = self.user_index(user_id)
        return self.profiles.get(u, lambda: self._profile(user_id, u))

    def _profile(self, user_id, u: int) -> dict:
        rows = self.rows_of_user(u)
        # highest stars first, the latest first among equals
        best = rows[np.lexsort((-self.column("timestamp")[rows], -self.column("user_rating")[rows]))[:10]]
        movies = self.column("title_idx")[best]
        first = self.ds.ratings.iloc[rows[0]]
        return {"user_id": str(user_id), "age": int(first.user_age), "gender": first.user_gender,
                "occupation": first.user_occupation, "ratings": int(len(rows)),
                "top_rated": pd.DataFrame({"movie_title": [str(self.ds.titles[m]) for m in movies],
                                           "user_rating": self.column("user_rating")[best],
                                           "movie_genres": [str(self._genres[m]).replace("|", ", ")
                                                            for m in movies]})}

    def movie_profile(self, title: str) -> dict:
        """A movie's genres, how many ratings it got and their mean (stars)."""
        m = self.title_index(title)

        def profile():
            r = self.ds.ratings.loc[self.ds.ratings["title_idx"] == m, "user_rating"]
            return {"movie_title": str(self.ds.titles[m]), "genres": str(self._genres[m]).replace("|", ", "),
                    "ratings": int(len(r)), "mean_rating": float(r.mean()) if len(r) else float("nan")}

        return self.profiles.get(("movie", m), profile)

    # ------------------------------------------------------------------ queries
    def _check_k(self, k: int) -> int:
        return check_k(k, self.scann_params, len(self.ds.titles))

    def for_user(self, user_id, k: int = 10, exclude_seen: bool = False) -> idx.Comparison:
        """The user's top ``k`` from both indexes (computed once per user, k and exclusion; then from memory)."""
        k = self._check_k(k)
        u = self.user_index(user_id)

        def answer():
            exclude = self.seen(u) if exclude_seen else None
            return self._describe(idx.compare(self.bruteforce, self.scann, self.user_vectors[u], k, exclude,
                                              query_info={"user_id": str(user_id), "exclude_seen": exclude_seen},
                                              latency=self.latency))

        return self.answers.get((u, k, bool(exclude_seen)), answer)

    def for_movie(self, title: str, k: int = 10) -> idx.Comparison:
        """Movies most like this one by the movie tower: cosine of the tower vectors, bias left out."""
        self.title_index(title)
        return self.similar.for_movie(title, k)

    def _describe(self, comp: idx.Comparison) -> idx.Comparison:
        describe(self.ds, comp.bruteforce, self._genres)
        describe(self.ds, comp.scann, self._genres)
        return comp


def side_by_side(comp: idx.Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both result lists as frames with an ``only_here`` flag for movies missing from the other list."""
    frames = []
    for mine, other in ((comp.bruteforce, comp.scann), (comp.scann, comp.bruteforce)):
        others = {r["movie_idx"] for r in other}
        frames.append(pd.DataFrame({"rank": [r["rank"] for r in mine], "movie_title": [r["movie_title"] for r in mine],
                                    "genres": [r["genres"] for r in mine], "score": [r["score"] for r in mine],
                                    "only_here": [r["movie_idx"] not in others for r in mine]}))
    return frames[0], frames[1]


def user_labels(ds: Dataset) -> dict:
    """``{"42": "42 · 30 M, administrator"}``: the user picker's labels (column-wise, once per dataset)."""
    u = ds.users
    ids = u["user_id"].astype(str)
    text = ids + " · " + u["user_age"].astype(str) + " " + u["user_gender"].astype(str) + ", " + \
        u["user_occupation"].astype(str)
    return dict(zip(ids, text))
