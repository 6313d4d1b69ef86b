"""Fit the strong baselines on one split, choosing their settings on a validation slice, never on test.

For a (dataset, split) the training ratings are cut like a run's ``validation_fraction=0.1``:
the first 90 % fit, the last 10 % validate (on the temporal split, the latest 10 %). Each
baseline's grid is fitted on the 90 % and scored on the slice (seen movies removed: top-10 +
top-100, the variant that matters when recommending); the winner is refitted on all the
training ratings and scored on test, both variants, exactly like a run. The grids:

    EASE      lam in 100, 300, 1000, 3000
    item-kNN  neighbours in 20, 50, 100, 200, all
    iALS      factors 32 / 64 / 128 x alpha 5 / 20 / 50 (regularisation 0.1), then regularisation 0.01 / 1 / 10

A split's baselines do not depend on any model, so they are computed once and kept on disk
(``$RECSYS_HOME/data/baselines/``, written atomically like the data cache; a process that finds
another tuning the same split waits for its answer): every run on the split, and the report's,
reads them back. Catalogs above ``MAX_TITLES`` skip EASE and item-kNN (a titles x titles
matrix: 27k titles of ML-20M would be 5.8 GB).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from functools import lru_cache

import numpy as np

from recsys.evaluation import baselines as b
from recsys.paths import data_dir
from recsys.data import prepared
from recsys.training import train

VERSION = 2
NAMES = ("ease", "itemknn", "ials")
LABELS = {"popularity": "Popularity", "ease": "EASE", "itemknn": "Item-kNN", "ials": "iALS"}
VALIDATION = 0.1
MAX_TITLES = 10_000
GRIDS = {
    "ease": [{"lam": v} for v in (100.0, 300.0, 1000.0, 3000.0)],
    "itemknn": [{"neighbours": v} for v in (20, 50, 100, 200, None)],
    "ials": [{"factors": f, "alpha": a, "regularization": 0.1} for f in (32, 64, 128) for a in (5.0, 20.0)],
}
IALS_REGULARIZATION = (1.0, 10.0)


def scores(name: str, params: dict, x, seed: int, similarity=None) -> np.ndarray:
    """Baseline ``name``'s full [users x movies] scores from the training matrix ``x``."""
    if name == "ease":
        return x @ b.ease(x, params["lam"])
    if name == "itemknn":
        return x @ b.itemknn_weights(x, params["neighbours"], similarity)
    users, movies = b.ials(x, params["factors"], params["regularization"], params["alpha"], seed=seed)
    return users @ movies.T


def validation_score(result: dict) -> float:
    """What the grid maximises on the validation slice: top-10 + top-100 with seen movies removed."""
    return result["test_filtered"]["top_10"] + result["test_filtered"]["top_100"]


def tune(name: str, v: prepared.TrainingData, seed: int) -> tuple[dict, float]:
    """The best settings of ``name`` on ``v``'s validation slice, and their validation score."""
    n_users, n_movies = len(v.ds.user_ids), len(v.ds.titles)
    x = b.interactions(n_users, n_movies, v.fit_users, v.fit_movies)
    similarity = b.cosines(x) if name == "itemknn" else None

    def score(params):
        s = scores(name, params, x, seed, similarity)
        return validation_score(b.evaluate_scores(s, v.val_users, v.val_movies, v.fit_seen, v.fit_movies))

    tried = [(score(params), params) for params in GRIDS[name]]
    best_score, best = max(tried, key=lambda t: t[0])
    if name == "ials":  # then the regularisation, around the best size
        more = [(score({**best, "regularization": r}), {**best, "regularization": r}) for r in IALS_REGULARIZATION]
        best_score, best = max([(best_score, best)] + more, key=lambda t: t[0])
    return best, float(best_score)


def fit_all(ds, split: str, split_fraction: float, seed: int, progress=None) -> dict:
    """``{name: {"test", "test_filtered", "params", "validation", "seconds"}}`` for every baseline on one split."""
    note = progress or (lambda text: None)
    config = train.TrainConfig(split=split, split_fraction=split_fraction, seed=seed)
    p = prepared.prepare(ds, config)                                     # the split: train and test
    v = prepared.prepare(ds, config.with_(validation_fraction=VALIDATION))  # the same training ratings, cut 90 / 10
    n_users, n_movies = len(ds.user_ids), len(ds.titles)
    x = b.interactions(n_users, n_movies, p.train_users, p.train_movies)
    out = {}
    for name in NAMES:
        if name != "ials" and n_movies > MAX_TITLES:
            continue
        note(f"baselines: tuning {LABELS[name]} on the validation slice…")
        started = time.perf_counter()
        params, score = tune(name, v, seed)
        result = b.evaluate_scores(scores(name, params, x, seed), p.test_users, p.test_movies, p.seen, p.train_movies)
        out[name] = {**result, "params": params, "validation": score, "seconds": time.perf_counter() - started}
    return out


def for_split(ds, split: str, split_fraction: float, seed: int, progress=None) -> dict:
    """The split's baselines, from the disk cache when computed before (see the module docstring)."""
    return _for_split(ds, split, float(split_fraction), int(seed), progress)


@lru_cache(maxsize=8)
def _for_split(ds, split, split_fraction, seed, progress) -> dict:
    found = cached(ds, split, split_fraction, seed)
    if found is not None:
        return found
    path = cache_path(ds, split, split_fraction, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:  # two processes on one new split (two training workers)
        try:                                            # tune it once: the second waits, then reads the first's
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            (progress or (lambda text: None))("baselines: another training is tuning them on this split; waiting…")
            fcntl.flock(lock, fcntl.LOCK_EX)
        found = cached(ds, split, split_fraction, seed)
        if found is not None:
            return found
        out = fit_all(ds, split, split_fraction, seed, progress)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump({"version": VERSION, "baselines": out}, f)
        os.replace(tmp, path)  # complete or absent, as the other caches
    return out


def cached(ds, split: str, split_fraction: float, seed: int) -> dict | None:
    """The split's baselines if computed already (the Train page's live chart does not wait for them)."""
    try:
        return json.loads(cache_path(ds, split, float(split_fraction), int(seed)).read_text())["baselines"]
    except (OSError, ValueError, KeyError):
        return None


def cache_path(ds, split: str, split_fraction: float, seed: int):
    key = json.dumps({"data": f"ml-{ds.variant}/{ds.source}", "ratings": int(len(ds.ratings)), "split": split,
                      "fraction": split_fraction, "seed": seed, "version": VERSION, "grids": repr(GRIDS)},
                     sort_keys=True)
    return data_dir() / "baselines" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"
