"""``fit(config)``: train the item-to-item model on pairs of movies from one split's training ratings.

Pairs (``pairs``) are read off each user's training ratings in time order: with
``pairs="next"``, every movie and the one rated right after it; with ``"window"``, every two
movies within ``window`` ratings of each other, both ways round. Test ratings never make a
pair, so the held-out hit rate (``recsys/evaluation/item_to_item.py``) is honest. After every
epoch the model is scored on the validation slice (queries from the fitted ratings, targets
in the slice) and on test; the epoch with the best validation hit rate (@10 + @50) is kept,
never one chosen on test. Progress goes to the same callback protocol as retrieval training
(``on_batch``, ``on_epoch``), so the Train page, the job queue and the CLI follow it alike.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from recsys import data as data_mod
from recsys.config import ItemToItemConfig
from recsys.errors import UserError
from recsys.evaluation import item_to_item as i2i
from recsys.data import prepared
from recsys.training import train


def pairs(users, movies, times, kind: str = "next", window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(query movies, candidate movies)`` from ratings: consecutive per user, or within a window both ways."""
    order = np.lexsort((times, users))
    u, m = np.asarray(users)[order], np.asarray(movies)[order]
    if kind == "next":
        same = u[1:] == u[:-1]
        return m[:-1][same], m[1:][same]
    qs, cs = [], []
    for d in range(1, window + 1):
        same = u[d:] == u[:-d]
        qs += [m[:-d][same], m[d:][same]]
        cs += [m[d:][same], m[:-d][same]]
    return np.concatenate(qs), np.concatenate(cs)


@dataclass
class ItemToItemResult:
    config: ItemToItemConfig
    query_vectors: np.ndarray      # [C, d] each movie through the query tower
    movie_vectors: np.ndarray      # [C, d] each movie through the candidate tower
    history: list
    metrics: dict                  # {"item_to_item": {"item_to_item", "popularity", "itemknn", "queries"}}
    seconds: float
    best_epoch: int
    model: object = field(default=None, repr=False)
    strategy: str = ""


def validation_score(record: dict) -> float:
    """What "best epoch" maximises: hit rate @10 + @50 on the validation slice (never test)."""
    return record["validation"]["hit_10"] + record["validation"]["hit_50"]


def fit(config: ItemToItemConfig, ds: data_mod.Dataset | None = None, callback=None) -> ItemToItemResult:
    """Train ``config`` on ``ds`` (default: ML-100k), scoring validation and test after every epoch."""
    import tensorflow as tf

    from recsys.data import features
    from recsys.model.item_to_item import ItemToItemModel

    config = config.validate()
    ds = ds or prepared.load_dataset(config.variant)
    callback = callback or train.Callback()
    p = prepared.prepare(ds, config)
    n_movies = len(ds.titles)
    q_train, c_train = pairs(p.fit_users, p.fit_movies, p.fit_times, config.pairs, config.window)
    if len(q_train) < config.batch_size:
        raise UserError(f"batch_size {config.batch_size} is larger than the {len(q_train)} training pairs")
    counts = np.bincount(c_train, minlength=n_movies).astype(np.float64)
    popularity = np.bincount(p.train_movies, minlength=n_movies)
    val_q = i2i.queries(p.fit_users, p.fit_movies, p.fit_times, p.val_users, p.val_movies, p.val_times)

    started = time.perf_counter()
    tf.keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = ItemToItemModel(config, n_movies, candidate_probability=(counts / counts.sum()).astype(np.float32),
                            movie_tables=features.movie_tables(ds) if config.movie_features else None)
    model.compile(optimizer=train.optimizer_for(config))
    spec = {"query": tf.TensorSpec([None], tf.int32), "candidate": tf.TensorSpec([None], tf.int32)}
    columns = {"query": q_train.astype(np.int32), "candidate": c_train.astype(np.int32)}
    train_step = train.step_function(model, columns, spec)
    rng = np.random.default_rng(config.seed)
    history, best, best_score = [], None, -1.0
    for epoch in range(1, config.epochs + 1):
        loss = train.run_epoch(train_step, columns, config.batch_size, rng, epoch, callback)
        queries, candidates = model.vectors(n_movies)
        scores = i2i.embedding_scores(*i2i.item_space(queries, candidates))  # as served: cosine
        record = {"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - started,
                  "test": i2i.evaluate(p, scores, "item_to_item")["item_to_item"]}
        if len(val_q):
            record["validation"] = i2i.hit_rate(scores, val_q, popularity)
        history.append(record)
        score = validation_score(record) if len(val_q) else epoch
        if score > best_score:
            best_score, best = score, (epoch, queries, candidates)
        callback.on_epoch(record)

    best_epoch, queries, candidates = best
    return ItemToItemResult(
        config=config, query_vectors=queries, movie_vectors=candidates, history=history,
        metrics={"item_to_item": i2i.evaluate(p, i2i.embedding_scores(*i2i.item_space(queries, candidates)),
                                              "item_to_item")},
        seconds=time.perf_counter() - started, best_epoch=best_epoch, model=model)
