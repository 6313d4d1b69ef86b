"""``fit(config)``: train a two-tower model, evaluating on the test split after every epoch.

Progress is reported through a small callback protocol that the Train page turns into a
progress bar and a live chart, and the CLI into a terminal bar:

    on_batch(epoch, step, steps, loss)   after every optimizer step
    on_epoch(record)                     after every epoch, with loss and test metrics
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from recsys import data as data_mod
from recsys.config import TrainConfig
from recsys.errors import UserError
from recsys.data import prepared
from recsys.evaluation import baselines, item_to_item, topk
from recsys.model import fold_in


class Callback:
    """Receives training progress; override what you need (default: ignore)."""

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        pass

    def on_epoch(self, record: dict) -> None:
        pass


@dataclass
class TrainResult:
    config: TrainConfig
    user_vectors: np.ndarray
    movie_vectors: np.ndarray
    history: list
    metrics: dict              # {"model": {"test", "test_filtered"}, "popularity": {...}, "item_to_item": {...}}
    seconds: float
    best_epoch: int
    model: object = field(default=None, repr=False)  # the Keras model (absent for loaded runs)
    strategy: str = ""         # "" on one device, else e.g. "mirrored x2" (see recsys/training/distributed.py)
    encoder: dict | None = field(default=None, repr=False)  # history_encoder runs: the arrays fold_in reads


def optimizer_for(config):
    import tensorflow as tf

    if config.optimizer == "adagrad":
        return tf.keras.optimizers.Adagrad(config.learning_rate)
    return tf.keras.optimizers.Adam(config.learning_rate)


def step_function(model, columns: dict, spec: dict, rows: int = 512):
    """``model.train_step`` as a ``tf.function`` that is traced once.

    A ``tf.function`` whose first call creates variables is traced twice: once creating them, then
    again without (Keras layers and the optimizer's slots are made on first use). So every variable
    is made here first: one eager ``compute_loss`` on the first ``rows`` examples (no training: no
    dropout, nothing random, so the layers are built in the same order from the same seeds and the
    training is the same bit for bit), then the optimizer's slots. A small model's training costs
    about a tenth of a second less (one trace of ~0.12 s).

    Traced without AutoGraph: the models branch on their settings (Python values), never on a
    tensor, so converting their code to graph control flow would change no op, only cost CPU in
    every process (``benchmarks/train_cpu.py`` prints both: the CPU and a digest of what is
    learned). The one TFRS call that needs it converts itself (``model.two_tower.InBatchSoftmax``).
    """
    import tensorflow as tf

    model.compute_loss({name: tf.constant(values[:rows]) for name, values in columns.items()}, training=False)
    model.optimizer.build(model.trainable_variables)
    return tf.function(model.train_step, input_signature=[spec], autograph=False)


def validation_score(record: dict, seen_only: bool = False) -> float:
    """What "best epoch" maximises: top-10 + top-100 on the validation slice, both variants.

    Both variants, because they pull apart as a model memorises its training ratings: with
    seen movies removed it keeps improving, while among all movies the user's own training
    movies crowd the top of the list. A model that reads the history to rebuild it (the
    multinomial loss) is meant for the seen-removed list alone (``seen_only``): among all
    movies it ranks what the user already rated first by design. Only validation numbers
    enter, never test ones.
    """
    keys = ("validation",) if seen_only else ("validation", "validation_all")
    return sum(record[key]["top_10"] + record[key]["top_100"] for key in keys)


def run_epoch(train_step, columns: dict, batch_size: int, rng, epoch: int, callback: Callback,
              sizes: np.ndarray | None = None) -> float:
    """One pass over the training rows in a fresh random order; the mean batch loss.

    ``columns``: the integer arrays a step is fed (one row per example), cut into batches of
    ``batch_size``. ``sizes``: how many ratings each example holds (a user, for the multinomial
    loss); a batch then takes examples until their ratings reach ``batch_size``. Every step's
    loss goes to ``callback.on_batch``; a loss that is not a finite number stops training with
    a message (the learning rate is too high).
    """
    n = len(next(iter(columns.values())))
    order = rng.permutation(n)
    if sizes is None:
        bounds = np.r_[np.arange(0, n, batch_size), n]
    else:  # example i goes to step (ratings before it) // batch_size
        step_of = (np.cumsum(sizes[order]) - sizes[order]) // batch_size
        bounds = np.r_[0, np.flatnonzero(np.diff(step_of)) + 1, n]
    steps = len(bounds) - 1
    total = 0.0
    for step in range(steps):
        rows = order[bounds[step]:bounds[step + 1]]
        loss = float(train_step({name: values[rows] for name, values in columns.items()})["total_loss"])
        if not np.isfinite(loss):
            raise UserError(f"training diverged at epoch {epoch} (loss {loss}); lower the learning rate")
        total += loss
        callback.on_batch(epoch, step + 1, steps, loss)
    return total / steps


def fit(config: TrainConfig, ds: data_mod.Dataset | None = None, callback: Callback | None = None,
        strategy=None) -> TrainResult:
    """Train ``config`` on ``ds`` (default: ML-100k) and evaluate after every epoch.

    Reproducible: the seed fixes initial weights, the batch order of every epoch and the
    split, and TensorFlow's op determinism is on, so the same config gives the same metrics.
    ``strategy``: a ``tf.distribute`` strategy from ``distributed.make_strategy`` to train on
    several devices or workers (each replica trains on a shard of every batch).
    """
    import tensorflow as tf

    from recsys.data import features
    from recsys.model.two_tower import TwoTowerModel

    config = config.validate()
    if strategy is not None and (config.user_history or config.history_encoder or config.multinomial):
        raise UserError("user_history, history_encoder and multinomial are not supported with --strategy yet: "
                        "train them on one device")
    ds = ds or prepared.load_dataset(config.variant)
    callback = callback or Callback()
    p = prepared.prepare(ds, config)
    if len(p.fit_users) < config.batch_size:
        raise UserError(f"batch_size {config.batch_size} is larger than the {len(p.fit_users)} training ratings")
    n_users, n_movies = len(ds.user_ids), len(ds.titles)

    reads_history = config.user_history or config.history_encoder or config.multinomial
    inputs = (None, None)  # what the history encoder reads: the movies, and the feature tokens with user_features
    if config.history_encoder and config.user_features:
        import scipy.sparse

        tokens = features.user_tokens(ds)
        inputs = tuple(scipy.sparse.hstack([seen, tokens], format="csr") for seen in (p.fit_seen, p.seen))
    started = time.perf_counter()
    tf.keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = TwoTowerModel(
            config, n_users, n_movies, candidate_probability=p.candidate_probability,
            user_tables=features.user_tables(ds) if config.user_features else None,
            movie_tables=features.movie_tables(ds) if config.movie_features else None,
            history=p.fit_seen if reads_history else None,
            serving_history=p.seen if reads_history else None,
            inputs=inputs[0], serving_inputs=inputs[1],
        )
        model.compile(optimizer=optimizer_for(config))
    sizes = None
    if config.multinomial:  # one example per user with fitted ratings, weighed by how many
        per_user = np.diff(p.fit_seen.tocsr().indptr)
        columns = {"user_idx": np.flatnonzero(per_user).astype(np.int32)}
        sizes = per_user[columns["user_idx"]]
    else:
        columns = {"user_idx": p.fit_users, "title_idx": p.fit_movies}
    spec = {name: tf.TensorSpec([None], tf.int32) for name in columns}
    if strategy is None:
        train_step = step_function(model, columns, spec)
    else:
        from recsys.training import distributed

        distributed.build(strategy, model, n_users, n_movies)
        # The distributed step splits (user, movie) rows; the multinomial loss's examples are users.
        train_step = (tf.function(model.train_step, input_signature=[spec], autograph=False) if config.multinomial
                      else distributed.step_function(strategy, model))
    rng = np.random.default_rng(config.seed)
    history, best, best_score = [], None, -1.0
    for epoch in range(1, config.epochs + 1):
        loss = run_epoch(train_step, columns, config.batch_size, rng, epoch, callback, sizes)
        users, movies = model.vectors(n_users, n_movies)
        record = {"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - started,
                  **topk.evaluate(users, movies, p.test_users, p.test_movies, p.seen)}
        if len(p.val_users):  # both variants, as on test: "validation" seen removed, "validation_all" not
            fitted = model.vectors(n_users, n_movies, serving=False)[0] if reads_history else users
            val_all, val_filtered = topk.ranks_both(fitted, movies, p.val_users, p.val_movies, p.fit_seen)
            record["validation"] = topk.accuracy_at(val_filtered)
            record["validation_all"] = topk.accuracy_at(val_all)
        history.append(record)
        # With a validation slice, keep the epoch that is best on it (never look at test).
        score = validation_score(record, config.multinomial) if len(p.val_users) else epoch
        if score > best_score:
            encoder = model.encoder_arrays(model.towers(tf.range(n_users), tf.range(1))[2].numpy()) \
                if model.encoder is not None else None
            best_score, best = score, (epoch, users, movies, record, encoder)
        callback.on_epoch(record)

    best_epoch, users, movies, record, encoder = best
    if encoder is not None and model.user_model is None and not config.user_history:
        # The user *is* their history: every saved user vector comes from the function that
        # folds in a visitor's picks, so both are the same computation (recsys/model/fold_in.py).
        users = fold_in.user_vectors(encoder, p.seen if inputs[1] is None else inputs[1])
    space = item_to_item.similarity_space(movies, config.movie_bias, encoder)
    return TrainResult(
        config=config, user_vectors=users, movie_vectors=movies, history=history,
        metrics={"model": {"test": record["test"], "test_filtered": record["test_filtered"]},
                 "popularity": baselines.popularity_of(p),
                 "item_to_item": item_to_item.evaluate(p, item_to_item.embedding_scores(space), "two_tower")},
        seconds=time.perf_counter() - started, best_epoch=best_epoch, model=model,
        strategy=_describe(strategy), encoder=encoder,
    )


def _describe(strategy) -> str:
    if strategy is None:
        return ""
    from recsys.training import distributed

    return distributed.describe(strategy)
