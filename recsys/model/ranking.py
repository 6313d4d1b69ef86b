"""The ranking model of the TFRS basic ranking tutorial: predict the stars a user gives a movie.

Retrieval (``two_tower.py``) picks a few hundred candidates out of the catalog; *ranking*,
the second stage, scores each of those few (user, movie) pairs more carefully. The tutorial's
ranker is a regression on the 1-5 star ratings: a user vector u and a movie vector m
(an embedding of each id, 32 numbers), concatenated and passed through an MLP,

    r_hat(u, m) = MLP([u ; m])          Dense(256, relu) -> Dense(64, relu) -> Dense(1)

trained to minimise the mean squared error of the ratings (``tfrs.tasks.Ranking`` with
``MeanSquaredError``; its metric, the root of it, RMSE, is in stars: an RMSE of 0.9 means a
typical prediction is off by about one star).

Why the tutorial's model scores only ~1.1 (barely better than predicting everyone's mean,
~1.13 on ML-100k) and what our levers (``RankingConfig``) change:

- ``biases``: most of what explains a rating is that some users rate everything high and
  some movies are liked by everyone. The classic *baseline predictor* mu + b_u + b_i
  (``recsys/evaluation/ranking.py``) alone scores ~0.94. Adding it to the MLP's output
  (mu started at the training mean, b_u and b_i at 0) lets the MLP spend itself on how a pair
  departs from it, instead of first having to learn the mean from random weights.
- ``dot``: adds u . m, the interaction of matrix factorisation (Funk's SVD, Koren's
  biased MF): r_hat = mu + b_u + b_i + u . m + MLP([u ; m]). An MLP can learn a dot
  product only roughly from a concatenation (Rendle et al. 2020, "Neural Collaborative
  Filtering vs. Matrix Factorization Revisited"); given it directly, it needs not.
- ``user_features`` / ``movie_features``: the same side features as the retrieval towers
  (age, gender, occupation, join time; genres, title words), projected with the id into u
  and m (``two_tower.Tower``), so a rarely seen user or movie is described by more than
  its few ratings.
- ``l2``: each rating adds l2 * (|u|^2 + |m|^2) of its own user and movie vectors to its
  squared error, the regularisation of SGD matrix factorisation (Funk; Koren et al. 2009). Without
  it the vectors memorise the training stars and the validation RMSE rises after a few epochs.
  The biases are not penalised (a penalty per rating would shrink every bias by about the same
  share, however many ratings back it); penalising them too changed little on the validation slice
  (0.9204 against 0.9199, dim 32, Adam 0.003, L2 0.1).
- ``history``: SVD++'s implicit feedback (Koren 2008): u = p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j,
  with N(u) the movies the user rated in the fitted training ratings and y_j a learned vector per
  movie (started at 0, so training starts as plain matrix factorisation). Which movies a user
  chose to rate says something about their taste, beyond the stars given. All users' sums are
  one sparse-dense product per step (~80k ratings x d), and serving folds them into u.
- ``dropout`` between the MLP's layers, and ``clip`` (a prediction above 5 or below 1 is
  never better than 5 or 1).

On ML-100k's validation slice the winner (``RANKING_BEST``) is biased matrix factorisation with
L2 and no hidden layers (mean test RMSE 0.906 over 3 seeds against the tutorial's 1.107 and the
bias baseline's 0.941): the MLP, with or without dropout, memorised the training stars within a
few epochs, and the features and the history helped too little for their cost (docs/ranking.md).

Multitask (``rating_weight``, ``retrieval_weight``; the TFRS multitask tutorial): with a retrieval
weight the same model also learns retrieval, on the *same* user and movie vectors,

    loss = rating_weight * (MSE + L2 penalty) + retrieval_weight * in-batch softmax(u . m)

the retrieval task being the retrieval runs' (``two_tower.InBatchSoftmax``: each row's movie
against the batch's other movies, summed over rows, no log-Q). Sharing the towers is the point:
the ratings are few and noisy where a user's *choice* of movies is plentiful, so each task can
lend the other what it learned about users and movies (transfer learning). The two pull apart:
retrieval wants u . m to be high for every movie a user rated, a 1-star one as much as a 5-star
one, and low for the rest of the catalog, so it learns *what a user watches* (popularity
included); the rating task wants u . m (through the MLP and the biases) to say *how many stars*
among the rated movies only, and never sees the movies a user did not rate. A rating-only model's
vectors retrieve barely better than chance; a retrieval-only model's rating head is untrained.
In between, the weights choose a point on the trade-off of test RMSE against test top-K
(``recsys/experiments/multitask.py``). With the default weights (1, 0) the model is the pure
ranking model, step for step.

Serving needs no TensorFlow: every user's u (and bias) and every movie's m are computed once
(``RankingModel.arrays``) and, with the MLP's weights, saved in the run's ``vectors.npz``;
``recsys/serving/ranking.py: Ranker`` predicts stars for a user and any candidates in NumPy.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys.config import RankingConfig
from recsys.model.two_tower import InBatchSoftmax, Tower

STARS = (1.0, 5.0)  # the range ``clip`` keeps predictions in


class RankingModel(tfrs.models.Model):
    """User and movie vectors -> MLP (+ biases, + dot product) -> stars, with ``tfrs.tasks.Ranking``."""

    def __init__(self, config: RankingConfig, n_users: int, n_titles: int, mean: float = 0.0,
                 user_tables=None, movie_tables=None, history=None):
        """``mean``: the training ratings' mean, where the global bias starts (``biases`` only);
        ``history``: [n_users, n_titles] sparse matrix of the fitted ratings (``history`` only)."""
        super().__init__()
        self.config = config
        self.history = None
        if config.history:
            if history is None:
                raise ValueError("history needs the matrix of training ratings")
            coo = history.tocoo()
            count = np.maximum(np.bincount(coo.row, minlength=n_users), 1).astype(np.float32)
            self.history = tf.sparse.reorder(tf.SparseTensor(
                np.stack([coo.row, coo.col], axis=1).astype(np.int64),
                (1.0 / np.sqrt(count[coo.row])).astype(np.float32), (n_users, n_titles)))
            self.history_vectors = tf.Variable(tf.zeros((n_titles, config.embedding_dim)), name="history")
        self.user_model = Tower(n_users, config.embedding_dim, user_tables if config.user_features else None,
                                name="user_model")
        self.movie_model = Tower(n_titles, config.embedding_dim, movie_tables if config.movie_features else None,
                                 name="movie_model")
        self.mlp = []
        for h in config.layers:
            self.mlp.append(tf.keras.layers.Dense(h, activation="relu"))
            if config.dropout:
                self.mlp.append(tf.keras.layers.Dropout(config.dropout))
        self.out = tf.keras.layers.Dense(1, name="rating")
        if config.biases:
            self.user_bias = tf.keras.layers.Embedding(n_users + 1, 1, embeddings_initializer="zeros",
                                                       name="user_bias")
            self.movie_bias = tf.keras.layers.Embedding(n_titles + 1, 1, embeddings_initializer="zeros",
                                                        name="movie_bias")
            self.global_bias = tf.Variable(float(mean), dtype=tf.float32, name="global_bias")
        self.task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError(),
                                       metrics=[tf.keras.metrics.RootMeanSquaredError()])
        # The multitask model's second task: retrieval on the same vectors (None: the pure ranking model).
        self.retrieval = InBatchSoftmax() if config.retrieval_weight else None

    def user_vectors(self, users, training=False):
        """The user vectors u [B, d] of user indices: the tower (+ the SVD++ history)."""
        u = self.user_model(users, training=training)
        if self.history is not None:  # |N(u)|^-1/2 sum of y_j over the movies j user u rated (SVD++)
            u += tf.gather(tf.sparse.sparse_dense_matmul(self.history, self.history_vectors), users)
        return u

    def predict_stars(self, users, movies, training=False):
        """Predicted stars [B] of (user, movie) pairs, and the penalty of the vectors they used."""
        u = self.user_vectors(users, training)
        m = self.movie_model(movies, training=training)
        x = tf.concat([u, m], axis=1)
        for layer in self.mlp:
            x = layer(x, training=training)
        stars = self.out(x)[:, 0]
        penalty = tf.reduce_sum(tf.square(u), axis=1) + tf.reduce_sum(tf.square(m), axis=1)
        if self.config.dot:
            stars += tf.reduce_sum(u * m, axis=1)
        if self.config.biases:
            bu, bm = self.user_bias(users)[:, 0], self.movie_bias(movies)[:, 0]
            stars += self.global_bias + bu + bm
        if self.config.clip and not training:  # clipped while training, a star beyond 5 would get no gradient
            stars = tf.clip_by_value(stars, *STARS)
        return stars, penalty

    def call(self, features, training=False):
        return self.predict_stars(features["user_idx"], features["title_idx"], training)[0]

    def compute_loss(self, features, training=False):
        users, movies = features["user_idx"], features["title_idx"]
        stars, penalty = self.predict_stars(users, movies, training)
        loss = self.task(labels=features["rating"], predictions=stars, training=training)
        if self.config.l2:
            loss += self.config.l2 * tf.reduce_mean(penalty)
        if self.retrieval is None and self.config.rating_weight == 1.0:
            return loss  # the pure ranking model
        loss = self.config.rating_weight * loss
        if self.retrieval is not None:
            loss += self.config.retrieval_weight * self.retrieval_loss(users, movies, training)
        return loss

    def retrieval_loss(self, users, movies, training=False):
        """The in-batch softmax loss of the rows' (user, movie) pairs on u . m (summed over rows)."""
        distinct_users, query_index = tf.unique(users)
        distinct_movies, candidate_index = tf.unique(movies)
        return self.retrieval(self.user_vectors(distinct_users, training),
                              self.movie_model(distinct_movies, training=training),
                              query_index, candidate_index, training=training)

    def arrays(self, n_users: int, n_titles: int) -> dict:
        """Everything ``serving.ranking.Ranker`` needs to predict in NumPy, as float32 arrays.

        ``user_vectors`` [U, d] and ``movie_vectors`` [C, d] (each id through its tower, features
        included), ``user_bias`` [U], ``movie_bias`` [C], ``global_bias`` [], the MLP's ``kernel_i`` /
        ``bias_i`` (hidden layers, then the output layer), ``dot`` (1 or 0) and ``clip`` ([lo, hi]).
        """
        users = self.user_model(tf.range(n_users))
        if self.history is not None:
            users += tf.sparse.sparse_dense_matmul(self.history, self.history_vectors)
        out = {"user_vectors": users.numpy(),
               "movie_vectors": self.movie_model(tf.range(n_titles)).numpy()}
        dense = [layer for layer in self.mlp if isinstance(layer, tf.keras.layers.Dense)] + [self.out]
        for i, layer in enumerate(dense):
            out[f"kernel_{i}"], out[f"bias_{i}"] = (w.numpy() for w in (layer.kernel, layer.bias))
        if self.config.biases:
            out["user_bias"] = self.user_bias(tf.range(n_users))[:, 0].numpy()
            out["movie_bias"] = self.movie_bias(tf.range(n_titles))[:, 0].numpy()
            out["global_bias"] = np.float32(self.global_bias.numpy())
        else:
            out["user_bias"] = np.zeros(n_users, np.float32)
            out["movie_bias"] = np.zeros(n_titles, np.float32)
            out["global_bias"] = np.float32(0.0)
        out["dot"] = np.float32(1.0 if self.config.dot else 0.0)
        out["clip"] = np.array(STARS if self.config.clip else (-np.inf, np.inf), np.float32)
        return {k: np.asarray(v, np.float32) for k, v in out.items()}
