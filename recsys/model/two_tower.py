"""The two-tower retrieval model of the TFRS tutorial, and a faster exact form of its loss.

Two towers map a user and a movie to vectors in the same space; the score of a pair is
their dot product. Training (``tfrs.tasks.Retrieval``) is *in-batch softmax*: for each
(user, movie) row of a batch, the other rows' movies are the negatives, and the loss is
the cross-entropy of picking the row's own movie among all B movies of the batch:

    loss_i = -s(u_i, m_i) + log sum_j exp s(u_i, m_j)        (j over the B rows)

A batch of 8,192 ML-100k ratings holds only ~900 distinct users and ~1,400 distinct titles,
so most of the B x B score matrix is repeats. Grouping equal columns gives *exactly* the
same loss with a log-count per distinct movie c (n_c = how often c is in the batch):

    loss_i = -s(u_i, m_i) + log sum_c n_c exp s(u_i, c)

``InBatchSoftmax`` computes that on the distinct-users x distinct-movies matrix (~40x fewer
multiply-adds than the tutorial's), with the same options as ``Retrieval``: temperature,
log-Q sampling-bias correction, accidental-hit removal (hard-negative mining falls back to
the plain B x B form).

Two levers beyond the tutorial live in the towers (see ``TrainConfig``):

- ``movie_bias``: a learned number b_m per movie, started at log P(movie), added to every
  score. It is folded into the vectors (users end in 1, movies in b_m), so retrieval is still
  one dot product and any index serves it.
- ``user_id_dropout``: in each batch some users are trained without their id vector, as if
  never seen, so the towers learn what to recommend to a stranger from the bias and the
  user's features alone. With either lever the user ids start at zero, so a user with no
  training rating *is* that stranger (with Keras' random start it would get noise).
  Id dropout needs ``movie_bias`` or ``user_features``: a stranger with neither is all zeros.
  When serving, the id vector is scaled by the keep rate 1 - p, as classic dropout does
  (Srivastava et al. 2014): in training the id was present only that share of the time, so
  the rest of the tower learned to carry the remainder. Unscaled, the id term is louder than
  anything training saw, and a user's own training movies crowd the top of their list
  (on ML-100k's random split, top-1 among all movies falls below the popularity baseline).
- ``user_history``: the user vector gets the mean of a learned vector h_c over the movies c
  the user rated in training (the YouTube two-tower recipe: a user is also what they watched).
  Training leaves each row's own movie out of its history: otherwise "the answer is in the
  question", and the model would learn to recommend what the user has already seen. Each
  step reads only the histories of the batch's users (a ragged gather). Serving (and test)
  uses all of a user's training ratings, the validation slice included, as EASE and the
  other baselines do; validation is scored with the fitted ratings alone.
- ``history_encoder``: the user tower *reads* the history (``HistoryEncoder``): the multi-hot
  vector x of the user's training movies, at length 1, through a linear layer (or tanh MLP),
  u = x/||x|| W + b. EASE (Steck 2019) is this two-tower model with W a catalog x catalog matrix
  fitted in closed form: its user vector is the history itself, its movie vectors the columns
  of W. A d-dimensional W learns a compact version of that map. ``history_dropout`` hides a
  share of the input movies at each step (a denoising autoencoder): without it the cheapest
  way to score a user's movies high is to copy the input, and the model learns the identity.
  With ``user_id`` off the user *is* their history, so anyone can be scored from a list of
  movies (``recsys/model/fold_in.py``).
- ``multinomial``: one example per user, the log-likelihood of all their training movies H_u
  under one softmax over the whole catalog (Mult-DAE, Liang et al. 2018):

      loss_u = - sum_{m in H_u} log softmax(s_u)_m = |H_u| log sum_c exp s(u, c) - sum_{m in H_u} s(u, m)

  Every movie of the catalog is a negative of every user, none is sampled, so the scores need
  no log-Q correction (that corrects for *sampled* negatives being mostly popular ones).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys.config import TrainConfig
from recsys.model.fold_in import PREFIX

_MIN_LOG = -1e9  # log-weight of a column that must not count (exp underflows to 0)


class InBatchSoftmax(tfrs.tasks.Retrieval):
    """``tfrs.tasks.Retrieval``'s loss (summed over rows), over distinct users and movies."""

    def call(self, query_embeddings, candidate_embeddings, query_index, candidate_index,
             candidate_sampling_probability=None, training: bool = True):
        """Loss of a batch given its *distinct* embeddings.

        query_embeddings: [U, d] distinct users of the batch; candidate_embeddings: [C, d]
        distinct movies; query_index / candidate_index: [B] which distinct user / movie each
        row holds; candidate_sampling_probability: [C] P(movie), for log-Q correction.
        """
        if self._num_hard_negatives:  # the plain form: expand to B x B and let TFRS do it
            queries = tf.gather(query_embeddings, query_index)
            candidates = tf.gather(candidate_embeddings, candidate_index)
            probs = None if candidate_sampling_probability is None else tf.gather(
                candidate_sampling_probability, candidate_index)
            # TFRS's call reads its rank with len(tf.shape(x)), which needs AutoGraph in a graph: the training
            # step is traced without it (train.step_function), so this one call is converted here.
            return tf.autograph.to_graph(tfrs.tasks.Retrieval.call)(
                self, queries, candidates, candidate_sampling_probability=probs,
                candidate_ids=candidate_index if self._remove_accidental_hits else None,
                compute_metrics=False, compute_batch_metrics=False)

        scores = tf.matmul(query_embeddings, candidate_embeddings, transpose_b=True)  # [U, C]
        if self._temperature is not None:
            scores = scores / self._temperature
        if candidate_sampling_probability is not None:  # log-Q: as tfrs.layers.loss.SamplingProbablityCorrection
            scores = scores - tf.math.log(tf.clip_by_value(candidate_sampling_probability, 1e-6, 1.0))[None, :]
        counts = tf.math.bincount(candidate_index, minlength=tf.shape(candidate_embeddings)[0], dtype=tf.float32)
        log_counts = tf.math.log(counts)[None, :]
        positive = tf.gather_nd(scores, tf.stack([query_index, candidate_index], axis=1))  # [B]
        if self._remove_accidental_hits:
            # The row's own movie counts once; its other copies in the batch are not negatives.
            rows = tf.gather(scores, query_index) + log_counts  # [B, C]
            own = tf.one_hot(candidate_index, tf.shape(scores)[1])
            rows = rows - own * tf.gather(log_counts[0], candidate_index)[:, None]
            normaliser = tf.reduce_logsumexp(rows, axis=1)
        else:
            normaliser = tf.gather(tf.reduce_logsumexp(scores + log_counts, axis=1), query_index)
        per_row = normaliser - positive
        return tf.reduce_sum(per_row)


