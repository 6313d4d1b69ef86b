"""ScaNN's peers in the ANN lab: faiss (HNSW, IVF-PQ with refinement) and hnswlib, behind one small interface.

The TFRS tutorial says ScaNN gives the best recall at almost every queries-per-second,
citing ann-benchmarks. To check it here, every library answers the same queries on the same
catalog through the same few methods:

    Index(vectors, k, **build)        build once (its ``build_seconds``, ``memory_bytes()``)
    .search(q, k, **search)           one query on one thread: the row ids of its top k
    .search_batched(Q, k, **search)   all queries at once, on every core

``build`` settings need a rebuild, ``search`` settings do not, so a frontier builds each
library once and sweeps its search knobs (``search_grid``). The four:

- **scann** (``ann.ScannIndex``): a k-means tree of leaves; scores the leaves nearest the
  query with 4-bit anisotropic codes, then re-scores the best candidates exactly.
  Knobs: leaves searched, candidates re-scored.
- **faiss-hnsw** (``faiss.IndexHNSWFlat``, inner product): a navigable small-world graph; a
  query walks it greedily from a hub, keeping the ``efSearch`` best candidates seen so far.
  Build: ``M`` links per node, ``efConstruction``. Knob: ``efSearch``.
- **faiss-ivfpq** (``IndexIVFPQFastScan`` in an ``IndexRefineFlat``): ``nlist`` k-means cells,
  vectors compressed to ``m`` 4-bit sub-codes scored with SIMD lookup tables, the best
  ``k_factor`` x k re-scored with the float vectors. Knobs: ``nprobe`` cells, ``k_factor``.
- **hnswlib**: the reference HNSW implementation (Malkov and Yashunin); same idea as
  faiss-hnsw, its own code. Build: ``M``, ``ef_construction``. Knob: ``ef``.

All are searched by inner product, the score the two towers are trained for. Single
queries run on one thread, as ScaNN answers them; batches use every core.
"""
from __future__ import annotations

import math
import pickle
import time
from contextlib import contextmanager

import numpy as np

from recsys.errors import UserError

LIBRARIES = ("scann", "faiss-hnsw", "faiss-ivfpq", "hnswlib")
LABELS = {"scann": "ScaNN", "faiss-hnsw": "faiss HNSW", "faiss-ivfpq": "faiss IVF-PQ + refine", "hnswlib": "hnswlib"}


@contextmanager
def faiss_threads(n: int):
    """faiss's OpenMP threads for the block (1 for single queries)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class FaissHNSW:
    """faiss's HNSW graph over the float vectors (exact scores, approximate walk)."""

    name = "faiss-hnsw"

    def __init__(self, vectors: np.ndarray, k: int = 10, M: int = 16, efConstruction: int = 100):
        import faiss

        v = np.ascontiguousarray(vectors, np.float32)
        start = time.perf_counter()
        self.index = faiss.IndexHNSWFlat(v.shape[1], int(M), faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = int(efConstruction)
        self.index.add(v)
        self.build_seconds = time.perf_counter() - start
        self.build = {"M": int(M), "efConstruction": int(efConstruction)}

    def _set(self, efSearch: int) -> None:
        self.index.hnsw.efSearch = int(efSearch)

    def search(self, q: np.ndarray, k: int, efSearch: int = 64) -> np.ndarray:
        self._set(max(efSearch, k))
        with faiss_threads(1):
            return self.index.search(np.asarray(q, np.float32)[None, :], k)[1][0]

    def search_batched(self, queries: np.ndarray, k: int, efSearch: int = 64) -> np.ndarray:
        self._set(max(efSearch, k))
        return self.index.search(np.ascontiguousarray(queries, np.float32), k)[1]

    def memory_bytes(self) -> int:
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)


