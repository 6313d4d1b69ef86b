"""A user vector from a list of movies: the history encoder in NumPy (serving, "recommend for me").

A run trained with ``history_encoder`` describes a user by what they watched. Its user
tower is, with x the multi-hot vector of the user's training movies over the catalog:

    x~ = x / ||x||                       (length 1: heavy and light users speak equally loud)
    h_1 = x~ W_1 + b_1                   (the first layer: a sum of rows of W_1, one per movie)
    h_l = tanh(h_(l-1)) W_l + b_l        (hidden layers, if the run has an MLP)
    u = h_L + s                          (s: the id/feature tower's vector of an unknown user, 0 without it)

and, with ``movie_bias``, u ends in 1 so that u . m + b_m stays one dot product. Nothing in
it depends on *who* the user is, only on their movies: the same function gives a test user
their vector from their training ratings and a visitor theirs from the movies they pick
("fold-in"), without retraining. ``recsys/training/train.py`` computes every saved user
vector of such a run with ``user_vectors`` below, so a visitor who picks exactly a test user's
training movies gets exactly that user's list (when the tower reads only the history).

With ``user_features`` the encoder reads the user's feature tokens (age bucket, gender,
occupation, when they joined; ``features.user_tokens``) as four more entries of x: a user
without ratings is described by them alone. A visitor gives movies only, so their tokens stay 0.
The arrays come from ``TwoTowerModel.encoder_arrays`` and are saved in the run's vectors.npz.
"""
from __future__ import annotations

import numpy as np

PREFIX = "encoder_"  # keys of the encoder's arrays in a run's vectors.npz


def layers_of(arrays: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W_1, b_1), (W_2, b_2), ...]`` from the saved arrays (``encoder_w0``, ``encoder_b0``, ...)."""
    out, i = [], 0
    while f"{PREFIX}w{i}" in arrays:
        out.append((np.asarray(arrays[f"{PREFIX}w{i}"], np.float32), np.asarray(arrays[f"{PREFIX}b{i}"], np.float32)))
        i += 1
    return out


def user_vectors(arrays: dict, histories) -> np.ndarray:
    """Every row's user vector from its movies. ``histories``: a sparse [users, C] matrix (nonzero = rated)."""
    import scipy.sparse

    layers = layers_of(arrays)
    x = scipy.sparse.csr_array(histories, dtype=np.float32)
    x.data[:] = 1.0
    if x.shape[1] < len(layers[0][0]):  # movies only: the feature tokens' columns (if any) stay empty
        x = scipy.sparse.csr_array((x.data, x.indices, x.indptr), shape=(x.shape[0], len(layers[0][0])))
    norms = np.sqrt(np.asarray(x.sum(axis=1)).ravel())
    x = scipy.sparse.diags_array(1.0 / np.maximum(norms, 1e-12)) @ x     # rows at length 1
    h = np.asarray(x @ layers[0][0], np.float32) + layers[0][1]
    for w, b in layers[1:]:
        h = np.tanh(h) @ w + b
    stranger = np.asarray(arrays[f"{PREFIX}stranger"], np.float32)      # [d] or [d + 1] with the bias column
    d = h.shape[1]
    h = h + stranger[:d]
    if len(stranger) > d:                                                 # movie_bias: users end in 1
        h = np.concatenate([h, np.ones((len(h), 1), np.float32)], axis=1)
    return h.astype(np.float32)


def user_vector(arrays: dict, movies, n_titles: int) -> np.ndarray:
    """One user's vector from a list of movie indices (duplicates count once)."""
    import scipy.sparse

    movies = np.unique(np.asarray(movies, np.int64))
    x = scipy.sparse.csr_array((np.ones(len(movies), np.float32), (np.zeros(len(movies), np.int64), movies)),
                               shape=(1, n_titles))
    return user_vectors(arrays, x)[0]
