"""Side features beside the ids, as lookup tables indexed like the towers' vocabularies.

The TFRS featurization tutorials feed a user's age, gender and occupation and a movie's
genres and title words into the towers. All of them are constant per user or per movie,
so we precompute one row per id (plus a last row for an unknown id) and the towers look
them up: the model's inputs stay plain ids, and serving needs nothing else.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from recsys.data.formats import GENRES_100K
from recsys.data.movielens import Dataset

AGE_BUCKETS = [1, 18, 25, 35, 45, 50, 56]  # MovieLens' (and TFDS's) age groups


def user_tables(ds: Dataset) -> dict:
    """age bucket, gender, occupation code and join time of each user (row = user index).

    ``joined`` is when the user signed up, as a number from 0 (the first rating in the data)
    to 1 (the last); MovieLens has no sign-up date, so the user's first rating stands in for
    it. Like age, it is known the moment a user exists, and it lets the model learn what
    recent newcomers watch, which is what a brand-new user on the temporal split will watch.
    """
    users = ds.users.set_index("user_id").loc[ds.user_ids]
    age = np.searchsorted(AGE_BUCKETS, users["user_age"].to_numpy(), side="right").astype(np.int32)
    gender = (users["user_gender"].to_numpy() == "M").astype(np.int32) + 1
    occupation = pd.Categorical(users["user_occupation"]).codes.astype(np.int32) + 1
    pad = lambda a: np.concatenate([a, [0]]).astype(np.int32)
    return {"age": pad(age), "gender": pad(gender), "occupation": pad(occupation), "joined": joined(ds)}


JOINED_BUCKETS = 8  # the join time as a token: which eighth of the data's time span the user arrived in


def user_tokens(ds: Dataset):
    """The user features as tokens, a sparse [U, T] 0/1 matrix: one column per age bucket, gender, occupation
    and join-time bucket (each user has 4 ones). A history encoder reads them beside the user's movies, as
    a few more inputs: a user without ratings is then described by these alone."""
    import scipy.sparse

    tables = user_tables(ds)
    joined_bucket = np.minimum((tables["joined"][:-1, 0] * JOINED_BUCKETS).astype(np.int64), JOINED_BUCKETS - 1)
    columns, offset = [], 0
    for values, size in ((tables["age"][:-1], len(AGE_BUCKETS) + 1), (tables["gender"][:-1], 3),
                         (tables["occupation"][:-1], int(tables["occupation"].max()) + 1),
                         (joined_bucket, JOINED_BUCKETS)):
        columns.append(offset + np.asarray(values, np.int64))
        offset += size
    n = len(ds.user_ids)
    cols = np.stack(columns, axis=1).ravel()
    rows = np.repeat(np.arange(n), len(columns))
    return scipy.sparse.csr_array((np.ones(len(cols), np.float32), (rows, cols)), shape=(n, offset))


def joined(ds: Dataset) -> np.ndarray:
    """[U + 1, 1] float32: each user's first rating time scaled to [0, 1] (last row: unknown user, 0)."""
    r = ds.ratings
    t = r["timestamp"].to_numpy().astype(np.float64)
    first = np.full(len(ds.user_ids), np.inf)
    np.minimum.at(first, r["user_idx"].to_numpy(), t)
    first[~np.isfinite(first)] = t.min()  # a user without ratings: as early as the data
    scaled = (first - t.min()) / max(t.max() - t.min(), 1.0)
    return np.concatenate([scaled, [0.0]]).astype(np.float32)[:, None]


def movie_tables(ds: Dataset, max_words: int = 12) -> dict:
    """Genre multi-hot and title word ids of each distinct title (row = title index)."""
    genres = ds.title_genres.loc[ds.titles]
    names = sorted({g for gs in genres for g in gs.split("|") if g} | set(GENRES_100K))
    col = {g: i for i, g in enumerate(names)}
    multi_hot = np.zeros((len(ds.titles) + 1, len(names)), dtype=np.float32)
    for i, gs in enumerate(genres):
        for g in gs.split("|"):
            if g:
                multi_hot[i, col[g]] = 1.0
    words = [re.findall(r"[a-z0-9']+", t.lower())[:max_words] for t in ds.titles]
    vocab = {w: i + 1 for i, w in enumerate(sorted({w for ws in words for w in ws}))}  # 0 = padding
    tokens = np.zeros((len(ds.titles) + 1, max_words), dtype=np.int32)
    for i, ws in enumerate(words):
        tokens[i, :len(ws)] = [vocab[w] for w in ws]
    return {"genres": multi_hot, "title_words": tokens}
