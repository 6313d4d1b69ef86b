"""Predicted stars of a ranking run in NumPy: the second stage, without TensorFlow.

A ranking run saves every user's and every movie's input vector (the towers' outputs, side
features included), the biases and the MLP's weights (``RankingModel.arrays``). Scoring a
user's candidates is then a gather and a few small matrix products (``predict_stars``):

    x = [u ; m_c]  ->  relu(x W_0 + b_0) -> ... -> x W_L + b_L      (the MLP, dropout off)
    stars_c = that + mu + b_u + b_c + dot * (u . m_c), clipped to ``clip``

which gives the Keras model's numbers (to float32 rounding) in a fraction of a millisecond
for a few hundred candidates, so a page or a server can rank what retrieval found. The
two-stage SavedModel (``export_two_stage``) runs the same ``predict_stars`` on TensorFlow's NumPy API.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from recsys.errors import UserError

KEYS = ("user_vectors", "movie_vectors", "user_bias", "movie_bias", "global_bias", "dot", "clip")


def predict_stars(u, m, layers, global_bias, user_bias, movie_bias, dot: bool, clip: tuple, xp=np):
    """Predicted stars [B] of aligned rows: u, m [B, d], the biases mu [], b_u [B], b_c [B] (formula above).

    ``layers``: the MLP's (kernel, bias) pairs, ReLU between them. ``xp`` is the array namespace:
    NumPy for the ``Ranker``, ``tf.experimental.numpy`` inside the exported graph.
    """
    x = xp.concatenate([u, m], axis=1)
    for i, (kernel, bias) in enumerate(layers):
        x = xp.matmul(x, kernel) + bias
        if i < len(layers) - 1:
            x = xp.maximum(x, 0.0)
    out = x[:, 0] + global_bias + user_bias + movie_bias
    if dot:
        out = out + xp.einsum("ij,ij->i", u, m)
    return xp.clip(out, *clip)


class Ranker:
    """Predicts stars from a ranking run's arrays (``RankingModel.arrays`` or its ``vectors.npz``)."""

    def __init__(self, arrays: dict):
        missing = [k for k in KEYS + ("kernel_0", "bias_0") if k not in arrays]
        if missing:
            raise UserError(f"not the arrays of a ranking run (missing {', '.join(missing)})")
        self.users = np.asarray(arrays["user_vectors"], np.float32)
        self.movies = np.asarray(arrays["movie_vectors"], np.float32)
        self.user_bias = np.asarray(arrays["user_bias"], np.float32)
        self.movie_bias = np.asarray(arrays["movie_bias"], np.float32)
        self.global_bias = np.float32(arrays["global_bias"])
        self.dot = float(arrays["dot"]) != 0.0
        self.clip = tuple(float(v) for v in arrays["clip"])
        n = sum(1 for k in arrays if k.startswith("kernel_"))
        self.layers = [(np.asarray(arrays[f"kernel_{i}"], np.float32), np.asarray(arrays[f"bias_{i}"], np.float32))
                       for i in range(n)]

    @classmethod
    def load(cls, path: Path) -> "Ranker":
        """From a run folder's ``vectors.npz`` (``UserError`` if it is damaged or not a ranking run's)."""
        try:
            with np.load(Path(path) / "vectors.npz") as z:
                return cls({k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise UserError(f"{path}: vectors.npz is damaged ({type(e).__name__}: {e})") from None

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_movies(self) -> int:
        return len(self.movies)

    def predict_pairs(self, users: np.ndarray, movies: np.ndarray) -> np.ndarray:
        """Predicted stars [B] of (users[i], movies[i]) pairs (integer indices)."""
        users, movies = np.asarray(users), np.asarray(movies)
        return predict_stars(self.users[users], self.movies[movies], self.layers, self.global_bias,
                             self.user_bias[users], self.movie_bias[movies], self.dot, self.clip)

    def predict(self, user_idx: int, movie_idx: np.ndarray) -> np.ndarray:
        """Predicted stars of user ``user_idx`` for each movie index in ``movie_idx`` (e.g. retrieval's top-k)."""
        movie_idx = np.asarray(movie_idx, dtype=np.int64).reshape(-1)
        if not 0 <= int(user_idx) < self.n_users:
            raise UserError(f"user index {user_idx} is not one of the run's {self.n_users} users")
        if len(movie_idx) and (movie_idx.min() < 0 or movie_idx.max() >= self.n_movies):
            raise UserError(f"movie indices must be between 0 and {self.n_movies - 1}")
        return self.predict_pairs(np.full(len(movie_idx), int(user_idx)), movie_idx)
