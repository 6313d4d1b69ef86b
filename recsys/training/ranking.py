"""``fit(config)``: train the ranking model (stars of a user for a movie), scored by RMSE after every epoch.

The split is a retrieval run's (``prepared.prepare``: same ratings for training, validation and
test on the same settings), so a ranking run scores the held-out ratings a retrieval run
recommends for. After every epoch the model's predictions on test (and on the validation
slice, when there is one) are computed with the NumPy serving path
(``recsys/serving/ranking.py``), so what the history shows is what serving predicts. With a
validation slice the epoch with the lowest validation RMSE is kept (its weights restored),
never one chosen on test. Progress goes through the same callback protocol as the other
trainings (``on_batch``, ``on_epoch``), so the CLI's bar, the job queue and the worker follow it.

A multitask run (``retrieval_weight`` > 0: the model also learns retrieval on its vectors, see
``recsys/model/ranking.py``) also scores, after every epoch, the exact top-K of its user and
movie vectors on the test ratings (``record["retrieval"]``, both metric variants, as a
retrieval run's ``metrics["model"]``); every ranking run has that of its kept vectors in
``metrics["retrieval"]`` (a rating-only model's vectors retrieve poorly: that is the trade-off
``recsys/experiments/multitask.py`` draws). It stays a ranking run: it predicts stars and re-ranks.

Beside the model, on the same split (``baselines``): the global mean and the user/movie bias
baseline (``recsys/evaluation/ranking.py``), its two lambdas chosen on a validation slice of
the training ratings and then refitted on all of them.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from recsys import data as data_mod
from recsys.config import RankingConfig
from recsys.errors import UserError
from recsys.evaluation import ranking as rating_eval
from recsys.evaluation import topk
from recsys.data import prepared
from recsys.training import train

BASELINE_VALIDATION = 0.1  # the slice the bias baseline's lambdas are chosen on (as training/baselines.py)


@dataclass
class RankingResult:
    config: RankingConfig
    arrays: dict                   # RankingModel.arrays of the kept epoch: what vectors.npz holds
    history: list
    metrics: dict                  # {"model": {"test": {"rmse"}, ...}, "global_mean", "biases", "retrieval"}
    seconds: float
    best_epoch: int
    model: object = field(default=None, repr=False)
    strategy: str = ""

    @property
    def user_vectors(self) -> np.ndarray:
        return self.arrays["user_vectors"]

    @property
    def movie_vectors(self) -> np.ndarray:
        return self.arrays["movie_vectors"]


def baselines(ds: data_mod.Dataset, config: RankingConfig) -> dict:
    """The global mean and the tuned bias baseline on ``config``'s split: their test RMSE and settings."""
    return copy.deepcopy(_baselines(ds, config.split, config.split_fraction, config.seed))


@lru_cache(maxsize=8)  # per loaded dataset and split: every ranking run on it shares them
def _baselines(ds, split: str, split_fraction: float, seed: int) -> dict:
    p = prepared.prepare(ds, RankingConfig(split=split, split_fraction=split_fraction, seed=seed,
                                        validation_fraction=BASELINE_VALIDATION))
    n_users, n_movies = len(ds.user_ids), len(ds.titles)
    best = None
    for lam_user in rating_eval.LAMBDAS:
        for lam_movie in rating_eval.LAMBDAS:
            fitted = rating_eval.fit_biases(p.fit_users, p.fit_movies, p.fit_ratings, n_users, n_movies,
                                            lam_user, lam_movie)
            score = rating_eval.rmse(p.val_ratings, rating_eval.predict_biases(fitted, p.val_users, p.val_movies))
            if best is None or score < best[0]:
                best = (score, lam_user, lam_movie)
    val_rmse, lam_user, lam_movie = best
    fitted = rating_eval.fit_biases(p.train_users, p.train_movies, p.train_ratings, n_users, n_movies,
                                    lam_user, lam_movie)
    mu = float(p.train_ratings.mean())
    out = {
        "global_mean": {"test": {"rmse": rating_eval.rmse(p.test_ratings, np.full(len(p.test_ratings), mu))},
                        "params": {"mean": mu}},
        "biases": {"test": {"rmse": rating_eval.rmse(p.test_ratings, rating_eval.predict_biases(
                       fitted, p.test_users, p.test_movies))},
                   "validation": {"rmse": val_rmse},
                   "params": {"lam_user": lam_user, "lam_movie": lam_movie}},
    }
    return out


