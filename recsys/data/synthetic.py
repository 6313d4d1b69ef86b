"""A synthetic MovieLens-like dataset of any size, for seeing how costs grow past ML-100k.

No MovieLens larger than 100k can be downloaded on every machine, so ``generate`` builds one
with the shape that matters for two-tower retrieval, reproducibly from a seed:

- *power-law popularity*: movie weights follow Zipf's law (weight ~ rank^-0.9), so a few
  blockbusters collect a large share of the ratings, as in MovieLens;
- *power-law activity*: a few users rate thousands of movies, most rate a few dozen
  (lognormal weights, at least ``min_per_user`` ratings each, as MovieLens' 20);
- *clustered tastes*: every movie belongs to one of ``n_clusters`` taste clusters (its
  primary genre); every user has a Dirichlet(0.1) preference over the clusters (most love
  two or three), picks a cluster by it, then a movie of the cluster by popularity; 10% of
  picks ignore taste and follow global popularity (everybody watches the blockbusters).
  That is what a two-tower model can learn and the popularity baseline cannot;
- *timestamps*: each user is active during their own window inside 2000-2018, so a
  temporal split has users who joined late, as in a real service;
- at most one rating per (user, movie), ratings 1-5 leaning up for preferred clusters.

Everything is vectorised numpy (no loop over ratings), so time and memory grow linearly:
10M interactions took 14 s here, 25M peak at 2.1 GB (docs/scale.md). The result is an
ordinary ``recsys.data.Dataset`` (string columns are pandas categoricals: 25M rows take
~40 bytes each, 0.96 GB).

Sizes follow MovieLens: ``users ~ interactions / 150`` and ``movies ~ 3,700 x (millions)^0.55``
(1M: 6.7k users, 3.7k movies; 10M: 67k, 13k; 25M: 167k, 21k), both can be set.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.formats import GENRES_100K, OCCUPATIONS_1M
from recsys.data.movielens import Dataset
from recsys.errors import UserError

MAX_INTERACTIONS = 50_000_000
START, END = 946_684_800, 1_514_764_800  # 2000-01-01 .. 2018-01-01, as Unix seconds
_AGES = np.array([1, 18, 25, 35, 45, 50, 56])
_AGE_P = np.array([0.04, 0.18, 0.35, 0.20, 0.09, 0.08, 0.06])


def default_sizes(n_interactions: int) -> tuple[int, int]:
    """(users, movies) of a MovieLens-like set with this many ratings."""
    n_users = max(20, int(round(n_interactions / 150)))
    n_movies = max(40, int(round(3_700 * (n_interactions / 1e6) ** 0.55)))
    return n_users, n_movies


def generate(n_interactions: int, seed: int = 0, n_users: int | None = None, n_movies: int | None = None,
             n_clusters: int = 18, min_per_user: int = 5, popularity_exponent: float = 0.9,
             explore: float = 0.1, taste_concentration: float = 0.1) -> Dataset:
    """A ``Dataset`` with exactly ``n_interactions`` distinct (user, movie) ratings.

    The same arguments always give the same dataset (all randomness comes from ``seed``).
    """
    n = int(n_interactions)
    du, dm = default_sizes(n)
    n_users, n_movies = int(n_users or du), int(n_movies or dm)
    if not 1_000 <= n <= MAX_INTERACTIONS:
        raise UserError(f"interactions must be between 1,000 and {MAX_INTERACTIONS:,}, got {n_interactions}")
    if not 1 <= n_clusters <= len(GENRES_100K) - 1:
        raise UserError(f"n_clusters must be between 1 and {len(GENRES_100K) - 1}, got {n_clusters}")
    if n_users < 1 or n_movies < 2 or n > n_users * (n_movies // 2):
        raise UserError(f"{n:,} distinct ratings do not fit {n_users:,} users x {n_movies:,} movies "
                        "(at most half of all pairs)")
    rng = np.random.default_rng(seed)

    # Movies: a taste cluster each, and a Zipf popularity weight (ranks shuffled over ids).
    cluster = rng.integers(0, n_clusters, n_movies)
    popularity = rng.permutation(np.arange(1, n_movies + 1, dtype=np.float64) ** -popularity_exponent)
    quality = rng.normal(0.0, 0.4, n_movies)
    # Users: a preference over clusters (concentrated on a few) and an activity level.
    prefs = rng.dirichlet(np.full(n_clusters, taste_concentration), n_users)
    counts = _ratings_per_user(rng, n, n_users, min_per_user, cap=n_movies // 2)

    sampler = _MovieSampler(cluster, popularity, prefs, n_clusters)
    users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    keys = _unique(users * n_movies + sampler.sample(rng, users, explore))
    for round_ in range(1, 40):  # re-draw the duplicate (user, movie) pairs, more and more at random
        missing = counts - np.bincount(keys // n_movies, minlength=n_users)
        if not missing.any():
            break
        need = np.repeat(np.arange(n_users, dtype=np.int64), missing)
        cand = _unique(need * n_movies + sampler.sample(rng, need, explore, uniform=min(1.0, 0.25 * round_)))
        fresh = cand[~_contains(keys, cand)]
        keys = np.insert(keys, np.searchsorted(keys, fresh), fresh)
    keys = keys[rng.permutation(len(keys))]  # source order: no structure, like a shuffled log
    user_idx = (keys // n_movies).astype(np.int32)
    movie_idx = (keys % n_movies).astype(np.int32)
    del keys, users

    # Ratings lean up for a user's preferred clusters and for good movies.
    affinity = np.log(prefs[user_idx, cluster[movie_idx]] * n_clusters + 1e-3)
    stars = 3.5 + 0.35 * np.clip(affinity, -3, 3) + quality[movie_idx] + rng.normal(0, 0.9, len(user_idx))
    rating = np.clip(np.rint(stars), 1, 5).astype(np.float32)
    del affinity, stars
    # Each user is active in their own window; a rating falls uniformly inside it.
    join = rng.integers(START, END - 86_400, n_users)
    window = np.minimum(rng.exponential(365 * 86_400.0, n_users), END - join).astype(np.int64) + 1
    timestamp = join[user_idx] + (rng.random(len(user_idx)) * window[user_idx]).astype(np.int64)

    movies, genre_code, genre_names = _movie_table(rng, n_movies, cluster)
    users_t = _user_table(rng, n_users)
    zip_names, users_t["zip_code"] = np.unique(users_t["user_zip_code"].to_numpy(str), return_inverse=True)  # small
    cat = lambda codes, names: pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=object))
    ratings = pd.DataFrame({
        "user_id": cat(user_idx, users_t["user_id"]),
        "movie_id": cat(movie_idx, movies["movie_id"]),
        "movie_title": cat(movie_idx, movies["movie_title"]),
        "user_rating": rating,
        "timestamp": timestamp,
        "user_age": users_t["user_age"].to_numpy()[user_idx],
        "user_gender": cat(users_t["gender_code"].to_numpy()[user_idx], ["F", "M"]),
        "user_occupation": cat(users_t["occupation_code"].to_numpy()[user_idx], OCCUPATIONS_1M),
        "user_zip_code": cat(users_t["zip_code"].to_numpy()[user_idx], zip_names),
        "movie_genres": cat(genre_code[movie_idx], genre_names),
    })
    users_out = users_t[["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"]]
    return Dataset(ratings, movies, users_out, source="synthetic", variant=f"synthetic-{n}-seed{seed}")


def _ratings_per_user(rng, n: int, n_users: int, floor: int, cap: int) -> np.ndarray:
    """Ratings per user: ``floor`` each plus a lognormal share of the rest, at most ``cap``."""
    floor = min(floor, n // n_users, cap)
    weights = rng.lognormal(0.0, 1.2, n_users)
    counts = floor + rng.multinomial(n - floor * n_users, weights / weights.sum()).astype(np.int64)
    for _ in range(100):  # hand the excess of capped users to the others, proportionally
        excess = np.maximum(counts - cap, 0)
        if not excess.any():
            break
        counts -= excess
        room = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(int(excess.sum()), room / room.sum())
    return counts


class _MovieSampler:
    """Draws a movie for each given user: a taste cluster by the user's preferences, then a
    movie of that cluster by popularity; ``explore`` of the draws follow global popularity and
    ``uniform`` of them pick any movie (used to break up repeated pairs).

    Each step is one ``searchsorted`` on a flattened cumulative table: the row ``u`` of a
    [U, K] table of cumulative probabilities lives in ``[u, u + 1]`` after adding ``u``.
    """

    def __init__(self, cluster, popularity, prefs, n_clusters):
        self.n_movies = len(cluster)
        self.by_cluster = np.argsort(cluster, kind="stable")                   # movies grouped by cluster
        c_sorted = cluster[self.by_cluster]
        w = popularity[self.by_cluster]
        totals = np.bincount(c_sorted, weights=w, minlength=n_clusters)
        sizes = np.bincount(c_sorted, minlength=n_clusters)
        local = np.cumsum(w) - np.repeat(np.cumsum(totals) - totals, sizes)
        frac = local / totals[c_sorted]
        frac[np.cumsum(sizes)[sizes > 0] - 1] = 1.0  # each cluster ends exactly at c + 1
        self.movie_key = c_sorted + frac  # movie i of cluster c owns (key[i - 1], key[i]] within (c, c + 1]
        self.has_movies = sizes > 0
        p = prefs * self.has_movies + 1e-12 * self.has_movies  # a cluster without movies is never picked
        p /= p.sum(axis=1, keepdims=True)
        cum = np.cumsum(p, axis=1)
        cum[:, -1] = 1.0
        self.n_clusters = n_clusters
        self.user_key = (np.arange(len(prefs))[:, None] + cum).ravel()
        self.global_cum = np.cumsum(popularity) / popularity.sum()

    def sample(self, rng, users: np.ndarray, explore: float, uniform: float = 0.0, chunk: int = 4_000_000):
        out = np.empty(len(users), dtype=np.int64)
        for s in range(0, len(users), chunk):
            u = users[s:s + chunk]
            j = np.searchsorted(self.user_key, u + rng.random(len(u)), side="right")
            c = np.minimum(j - u * self.n_clusters, self.n_clusters - 1)
            pos = np.searchsorted(self.movie_key, c + rng.random(len(u)), side="right")
            movie = self.by_cluster[np.minimum(pos, self.n_movies - 1)]
            r = rng.random(len(u))
            pop = r < explore
            movie[pop] = np.minimum(np.searchsorted(self.global_cum, rng.random(int(pop.sum()))), self.n_movies - 1)
            anyone = r > 1.0 - uniform
            movie[anyone] = rng.integers(0, self.n_movies, int(anyone.sum()))
            out[s:s + chunk] = movie
        return out


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: numpy 2.4's hash-based ``np.unique`` is ~50x slower on int64)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _contains(sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def _movie_table(rng, n_movies: int, cluster: np.ndarray):
    """movie_id, a unique "Synthetic Movie N (year)" title and genres: the cluster's genre first, maybe a second."""
    genres = np.array(GENRES_100K[1:], dtype=object)
    second = rng.integers(0, len(genres), n_movies)
    has_second = (rng.random(n_movies) < 0.3) & (second != cluster)
    pair = np.where(has_second, cluster * len(genres) + second, cluster * len(genres) + cluster)  # primary first
    codes, genre_code = np.unique(pair, return_inverse=True)
    names = [genres[c // len(genres)] if c // len(genres) == c % len(genres)
             else f"{genres[c // len(genres)]}|{genres[c % len(genres)]}" for c in codes]
    years = rng.integers(1930, 2018, n_movies)
    ids = np.arange(1, n_movies + 1).astype(str).astype(object)
    titles = ("Synthetic Movie " + ids.astype(str) + " (" + years.astype(str) + ")").astype(object)
    movies = pd.DataFrame({"movie_id": ids, "movie_title": titles,
                           "movie_genres": np.array(names, dtype=object)[genre_code]})
    return movies, genre_code.astype(np.int32), names


def _user_table(rng, n_users: int) -> pd.DataFrame:
    gender_code = (rng.random(n_users) < 0.71).astype(np.int8)  # MovieLens is ~71% male
    occupation_code = rng.integers(0, len(OCCUPATIONS_1M), n_users).astype(np.int8)
    zips = rng.integers(0, 100_000, n_users)
    return pd.DataFrame({
        "user_id": np.arange(1, n_users + 1).astype(str).astype(object),
        "user_age": rng.choice(_AGES, n_users, p=_AGE_P).astype(np.int32),
        "user_gender": np.array(["F", "M"], dtype=object)[gender_code],
        "gender_code": gender_code,
        "user_occupation": np.array(OCCUPATIONS_1M, dtype=object)[occupation_code],
        "occupation_code": occupation_code,
        "user_zip_code": np.char.zfill(zips.astype(str), 5).astype(object),
    })