class Tower(tf.keras.Model):
    """Id embedding, optionally with side features and an MLP: one side of the two towers.

    Side features are constant per id (a user's age, a movie's genres), so they live in
    lookup tables inside the tower and the tower's input stays a batch of integer ids.
    """

    def __init__(self, vocab_size: int, dim: int, tables: dict | None = None, deep_layers=(), name=None,
                 zero_init: bool = False, id_dropout: float = 0.0, use_id: bool = True):
        super().__init__(name=name)
        self.use_id = use_id
        # Keras' default is uniform(-0.05, 0.05). Zeros: an id that is never trained (a user with no
        # training ratings) keeps the zero vector, the "stranger" that id dropout trains for.
        self.id_embedding = tf.keras.layers.Embedding(vocab_size + 1, dim, name="id",  # last row: unknown id
                                                      embeddings_initializer="zeros" if zero_init else "uniform")
        self.id_dropout = id_dropout
        self.tables = {k: tf.constant(v) for k, v in (tables or {}).items()}
        self.feature_layers = {}
        for key, table in self.tables.items():
            if table.dtype == tf.float32:  # multi-hot (genres): a dense projection
                self.feature_layers[key] = tf.keras.layers.Dense(dim, use_bias=False, name=key)
            elif len(table.shape) == 2:    # token ids (title words): mean of word embeddings
                self.feature_layers[key] = tf.keras.layers.Embedding(int(np.max(table)) + 1, dim, mask_zero=True, name=key)
            else:                          # categorical (age bucket, gender, occupation)
                self.feature_layers[key] = tf.keras.layers.Embedding(int(np.max(table)) + 1, max(4, dim // 4), name=key)
        self.mlp = [tf.keras.layers.Dense(h, activation="relu") for h in deep_layers]
        self.out = tf.keras.layers.Dense(dim, name="projection") if (self.tables or deep_layers) else None

    def call(self, ids, training=None):
        parts = []
        if self.use_id:
            emb = self.id_embedding(ids)
            if training and self.id_dropout:  # hide the id of some users: they must be described without it
                keep = tf.cast(tf.random.uniform(tf.shape(ids)) >= self.id_dropout, emb.dtype)
                emb = emb * keep[:, None]
            elif self.id_dropout:  # serving: the id's average weight in training (classic dropout)
                emb = emb * (1.0 - self.id_dropout)
            parts.append(emb)
        for key, table in self.tables.items():
            value = tf.gather(table, ids)
            emb = self.feature_layers[key](value)
            if len(table.shape) == 2 and table.dtype != tf.float32:
                mask = tf.cast(value > 0, tf.float32)[..., None]
                emb = tf.reduce_sum(emb * mask, axis=-2) / tf.maximum(tf.reduce_sum(mask, axis=-2), 1.0)
            parts.append(emb)
        x = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
        for layer in self.mlp:
            x = layer(x)
        return self.out(x) if self.out is not None else x


class HistoryEncoder(tf.keras.layers.Layer):
    """x -> u: a user's movies as a multi-hot vector at length 1, through Dense layers (maths: ``fold_in``).

    The first layer is a weighted sum of rows of W_1 (an embedding bag), so a step reads only
    the batch's histories, never a users x catalog matrix. Hidden layers (``deep_layers``) take
    tanh, as Mult-DAE's; the last layer is linear. ``dropout``: while training each input movie
    is hidden with this probability and the kept ones count 1/(1 - p) more (inverted dropout on
    x/||x||, so the expected input is unchanged and serving needs no rescaling).
    """

    def __init__(self, n_titles: int, dim: int, hidden=(), dropout: float = 0.0, name="history_encoder"):
        super().__init__(name=name)
        widths = list(hidden) + [dim]
        self.first = tf.keras.layers.Embedding(n_titles, widths[0], name="w0")  # row c: movie c's column of W_1
        self.first_bias = self.add_weight(name="b0", shape=[widths[0]], initializer="zeros")
        self.rest = [tf.keras.layers.Dense(w, name=f"w{i + 1}") for i, w in enumerate(widths[1:])]
        self.dropout = dropout

    def call(self, movies: tf.RaggedTensor, training=None):
        """movies: ragged [B, None] movie indices, one row per user -> [B, dim]."""
        return self.finish(self.bag(movies, self.keep(movies, training)))

    def keep(self, movies: tf.RaggedTensor, training=None):
        """[N] weight of each input movie at this step: 0 if dropped, else 1/(1 - p); all 1 when serving."""
        if training and self.dropout:
            kept = tf.cast(tf.random.uniform(tf.shape(movies.flat_values)) >= self.dropout, tf.float32)
            return kept / (1.0 - self.dropout)
        return tf.ones(tf.shape(movies.flat_values), tf.float32)

    def bag(self, movies: tf.RaggedTensor, keep):
        """x/||x|| W_1, each movie's row times its ``keep`` weight: [B, width]."""
        rows = movies.value_rowids()
        counts = tf.cast(movies.row_lengths(), tf.float32)
        weight = tf.gather(tf.math.rsqrt(tf.maximum(counts, 1.0)), rows) * keep
        if not self.first.built:
            self.first.build(None)
        x = tf.sparse.SparseTensor(tf.stack([rows, tf.cast(movies.flat_values, tf.int64)], axis=1), weight,
                                   tf.stack([movies.nrows(), tf.cast(self.first.input_dim, tf.int64)]))
        return tf.sparse.sparse_dense_matmul(x, self.first.embeddings)  # x/||x|| as a sparse row times W_1

    def finish(self, bag):
        """From the first layer's sum to the user vector: + b_1, then the hidden layers (tanh in between)."""
        h = bag + self.first_bias
        for layer in self.rest:
            h = layer(tf.tanh(h))
        return h

    def leave_one_out(self, lists: tf.RaggedTensor, user_index, movies, training=None):
        """Per row (user ``lists[user_index]``, movie ``movies``): the encoding of that user's list minus the movie.

        Each distinct user's list is summed once (with one dropout draw); a row then takes its
        own movie's share back out and renormalises: (bag * sqrt(n) - keep_m W_m) / sqrt(n - 1).
        The row's movie must be in the list (rows are the fitted ratings, lists their histories).
        """
        keep = self.keep(lists, training)
        bags = self.bag(lists, keep)
        n_titles = tf.cast(self.first.input_dim, tf.int64)
        keys = lists.value_rowids() * n_titles + tf.cast(lists.flat_values, tf.int64)   # sorted: rows are sorted
        user_index, movies = tf.cast(user_index, tf.int64), tf.cast(movies, tf.int64)
        own_keep = tf.gather(keep, tf.searchsorted(keys, user_index * n_titles + movies))
        n = tf.gather(tf.cast(lists.row_lengths(), tf.float32), user_index)
        own = self.first(movies) * own_keep[:, None]
        row = (tf.gather(bags, user_index) * tf.sqrt(n)[:, None] - own) * tf.math.rsqrt(tf.maximum(n - 1.0, 1.0))[:, None]
        return self.finish(row)

    def kernels(self) -> list:
        """The weight matrices (for the L2 penalty)."""
        return [self.first.embeddings] + [layer.kernel for layer in self.rest]

    def arrays(self) -> dict:
        """The layers as NumPy arrays, keyed as ``fold_in`` reads them."""
        out = {f"{PREFIX}w0": self.first.embeddings.numpy(), f"{PREFIX}b0": self.first_bias.numpy()}
        for i, layer in enumerate(self.rest, start=1):
            out[f"{PREFIX}w{i}"], out[f"{PREFIX}b{i}"] = layer.kernel.numpy(), layer.bias.numpy()
        return out


class TwoTowerModel(tfrs.Model):
    """The tutorial's model on integer ids: ``user_model``, ``movie_model`` and a Retrieval task.

    With ``history_encoder`` the user side is ``encoder`` (the history) plus ``user_model`` (id
    and features; absent when both are off). With ``multinomial`` a training example is a user.
    """

    def __init__(self, config: TrainConfig, n_users: int, n_titles: int, candidate_probability=None,
                 user_tables=None, movie_tables=None, history=None, serving_history=None, inputs=None,
                 serving_inputs=None):
        """``history``: [n_users, n_titles] sparse matrix of the fitted ratings (``user_history``,
        ``history_encoder`` and ``multinomial``); ``serving_history``: of all training ratings (default:
        ``history``), what a user's vector is made of when serving and on test. Validation is scored with
        ``history`` alone, so the slice it is scored on never appears in the users' histories.
        ``inputs`` / ``serving_inputs``: what the history encoder reads, when it is more than the movies
        (with ``user_features``: the movies, then the user's feature tokens, ``features.user_tokens``)."""
        super().__init__()
        self.config = config
        self.n_titles = n_titles
        self.history = None
        if config.user_history or config.history_encoder or config.multinomial:
            if history is None:
                raise ValueError("this config needs the matrix of training ratings")
            self.history, self.history_count = _ragged(history)  # row u lists the movies user u rated
            self.serving_history, self.serving_count = _ragged(history if serving_history is None else serving_history)
            self.inputs = self.history if inputs is None else _ragged(inputs)[0]
            self.serving_inputs = self.serving_history if serving_inputs is None else _ragged(serving_inputs)[0]
        if config.user_history:
            self.history_embedding = tf.keras.layers.Embedding(n_titles, config.embedding_dim, name="history",
                                                               embeddings_initializer="zeros")
        vocabulary = n_titles if inputs is None else inputs.shape[1]
        self.encoder = (HistoryEncoder(vocabulary, config.embedding_dim, config.deep_layers, config.history_dropout)
                        if config.history_encoder else None)
        stranger = config.movie_bias or config.user_id_dropout > 0  # levers for users with no ratings
        self.user_model = None
        if config.user_id or (config.user_features and inputs is None):  # else the encoder reads the features
            self.user_model = Tower(n_users, config.embedding_dim, user_tables if config.user_features else None,
                                    config.deep_layers, name="user_model", zero_init=stranger,
                                    id_dropout=config.user_id_dropout, use_id=config.user_id)
        self.movie_model = Tower(n_titles, config.embedding_dim, movie_tables if config.movie_features else None,
                                 config.deep_layers, name="movie_model")
        self.movie_bias = None
        if config.movie_bias:  # starts at log P(movie): "recommend what is popular", then learns
            prior = np.zeros(n_titles + 1, np.float32)
            if candidate_probability is not None:
                prior[:n_titles] = np.log(np.clip(candidate_probability, 1e-6, 1.0))
            prior[n_titles] = np.log(1e-6)  # the unknown title
            self.movie_bias = tf.keras.layers.Embedding(
                n_titles + 1, 1, embeddings_initializer=tf.keras.initializers.Constant(prior[:, None]),
                name="movie_bias")
        self.task = InBatchSoftmax(
            temperature=config.temperature if config.temperature != 1.0 else None,
            remove_accidental_hits=config.remove_accidental_hits,
            num_hard_negatives=config.num_hard_negatives or None,
        )
        self.candidate_probability = (tf.constant(candidate_probability, tf.float32)
                                      if config.popularity_correction else None)

    def towers(self, users, movies, training=False):
        """Vectors of the given user and movie ids; with ``movie_bias`` each gets one more number.

        The bias b_m is folded into the dot product: user vectors end in 1, movie vectors in
        b_m, so u . m + b_m is still a plain dot product that any nearest-neighbour index serves.
        The user side here is the id/feature tower only (zeros without it); the history is added
        by the caller, who knows which history each row may read.
        """
        if self.user_model is not None:
            queries = self.user_model(users, training=training)
        else:
            queries = tf.zeros([tf.shape(users)[0], self.config.embedding_dim])
        candidates = self.movie_model(movies, training=training)
        if self.movie_bias is None:
            return queries, candidates, queries, candidates
        ones = tf.ones_like(queries[:, :1])
        return (tf.concat([queries, ones], axis=1), tf.concat([candidates, self.movie_bias(movies)], axis=1),
                queries, candidates)

    def history_sums(self, users, history=None):
        """Sum of h_c over each given user's movies in ``history`` (default: the fitted ones): [len(users), d].

        Only the given users' lists are read, so a step costs the batch's histories, not the
        whole ratings matrix.
        """
        movies = tf.gather(self.history if history is None else history, users)  # ragged [U, None]
        return tf.reduce_sum(tf.ragged.map_flat_values(self.history_embedding, movies), axis=1)

    def _with_history(self, row_queries, users, user_index, features, training):
        """Per-row user vectors: the user's vector plus what their history minus this row's movie says.

        ``users``: the batch's distinct users; ``user_index``: which of them each row holds.
        ``user_history``: the mean of h over that history; ``history_encoder``: the encoder of it.
        """
        if self.encoder is not None:
            lists = tf.gather(self.inputs, users)                                  # ragged [U, None]
            row_queries = _plus(row_queries, self.encoder.leave_one_out(lists, user_index, features["title_idx"],
                                                                        training))
        if not self.config.user_history:
            return row_queries
        sums = tf.gather(self.history_sums(users), user_index)                # [B, d]
        own = self.history_embedding(features["title_idx"])                    # [B, d]: h of the row's movie
        others = tf.maximum(tf.gather(self.history_count, features["user_idx"]) - 1.0, 1.0)[:, None]
        return _plus(row_queries, (sums - own) / others)

    def _penalty(self, q_raw, c_raw):
        """``l2`` times the squared size of the step's tower vectors (and of the encoder's weights)."""
        total = tf.reduce_sum(tf.square(q_raw)) + tf.reduce_sum(tf.square(c_raw))
        if self.encoder is not None:
            total += tf.add_n([tf.reduce_sum(tf.square(w)) for w in self.encoder.kernels()])
        return self.config.l2 * total

    def compute_loss(self, features, training=False):
        if self.config.multinomial:
            return self._multinomial_loss(features, training)
        if self.config.full_softmax:
            return self._full_softmax_loss(features, training)
        users, user_index = tf.unique(features["user_idx"])
        movies, movie_index = tf.unique(features["title_idx"])
        queries, candidates, q_raw, c_raw = self.towers(users, movies, training)
        probability = None if self.candidate_probability is None else tf.gather(self.candidate_probability, movies)
        if self.history is None:
            loss = self.task(queries, candidates, user_index, movie_index, probability)
        else:  # every row has its own user vector now: rows are the "distinct users"
            rows = self._with_history(tf.gather(queries, user_index), users, user_index, features, training)
            loss = self.task(rows, candidates, tf.range(tf.shape(rows)[0]), movie_index, probability)
        if self.config.l2:
            loss += self._penalty(q_raw, c_raw)
        return loss

    def _full_softmax_loss(self, features, training):
        """``full_softmax``: every row's movie against the whole catalog, the exact softmax.

            loss_i = -s(u_i, m_i) + log sum_c exp s(u_i, c)        (c over all C movies)

        The log-sum-exp is computed once per distinct user of the batch ([U, C] scores), or
        per row with a history (each row has its own). No negatives are sampled, so there is
        no sampling bias and log-Q has nothing to correct.
        """
        users, user_index = tf.unique(features["user_idx"])
        batch_movies, _ = tf.unique(features["title_idx"])
        queries, candidates, q_raw, c_raw = self.towers(users, tf.range(self.n_titles), training)
        if self.history is not None:
            queries = self._with_history(tf.gather(queries, user_index), users, user_index, features, training)
            user_index = tf.range(tf.shape(queries)[0])
        scores = tf.matmul(queries, candidates, transpose_b=True)               # [U or B, C]
        if self.config.temperature != 1.0:
            scores = scores / self.config.temperature
        positive = tf.gather_nd(scores, tf.stack([user_index, features["title_idx"]], axis=1))
        loss = tf.reduce_sum(tf.gather(tf.reduce_logsumexp(scores, axis=1), user_index) - positive)
        if self.config.l2:  # the batch's users and movies, as in the in-batch loss
            loss += self._penalty(q_raw, tf.gather(c_raw, batch_movies))
        return loss

    def _multinomial_loss(self, features, training):
        """``multinomial``: the batch is users (``features["user_idx"]``), each with all its fitted movies.

            loss_u = |H_u| log sum_c exp s(u, c) - sum_{m in H_u} s(u, m)

        The user's vector reads the same history it is asked to predict; ``history_dropout``
        is what stops it from copying its input.
        """
        users = features["user_idx"]
        targets = tf.gather(self.history, users)                                 # ragged [B, None]
        queries, candidates, q_raw, c_raw = self.towers(users, tf.range(self.n_titles), training)
        queries = self._history_part(queries, users, training)
        scores = tf.matmul(queries, candidates, transpose_b=True)               # [B, C]
        if self.config.temperature != 1.0:
            scores = scores / self.config.temperature
        rows = targets.value_rowids()
        positive = tf.reduce_sum(tf.gather_nd(scores, tf.stack([rows, tf.cast(targets.flat_values, tf.int64)], 1)))
        counts = tf.cast(targets.row_lengths(), tf.float32)
        loss = tf.reduce_sum(tf.reduce_logsumexp(scores, axis=1) * counts) - positive
        if self.config.l2:
            loss += self._penalty(q_raw, c_raw)
        return loss

    def _history_part(self, queries, users, training=False, serving=False):
        """``queries`` plus what each user's history (fitted, or all training ratings when ``serving``) says."""
        if self.encoder is not None:
            inputs = tf.gather(self.serving_inputs if serving else self.inputs, users)
            queries = _plus(queries, self.encoder(inputs, training=training))
        if self.config.user_history:
            lists = tf.gather(self.serving_history if serving else self.history, users)
            sums = tf.reduce_sum(tf.ragged.map_flat_values(self.history_embedding, lists), axis=1)
            counts = tf.cast(lists.row_lengths(), tf.float32)
            queries = _plus(queries, sums / tf.maximum(counts, 1.0)[:, None])
        return queries

    def vectors(self, n_users: int, n_titles: int, serving: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """All user vectors [U, d] and all movie vectors [C, d], for evaluation and indexes.

        With a history a user's vector reads their whole training history (``serving``), or
        the fitted ratings only (``serving=False``: for the validation slice).
        """
        ids = tf.range(n_users)
        users, movies, _, _ = self.towers(ids, tf.range(n_titles))
        if self.history is not None:
            users = self._history_part(users, ids, serving=serving)
        return users.numpy(), movies.numpy()

    def encoder_arrays(self, user_vectors_without_history: np.ndarray | None = None) -> dict:
        """The history encoder as NumPy arrays for ``fold_in``, with the "stranger" vector s.

        s is what the id/feature tower adds for someone who is not a training user: zero
        without that tower, else the mean of the training users' tower vectors (so a visitor
        is an average user plus their movies).
        """
        out = self.encoder.arrays()
        d = self.config.embedding_dim
        stranger = np.zeros(d, np.float32)
        if self.user_model is not None:
            stranger = np.asarray(user_vectors_without_history, np.float32)[:, :d].mean(axis=0)
        if self.movie_bias is not None:
            stranger = np.concatenate([stranger, [1.0]]).astype(np.float32)
        out[f"{PREFIX}stranger"] = stranger
        return out


def _ragged(matrix):
    """A sparse [users, movies] matrix as a ragged tensor of each user's movies, and each user's count."""
    csr = matrix.tocsr(copy=True)
    csr.sort_indices()  # each row ascending: leave_one_out finds a row's movie by binary search
    lists = tf.RaggedTensor.from_row_splits(csr.indices.astype(np.int32), csr.indptr.astype(np.int64))
    return lists, tf.constant(np.diff(csr.indptr).astype(np.float32))


def _plus(users, history):
    """``users`` + ``history`` on the first d numbers; the movie-bias column (if any) stays 1."""
    return users + tf.concat([history, tf.zeros_like(users[:, history.shape[1]:])], axis=1)