class FaissIVFPQ:
    """faiss's inverted file of product-quantised codes (4-bit fast scan), re-scored exactly."""

    name = "faiss-ivfpq"

    def __init__(self, vectors: np.ndarray, k: int = 10, nlist: int | None = None, m: int | None = None):
        import faiss

        v = np.ascontiguousarray(vectors, np.float32)
        n, dim = v.shape
        nlist = int(nlist or max(1, min(n // 39, round(2 * math.sqrt(n)))))  # k-means wants >= 39 points a cell
        m = int(m or dim)  # one 4-bit code per dimension
        if dim % m:
            raise UserError(f"faiss IVF-PQ: the dimension {dim} must be a multiple of m = {m}")
        start = time.perf_counter()
        quantizer = faiss.IndexFlatIP(dim)
        base = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, m, 4, faiss.METRIC_INNER_PRODUCT)
        self.index = faiss.IndexRefineFlat(base)
        self.base, self.quantizer = base, quantizer  # kept alive: faiss holds them by pointer
        self.index.train(v)
        self.index.add(v)
        self.build_seconds = time.perf_counter() - start
        self.build = {"nlist": nlist, "m": m}

    def _set(self, nprobe: int, k_factor: float) -> None:
        import faiss

        faiss.extract_index_ivf(self.index).nprobe = int(min(nprobe, self.build["nlist"]))
        self.index.k_factor = float(k_factor)

    def search(self, q: np.ndarray, k: int, nprobe: int = 16, k_factor: float = 4) -> np.ndarray:
        self._set(nprobe, k_factor)
        with faiss_threads(1):
            return self.index.search(np.asarray(q, np.float32)[None, :], k)[1][0]

    def search_batched(self, queries: np.ndarray, k: int, nprobe: int = 16, k_factor: float = 4) -> np.ndarray:
        self._set(nprobe, k_factor)
        return self.index.search(np.ascontiguousarray(queries, np.float32), k)[1]

    def memory_bytes(self) -> int:
        import faiss

        return int(faiss.serialize_index(self.index).nbytes)


class HnswLib:
    """hnswlib's HNSW graph (inner-product space)."""

    name = "hnswlib"

    def __init__(self, vectors: np.ndarray, k: int = 10, M: int = 16, ef_construction: int = 200):
        import hnswlib

        v = np.ascontiguousarray(vectors, np.float32)
        start = time.perf_counter()
        self.index = hnswlib.Index(space="ip", dim=v.shape[1])
        self.index.init_index(max_elements=len(v), M=int(M), ef_construction=int(ef_construction), random_seed=0)
        self.index.set_num_threads(2)
        self.index.add_items(v, np.arange(len(v)))
        self.build_seconds = time.perf_counter() - start
        self.build = {"M": int(M), "ef_construction": int(ef_construction)}

    def search(self, q: np.ndarray, k: int, ef: int = 64) -> np.ndarray:
        self.index.set_ef(max(ef, k))
        self.index.set_num_threads(1)
        return self.index.knn_query(np.asarray(q, np.float32)[None, :], k=k)[0][0].astype(np.int64)

    def search_batched(self, queries: np.ndarray, k: int, ef: int = 64) -> np.ndarray:
        self.index.set_ef(max(ef, k))
        self.index.set_num_threads(2)
        return self.index.knn_query(np.ascontiguousarray(queries, np.float32), k=k)[0].astype(np.int64)

    def memory_bytes(self) -> int:
        return len(pickle.dumps(self.index))


class Scann:
    """ScaNN (``ann.ScannIndex``) behind the same interface: knobs ``leaves`` and ``reorder``."""

    name = "scann"

    def __init__(self, vectors: np.ndarray, k: int = 10, **build):
        from recsys.bench.ann import ScannIndex
        from recsys.serving import index as idx

        params = idx.default_scann_params(len(vectors))
        params = idx.ScannParams(**{**params.to_dict(), **build})
        self.index = ScannIndex(vectors, params, k, keep_layer=True)  # the TFRS layer too: its call is timed
        self.build_seconds = self.index.build_seconds
        self.build = {"num_leaves": params.num_leaves}

    def search(self, q, k, leaves=None, reorder=None):
        return self.index.search(q, k, leaves, reorder)

    def search_batched(self, queries, k, leaves=None, reorder=None):
        return self.index.search_batched(queries, k, leaves, reorder)

    def memory_bytes(self) -> int:
        return self.index.memory_bytes(True)

    def tfrs_layer_ms(self, queries: np.ndarray, k: int) -> float:
        """Mean milliseconds of one query through TFRS's ``ScaNN`` layer (eager Keras call) on the same index."""
        times = []
        for q in queries:
            start = time.perf_counter()
            self.index.search_tfrs_layer(q, k)
            times.append((time.perf_counter() - start) * 1000)
        return float(np.mean(times[1:] or times))


CLASSES = {"scann": Scann, "faiss-hnsw": FaissHNSW, "faiss-ivfpq": FaissIVFPQ, "hnswlib": HnswLib}


def check_libraries(names) -> tuple:
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown or not names:
        raise UserError(f"unknown library {', '.join(unknown) or '(none)'}; choose from {', '.join(LIBRARIES)}")
    return names


def default_build(library: str, n: int) -> dict:
    """Build settings per catalog size (``BUILDS``: measured with ``bench ann --sweep``, see docs/ann.md)."""
    size = min(BUILDS[library], key=lambda s: abs(math.log(max(n, 1) / s)))
    return dict(BUILDS[library][size])


def search_grid(library: str, n: int, k: int, build: dict) -> list[dict]:
    """The search-time settings a frontier sweeps for one built index, slow and accurate last."""
    if library == "scann":
        leaves = build["num_leaves"]
        shares = (0.01, 0.02, 0.04, 0.07, 0.12, 0.25)
        return [{"leaves": max(1, min(leaves, round(s * leaves))), "reorder": r}
                for s in shares for r in sorted({max(k, 50), max(k, 100), max(k, 200)})]
    if library in ("faiss-hnsw", "hnswlib"):
        key = "efSearch" if library == "faiss-hnsw" else "ef"
        return [{key: e} for e in (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512) if e >= k]
    return [{"nprobe": p, "k_factor": f} for p in (1, 2, 4, 8, 16, 32, 64, 128, 256) for f in (4, 16, 64)
            if p <= build["nlist"]]


# Build settings per size, measured on trained vectors + noisy copies (dim 32, k = 10; each build swept over its
# search grid, see docs/ann.md): the build with the most queries per second at recall@10 >= 0.99, unless another
# is as fast for less build time. faiss HNSW: M 16 / efConstruction 100 beat M 32 at 100k and 1M (M 32 is
# slower per query for the same recall); hnswlib: ef_construction 200 beat 100 (recall 0.989 against 0.985 at
# 1M, 15% more QPS at 100k) for 1.7x the build; IVF-PQ: one 4-bit code per dimension (m = 32) beat m = 16
# (9,972 against 5,689 QPS at recall 0.99, 100k), 2 sqrt(n) cells at 100k and sqrt(n) at 1M.
BUILDS = {
    "scann": {1_000: {}, 1_000_000: {}},  # ScaNN's own per-size defaults (recsys/serving/index.py)
    "faiss-hnsw": {1_000_000: {"M": 16, "efConstruction": 100}},
    "faiss-ivfpq": {10_000: {"nlist": 200}, 100_000: {"nlist": 632}, 1_000_000: {"nlist": 1000}},
    "hnswlib": {1_000_000: {"M": 16, "ef_construction": 200}},
}