def fit(config: RankingConfig, ds: data_mod.Dataset | None = None, callback=None) -> RankingResult:
    """Train ``config`` on ``ds`` (default: ML-100k), scoring test (and validation) RMSE after every epoch.

    Reproducible: the seed fixes the split, the initial weights and the batch order, and
    TensorFlow's op determinism is on.
    """
    import tensorflow as tf

    from recsys.data import features
    from recsys.model.ranking import RankingModel
    from recsys.serving.ranking import Ranker

    config = config.validate()
    ds = ds or prepared.load_dataset(config.variant)
    callback = callback or train.Callback()
    p = prepared.prepare(ds, config)
    if len(p.fit_users) < config.batch_size:
        raise UserError(f"batch_size {config.batch_size} is larger than the {len(p.fit_users)} training ratings")
    n_users, n_movies = len(ds.user_ids), len(ds.titles)
    strong = baselines(ds, config)

    started = time.perf_counter()
    tf.keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = RankingModel(config, n_users, n_movies, mean=float(p.fit_ratings.mean()),
                         user_tables=features.user_tables(ds) if config.user_features else None,
                         movie_tables=features.movie_tables(ds) if config.movie_features else None,
                         history=p.fit_seen if config.history else None)
    model.compile(optimizer=train.optimizer_for(config))
    spec = {"user_idx": tf.TensorSpec([None], tf.int32), "title_idx": tf.TensorSpec([None], tf.int32),
            "rating": tf.TensorSpec([None], tf.float32)}
    columns = {"user_idx": p.fit_users, "title_idx": p.fit_movies, "rating": p.fit_ratings}
    train_step = train.step_function(model, columns, spec)
    rng = np.random.default_rng(config.seed)
    history, best = [], None
    for epoch in range(1, config.epochs + 1):
        loss = train.run_epoch(train_step, columns, config.batch_size, rng, epoch, callback)
        arrays = model.arrays(n_users, n_movies)
        ranker = Ranker(arrays)
        record = {"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - started,
                  "test": {"rmse": rating_eval.rmse(p.test_ratings, ranker.predict_pairs(p.test_users, p.test_movies))}}
        if len(p.val_users):
            record["validation"] = {"rmse": rating_eval.rmse(p.val_ratings,
                                                             ranker.predict_pairs(p.val_users, p.val_movies))}
        if config.retrieval_weight:  # a multitask run: how well its vectors retrieve, epoch by epoch
            record["retrieval"] = retrieval_metrics(arrays, p)
        history.append(record)
        # With a validation slice, keep the epoch with the lowest RMSE on it (never look at test).
        score = record["validation"]["rmse"] if len(p.val_users) else -epoch
        if best is None or score < best[0]:
            best = (score, epoch, arrays, record, model.get_weights() if len(p.val_users) else None)
        callback.on_epoch(record)

    _, best_epoch, arrays, record, weights = best
    if weights is not None and best_epoch != config.epochs:
        model.set_weights(weights)  # the saved checkpoint is the kept epoch, like vectors.npz
    metrics = {"model": {"test": record["test"], **({"validation": record["validation"]}
                                                    if "validation" in record else {})}, **strong,
               "retrieval": record.get("retrieval") or retrieval_metrics(arrays, p)}
    return RankingResult(config=config, arrays=arrays, history=history, metrics=metrics,
                         seconds=time.perf_counter() - started, best_epoch=best_epoch, model=model)


def retrieval_metrics(arrays: dict, p: prepared.TrainingData) -> dict:
    """The exact test top-K of a ranking model's user and movie vectors (u . m), both metric variants."""
    return topk.evaluate(arrays["user_vectors"], arrays["movie_vectors"], p.test_users, p.test_movies, p.seen)
