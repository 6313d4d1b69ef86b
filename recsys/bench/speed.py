"""Benchmarks: our path against the reference, measured in the same run.

- ``bench train``: the TFRS tutorial's own code (string ids looked up inside the towers,
  ``shuffle(100_000).batch(8192).cache()``, the B x B in-batch softmax) against ours
  (integer ids, the same loss over distinct users x distinct movies), same data, same config.
- ``bench eval``: ``tfrs.metrics.FactorizedTopK`` (streaming the catalog through a top-K
  layer, as the tutorial's ``model.evaluate``) against our exact ranks (a binary search in each user's sorted row).
- ``bench ann``: see ``recsys/bench/ann.py``; ``bench scale``: ``recsys/bench/scale.py``.

The machine is noisy, so only the ratio of two timings taken side by side means much.
"""
from __future__ import annotations

import time

import numpy as np

from recsys import config as cfg


def tutorial_fit(ds, train_rows: np.ndarray, test_rows: np.ndarray, config: cfg.TrainConfig):
    """The tutorial's model and training loop, verbatim in substance; returns (seconds, top-K dict)."""
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    r = ds.ratings
    titles = ds.titles.astype(str)
    users = ds.user_ids.astype(str)

    def as_tf(rows):
        return tf.data.Dataset.from_tensor_slices({
            "user_id": r["user_id"].to_numpy()[rows].astype(str),
            "movie_title": r["movie_title"].to_numpy()[rows].astype(str)})

    movies = tf.data.Dataset.from_tensor_slices(titles)
    tf.keras.utils.set_random_seed(config.seed)

    class MovielensModel(tfrs.Model):
        def __init__(self):
            super().__init__()
            self.user_model = tf.keras.Sequential([
                tf.keras.layers.StringLookup(vocabulary=users, mask_token=None),
                tf.keras.layers.Embedding(len(users) + 1, config.embedding_dim)])
            self.movie_model = tf.keras.Sequential([
                tf.keras.layers.StringLookup(vocabulary=titles, mask_token=None),
                tf.keras.layers.Embedding(len(titles) + 1, config.embedding_dim)])
            self.task = tfrs.tasks.Retrieval(metrics=tfrs.metrics.FactorizedTopK(
                candidates=movies.batch(128).map(self.movie_model)))

        def compute_loss(self, features, training=False):
            return self.task(self.user_model(features["user_id"]), self.movie_model(features["movie_title"]),
                             compute_metrics=not training)

    model = MovielensModel()
    opt = (tf.keras.optimizers.Adagrad if config.optimizer == "adagrad" else tf.keras.optimizers.Adam)
    model.compile(optimizer=opt(learning_rate=config.learning_rate))
    cached_train = as_tf(train_rows).shuffle(100_000).batch(config.batch_size).cache()
    cached_test = as_tf(test_rows).batch(4096).cache()
    start = time.perf_counter()
    model.fit(cached_train, epochs=config.epochs, verbose=0)
    seconds = time.perf_counter() - start
    ev = model.evaluate(cached_test, return_dict=True, verbose=0)
    return seconds, {f"top_{k}": float(ev[f"factorized_top_k/top_{k}_categorical_accuracy"]) for k in cfg.KS}


def factorized_top_k(user_vectors, movie_vectors, users, movies, batch: int = 4096) -> dict:
    """Top-K accuracy computed by ``tfrs.metrics.FactorizedTopK`` (the reference we must match)."""
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    candidates = tf.data.Dataset.from_tensor_slices(movie_vectors.astype(np.float32)).batch(128)
    metric = tfrs.metrics.FactorizedTopK(candidates=candidates, ks=cfg.KS)
    for s in range(0, len(users), batch):
        metric.update_state(tf.constant(user_vectors[users[s:s + batch]], tf.float32),
                            tf.constant(movie_vectors[movies[s:s + batch]], tf.float32))
    return {f"top_{k}": float(m.result()) for k, m in zip(cfg.KS, metric._top_k_metrics)}


def bench_train(config: cfg.TrainConfig | None = None) -> dict:
    from recsys import data
    from recsys.data import prepared
    from recsys.training import train

    config = config or cfg.TUTORIAL
    ds = prepared.load_dataset(config.variant)
    sp = data.split(ds, config.split, config.split_fraction, config.seed)
    train.fit(config.with_(epochs=1), ds)  # warm-up: TF start-up and tracing are not ours to count
    tut_seconds, tut_top = tutorial_fit(ds, sp.train, sp.test, config)
    ours = train.fit(config, ds)
    return {
        "config": config.to_dict(),
        "tutorial": {"seconds": tut_seconds, "top_100": tut_top["top_100"]},
        "ours": {"seconds": ours.seconds, "top_100": ours.metrics["model"]["test"]["top_100"]},
        "ratio": ours.seconds / tut_seconds,
    }


def bench_eval(config: cfg.TrainConfig | None = None) -> dict:
    from recsys.evaluation import topk
    from recsys.data import prepared
    from recsys.training import train

    config = config or cfg.TUTORIAL
    ds = prepared.load_dataset(config.variant)
    result = train.fit(config, ds)
    p = prepared.prepare(ds, config)
    u, m = result.user_vectors, result.movie_vectors
    start = time.perf_counter()
    ref = factorized_top_k(u, m, p.test_users, p.test_movies)
    ref_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = topk.accuracy_at(topk.ranks(u, m, p.test_users, p.test_movies))
    ours_seconds = time.perf_counter() - start
    return {
        "factorized_top_k_seconds": ref_seconds, "ours_seconds": ours_seconds,
        "speedup": ref_seconds / ours_seconds,
        "max_abs_diff": max(abs(ref[k] - ours[k]) for k in ref),
        "factorized_top_k": ref, "ours": ours,
    }
