"""Candidate catalogs for the ANN lab: what ScaNN and brute force search over.

MovieLens 100k has only 1,664 distinct titles, too few for an approximate index to pay
off: scoring every one of them is a single small matrix product. To see why ScaNN
matters, the lab also searches larger catalogs:

- ``trained``: a run's movie vectors, as they are (1,664 for ML-100k).
- ``scaled``: the trained vectors plus noisy copies, up to the size asked for. This is
  how TFRS's efficient-serving tutorial builds its million-movie catalog: each copy is a
  trained vector multiplied element-wise by uniform noise in [0, 1). The copies keep the
  trained vectors' directions and scale, so the neighbour structure looks like a real one.
- ``gaussian``: independent standard-normal vectors, queries likewise. There are no
  clusters for ScaNN's partitioning to exploit, so this is the hard case.

Queries are the run's user vectors (the user tower's output: what serving looks up) for
``trained`` and ``scaled``, Gaussian vectors for ``gaussian``. Everything is generated
from a seed, so the same arguments give the same catalog.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.errors import UserError

KINDS = ("trained", "scaled", "gaussian")
KIND_LABELS = {
    "trained": "Trained movie vectors",
    "scaled": "Trained + noisy copies (TFRS tutorial)",
    "gaussian": "Gaussian (hard case)",
}
SIZES = (10_000, 100_000, 1_000_000)
MAX_SIZE = 5_000_000
MAX_DIM = 512


@dataclass
class Catalog:
    """Candidate vectors [N, d] and a pool of query vectors [U, d] to sample queries from."""

    kind: str
    vectors: np.ndarray
    query_pool: np.ndarray
    seed: int = 0

    @property
    def size(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def label(self) -> str:
        return f"{KIND_LABELS[self.kind]} · {self.size:,} × {self.dim}"

    def queries(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` query vectors drawn from the pool (without replacement while it lasts)."""
        if n < 1:
            raise UserError(f"the number of queries must be at least 1, got {n}")
        rng = np.random.default_rng(self.seed + 1 if seed is None else seed)
        pool = len(self.query_pool)
        rows = rng.permutation(pool)[:n] if n <= pool else rng.integers(0, pool, n)
        return np.ascontiguousarray(self.query_pool[rows], dtype=np.float32)


def _check_size(size: int) -> int:
    if not isinstance(size, (int, np.integer)) or not 1 <= size <= MAX_SIZE:
        raise UserError(f"catalog size must be between 1 and {MAX_SIZE:,}, got {size!r}")
    return int(size)


def trained(movie_vectors: np.ndarray, user_vectors: np.ndarray) -> Catalog:
    """A run's own movie vectors; queries are its user vectors."""
    return Catalog("trained", np.ascontiguousarray(movie_vectors, np.float32),
                   np.ascontiguousarray(user_vectors, np.float32))


def scaled(movie_vectors: np.ndarray, user_vectors: np.ndarray, size: int, seed: int = 0,
           chunk: int = 262_144) -> Catalog:
    """The trained vectors followed by ``size - C`` noisy copies (TFRS efficient-serving tutorial).

    Copy j is ``movie_vectors[r_j] * u_j`` with r_j a random trained row and u_j uniform
    noise in [0, 1) per dimension, exactly the tutorial's ``x * tf.random.uniform(tf.shape(x))``.
    """
    size = _check_size(size)
    base = np.asarray(movie_vectors, np.float32)
    if size < len(base):
        raise UserError(f"a scaled catalog holds the {len(base):,} trained vectors plus copies: "
                        f"size must be at least {len(base):,}, got {size:,}")
    rng = np.random.default_rng(seed)
    out = np.empty((size, base.shape[1]), np.float32)
    out[: len(base)] = base
    for start in range(len(base), size, chunk):  # chunks: no float64 temporaries of the whole catalog
        stop = min(size, start + chunk)
        rows = rng.integers(0, len(base), stop - start)
        out[start:stop] = base[rows] * rng.random((stop - start, base.shape[1]), dtype=np.float32)
    return Catalog("scaled", out, np.ascontiguousarray(user_vectors, np.float32), seed)


def gaussian(size: int, dim: int, seed: int = 0, n_queries: int = 10_000) -> Catalog:
    """``size`` standard-normal vectors of dimension ``dim``, and a pool of Gaussian queries."""
    size = _check_size(size)
    if not isinstance(dim, (int, np.integer)) or not 1 <= dim <= MAX_DIM:
        raise UserError(f"dimension must be between 1 and {MAX_DIM}, got {dim!r}")
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((size, dim), dtype=np.float32)
    queries = rng.standard_normal((n_queries, dim), dtype=np.float32)
    return Catalog("gaussian", vectors, queries, seed)


def make(kind: str, size: int | None = None, *, movie_vectors=None, user_vectors=None, dim: int | None = None,
         seed: int = 0) -> Catalog:
    """One entry point for the page and the CLI: build the catalog ``kind`` of ``size`` rows."""
    if kind not in KINDS:
        raise UserError(f"catalog must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "gaussian":
        return gaussian(size, dim if dim is not None else np.asarray(movie_vectors).shape[1], seed)
    if movie_vectors is None or user_vectors is None:
        raise UserError(f"the {kind} catalog needs a trained run's vectors")
    if kind == "trained":
        return trained(movie_vectors, user_vectors)
    return scaled(movie_vectors, user_vectors, size, seed)
