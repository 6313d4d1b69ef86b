"""The ANN lab: ScaNN against brute force, recall against speed, measured in one run.

Three ways to find the top k of N candidate vectors for a query vector q (dot product):

- ``bruteforce_matmul``: ``V @ q`` and a partial sort (numpy, BLAS). Exact; costs N·d
  multiply-adds and a pass over all N scores per query, however large N grows.
- ``bruteforce_tfrs``: TFRS's ``BruteForce`` layer: the same matrix product and
  ``tf.math.top_k``, plus the cost of calling a Keras layer eagerly per query.
- ``scann``: TFRS's ``ScaNN`` layer builds the index (k-means tree + anisotropic
  quantisation, see ``recsys/serving/index.py``); queries then go to the ``scann`` library's own searcher
  loaded from that same index (``ScannIndex.searcher``). The TFRS layer itself, called
  eagerly, re-creates its searcher from the serialized index (a ``tf.function`` call) on
  *every* query: a fixed cost of milliseconds, about as much as brute force on 100k
  candidates. It is measured too, and reported apart as "ScaNN (TFRS layer call)".

Measured for each: recall@k against the exact answer (mean |found ∩ exact| / k), latency
of single queries one after another (mean, p95), batched throughput (queries per second,
all queries at once), index build time and index memory. ``sweep`` runs a grid of ScaNN
settings for the recall-vs-QPS frontier the way ann-benchmarks plots it. The numbers are
noisy on a shared machine; ratios measured side by side in one run are what to trust.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np

from recsys.bench import catalogs
from recsys.errors import UserError
from recsys.evaluation.topk import top_k
from recsys.serving import index as idx
from recsys.serving import latency

MB = 1e6


# --------------------------------------------------------------------------- exact top-k


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int, max_bytes: int = 128 * 2**20) -> np.ndarray:
    """The true top-k ids for each query: a batched matrix product in chunks of ``max_bytes`` of scores."""
    queries = np.atleast_2d(queries)
    chunk = max(1, int(max_bytes // (4 * max(1, len(vectors)))))
    return np.concatenate([top_k(queries[s:s + chunk] @ vectors.T, k)
                           for s in range(0, len(queries), chunk)]) if len(queries) else np.zeros((0, k), int)


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of |found ∩ exact| / k, k = the width of ``exact`` (as ann-benchmarks)."""
    return idx.recall(found, exact)


# --------------------------------------------------------------------------- the three indexes


class MatmulBruteForce:
    """Exact top-k by a plain matrix product and a partial sort: the baseline to beat."""

    name = "bruteforce_matmul"

    def __init__(self, vectors: np.ndarray):
        start = time.perf_counter()
        self.vectors = np.array(vectors, np.float32, order="C", copy=True)
        self.build_seconds = time.perf_counter() - start

    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        return top_k(self.vectors @ q, k)

    def search_batched(self, queries: np.ndarray, k: int) -> np.ndarray:
        return exact_top_k(self.vectors, queries, k)

    @property
    def memory_bytes(self) -> int:
        return int(self.vectors.nbytes)


class TfrsBruteForce:
    """TFRS's ``BruteForce`` layer (matrix product + ``tf.math.top_k``), called eagerly."""

    name = "bruteforce_tfrs"

    def __init__(self, vectors: np.ndarray, k: int = 10):
        import tensorflow as tf

        self._tf = tf
        start = time.perf_counter()
        self.layer = idx.build_bruteforce(vectors, k)
        self.n = len(vectors)
        self.build_seconds = time.perf_counter() - start
        self.memory_bytes = int(sum(int(np.prod(w.shape)) * w.dtype.size for w in self.layer.weights))

    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.layer(self._tf.constant(q[None, :]), k=k)[1].numpy()[0]

    def search_batched(self, queries: np.ndarray, k: int, max_bytes: int = 128 * 2**20) -> np.ndarray:
        chunk = max(1, int(max_bytes // (4 * max(1, self.n))))
        return np.concatenate([self.layer(self._tf.constant(queries[s:s + chunk]), k=k)[1].numpy()
                               for s in range(0, len(queries), chunk)])


_SCANN_ASSETS = ("scann_config", "serialized_partitioner", "ah_codebook", "datapoint_to_token",
                 "hashed_dataset", "int8_dataset", "int8_multipliers", "dp_norms", "dataset")


def _load_pybind_searcher(state):
    """The ``scann`` library's own (pybind) searcher for an index the TF ops built.

    ``state`` is the ``ScannState`` TFRS's ScaNN layer keeps (``_serialized_searcher``);
    its tensors are the same assets ``scann_ops_pybind`` serializes to disk, so they are
    written out in that layout and loaded back. Answers are identical to the TF searcher's.
    """
    from scann.scann_ops.py import scann_ops_pybind, scann_ops_pybind_backcompat

    with tempfile.TemporaryDirectory(prefix="scann-") as d:
        for name in _SCANN_ASSETS:
            value = getattr(state, name).numpy()
            if value.dtype == object:  # serialized protos: one bytes string
                with open(os.path.join(d, f"{name}.pb"), "wb") as f:
                    f.write(value.reshape(-1)[0])
            elif value.ndim:  # empty scalars stand for "not used"
                np.save(os.path.join(d, f"{name}.npy"), value)
        scann_ops_pybind_backcompat.populate_and_save_assets_proto(d)
        with idx.quiet_native_logs():
            return scann_ops_pybind.load_searcher(d)


class ScannIndex:
    """A ScaNN index built by TFRS's ScaNN layer, searched with the ``scann`` searcher it holds.

    ``num_leaves_to_search`` and ``num_reordering_candidates`` are search-time settings in
    ScaNN: one build serves every value of them (``search(..., leaves, reorder)``), which is
    what makes a sweep cheap. The index always keeps the float vectors for re-ordering;
    reorder 0 is searched as "re-score only the k results" (same set, same recall).
    """

    name = "scann"

    def __init__(self, vectors: np.ndarray, params: idx.ScannParams, k: int = 10, keep_layer: bool = True):
        params = params.validate(len(vectors), k)
        if params.dimensions_per_block > vectors.shape[1]:
            raise UserError(f"dimensions_per_block must be at most the vector dimension "
                            f"{vectors.shape[1]}, got {params.dimensions_per_block}")
        self.params, self.n, self.dim = params, len(vectors), vectors.shape[1]
        build_params = replace(params, num_reordering_candidates=max(params.num_reordering_candidates, k))
        start = time.perf_counter()
        try:
            self.layer = idx.build_scann(np.asarray(vectors, np.float32), build_params, k)
        except UserError:
            raise
        except Exception as e:  # ScaNN refuses some settings with a C++ status message
            raise UserError(f"ScaNN could not build this index: {str(e).splitlines()[0][:300]}") from e
        self.build_seconds = time.perf_counter() - start
        state = self.layer._serialized_searcher
        self.asset_bytes = {name: int(_nbytes(getattr(state, name).numpy())) for name in _SCANN_ASSETS}
        self.searcher = _load_pybind_searcher(state)
        if not keep_layer:  # the searcher holds its own copy; drop the layer's (N x d floats) to save memory
            self.layer = None

    def memory_bytes(self, reorder: bool = True) -> int:
        """Serialized index size: partitioner, codebook, 4-bit codes, and the float vectors if re-ordering."""
        return sum(v for name, v in self.asset_bytes.items() if reorder or name != "dataset")

    def _args(self, k, leaves, reorder):
        leaves = self.params.num_leaves_to_search if leaves is None else leaves
        reorder = self.params.num_reordering_candidates if reorder is None else reorder
        return dict(final_num_neighbors=k, leaves_to_search=int(leaves), pre_reorder_num_neighbors=int(max(reorder, k)))

    def search(self, q: np.ndarray, k: int, leaves: int | None = None, reorder: int | None = None) -> np.ndarray:
        return _pad(self.searcher.search(q, **self._args(k, leaves, reorder))[0], k)

    def search_batched(self, queries: np.ndarray, k: int, leaves=None, reorder=None) -> np.ndarray:
        return _pad(self.searcher.search_batched_parallel(queries, **self._args(k, leaves, reorder))[0], k)

    def search_tfrs_layer(self, q: np.ndarray, k: int) -> np.ndarray:
        """One query through the TFRS ScaNN layer itself (built with ``self.params``)."""
        import tensorflow as tf

        if self.layer is None:
            raise ValueError("this index was built with keep_layer=False")

        return self.layer(tf.constant(q[None, :]), k=k)[1].numpy()[0]


def _pad(ids: np.ndarray, k: int) -> np.ndarray:
    """Fill up with -1 to k columns: the leaves searched may hold fewer than k candidates."""
    ids = np.asarray(ids)
    if ids.shape[-1] >= k:
        return ids
    pad = [(0, 0)] * (ids.ndim - 1) + [(0, k - ids.shape[-1])]
    return np.pad(ids.astype(np.int64), pad, constant_values=-1)


def _nbytes(value) -> int:
    if value.dtype == object:
        return sum(len(v) for v in value.reshape(-1))
    return int(value.nbytes) if value.ndim else 0


# --------------------------------------------------------------------------- timing


def time_single(search, queries: np.ndarray, warmup: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Answer queries one at a time; (ids [Q, k], per-query milliseconds [Q])."""
    for q in queries[:warmup]:
        search(q)
    ids, ms = [], np.empty(len(queries))
    for i, q in enumerate(queries):
        start = time.perf_counter()
        ids.append(search(q))
        ms[i] = (time.perf_counter() - start) * 1000
    return np.array(ids), ms


def time_batched(search_batched, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """Answer all queries in one call (after a small warm-up); (ids, queries per second)."""
    search_batched(queries[:2])
    start = time.perf_counter()
    ids = search_batched(queries)
    return ids, len(queries) / max(time.perf_counter() - start, 1e-9)


def summary(ms: np.ndarray, qps: float | None, build_seconds: float, memory_bytes: int) -> dict:
    """The per-index numbers of the benchmark's JSON."""
    return {"latency_ms_mean": float(np.mean(ms)), "latency_ms_p95": float(np.percentile(ms, 95)),
            "qps": float(qps) if qps is not None else None, "build_seconds": float(build_seconds),
            "memory_mb": memory_bytes / MB}


# --------------------------------------------------------------------------- one setting


def check_k(k: int, n: int) -> int:
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(n, 1000):
        raise UserError(f"k must be between 1 and {min(n, 1000):,} (the catalog size), got {k!r}")
    return int(k)


def _check_queries(n_queries: int) -> int:
    if not isinstance(n_queries, (int, np.integer)) or not 1 <= n_queries <= 100_000:
        raise UserError(f"the number of queries must be between 1 and 100,000, got {n_queries!r}")
    return int(n_queries)


@dataclass
class Workload:
    """What every measurement on a catalog shares: queries, their exact answers, brute-force indexes."""

    catalog: catalogs.Catalog
    k: int
    queries: np.ndarray
    exact: np.ndarray
    matmul: MatmulBruteForce
    tfrs: TfrsBruteForce | None
    brute: dict  # name -> summary dict (recall 1 by construction)
    matmul_threads: str = "all"  # BLAS threads of the faster numpy single-query timing ("1" or "all")
    latency_queries: int = 200   # how many queries the single-query latencies were timed on
    timed_at: float = 0.0        # when the brute forces' single queries were last timed (time.time())
    timed_clock: float = 0.0     # the same, time.monotonic()


BRUTE_REFRESH_S = 600.0  # the ANN lab times brute force again after this long, when the processor is free


def time_brute_single(prep: Workload) -> None:
    """Time both brute forces' single queries (again): their mean and p95 ms in ``prep.brute``, and when.

    A server keeps a ``Workload`` for every visitor, so a timing taken while something else held
    the processor would otherwise stay on screen for good (``refresh_brute``).
    """
    single = prep.queries[:prep.latency_queries]
    ms, prep.matmul_threads = _fastest_blas_threads(lambda q: prep.matmul.search(q, prep.k), single)
    timed = {prep.matmul.name: ms}
    if prep.tfrs is not None:
        timed[prep.tfrs.name] = time_single(lambda q: prep.tfrs.search(q, prep.k), single)[1]
    for name, ms in timed.items():
        prep.brute[name] = {**prep.brute[name], "latency_ms_mean": float(np.mean(ms)),
                            "latency_ms_p95": float(np.percentile(ms, 95))}
    prep.timed_at, prep.timed_clock = time.time(), time.monotonic()


def refresh_brute(prep: Workload, refresh_s: float = BRUTE_REFRESH_S) -> bool:
    """Time the brute forces again if their figures are older than ``refresh_s`` and the processor is free now.

    The ScaNN figures beside them are measured on every view; brute force is what they are
    compared with (the speedup), so it must not be a figure from another time and load.
    """
    if time.monotonic() - prep.timed_clock < refresh_s or not latency.free_now():
        return False
    prep.timed_clock = time.monotonic()  # claimed: another session viewing the lab now does not time it too
    time_brute_single(prep)
    return True


def prepare(catalog: catalogs.Catalog, k: int = 10, n_queries: int = 500, latency_queries: int = 200,
            tfrs_bruteforce: bool = True, seed: int = 0, progress=None) -> Workload:
    """Sample queries, measure both brute forces (their batched answers are the exact top-k)."""
    k = check_k(k, catalog.size)
    queries = catalog.queries(_check_queries(n_queries), seed)
    if not isinstance(latency_queries, (int, np.integer)) or latency_queries < 1:
        raise UserError(f"the number of queries timed one at a time must be at least 1, got {latency_queries!r}")
    single = queries[:latency_queries]
    note = progress or (lambda message: None)
    note("brute force (numpy matrix product)…")
    matmul = MatmulBruteForce(catalog.vectors)
    exact, qps = time_batched(lambda q: matmul.search_batched(q, k), queries)
    ms, matmul_threads = _fastest_blas_threads(lambda q: matmul.search(q, k), single)
    brute = {matmul.name: summary(ms, qps, matmul.build_seconds, matmul.memory_bytes)}
    tfrs = None
    if tfrs_bruteforce:
        note("brute force (TFRS BruteForce layer)…")
        tfrs = TfrsBruteForce(catalog.vectors, k)
        _, qps = time_batched(lambda q: tfrs.search_batched(q, k), queries)
        _, ms = time_single(lambda q: tfrs.search(q, k), single)
        brute[tfrs.name] = summary(ms, qps, tfrs.build_seconds, tfrs.memory_bytes)
    return Workload(catalog, k, queries, exact, matmul, tfrs, brute, matmul_threads, len(single), time.time(),
                    time.monotonic())


def _fastest_blas_threads(search, queries: np.ndarray) -> tuple[np.ndarray, str]:
    """Single-query times of a numpy search with BLAS on all cores and on one; the faster of the two.

    A one-vector product is too small to split well: on a busy machine the second BLAS
    thread often waits for a core and makes every query slower. ScaNN answers one query
    on one thread, so brute force gets its best of both.
    """
    from threadpoolctl import threadpool_limits

    _, ms_all = time_single(search, queries)
    with threadpool_limits(limits=1, user_api="blas"):
        _, ms_one = time_single(search, queries)
    return (ms_one, "1") if ms_one.mean() < ms_all.mean() else (ms_all, "all")


def measure_scann(prep: Workload, scann: ScannIndex, leaves: int | None = None, reorder: int | None = None,
                  latency_queries: int = 200, tfrs_layer_queries: int = 0) -> dict:
    """Recall@k and speed of one ScaNN setting on the prepared queries (search-time knobs may override)."""
    k, queries = prep.k, prep.queries
    leaves = scann.params.num_leaves_to_search if leaves is None else leaves
    reorder = scann.params.num_reordering_candidates if reorder is None else reorder
    idx.ScannParams(num_leaves=scann.params.num_leaves, num_leaves_to_search=leaves,
                    num_reordering_candidates=reorder).validate(scann.n, k)
    found, qps = time_batched(lambda q: scann.search_batched(q, k, leaves, reorder), queries)
    single_ids, ms = time_single(lambda q: scann.search(q, k, leaves, reorder), queries[:latency_queries])
    out = summary(ms, qps, scann.build_seconds, scann.memory_bytes(reorder > 0))
    out["recall"] = recall_at_k(found, prep.exact)
    out["recall_single"] = recall_at_k(single_ids, prep.exact[:latency_queries])
    if tfrs_layer_queries:
        _, ms_layer = time_single(lambda q: scann.search_tfrs_layer(q, k), queries[:tfrs_layer_queries], warmup=1)
        out["tfrs_layer"] = {"latency_ms_mean": float(np.mean(ms_layer)),
                             "latency_ms_p95": float(np.percentile(ms_layer, 95)), "queries": len(ms_layer)}
    return out


def speedup(scann_ms: float, brute: dict) -> float:
    """ScaNN's single-query QPS over the faster brute force's (= fastest brute mean ms / ScaNN mean ms)."""
    return min(b["latency_ms_mean"] for b in brute.values()) / max(scann_ms, 1e-9)


JSON_KEYS = ("catalog_size", "dim", "k", "recall", "scann", "bruteforce_tfrs", "bruteforce_matmul", "speedup")
INDEX_KEYS = ("latency_ms_mean", "latency_ms_p95", "qps", "build_seconds", "memory_mb")


def bench(catalog: catalogs.Catalog, params: idx.ScannParams | None = None, k: int = 10, n_queries: int = 500,
          latency_queries: int = 200, tfrs_layer_queries: int = 20, seed: int = 0, progress=None) -> dict:
    """The whole benchmark on one catalog: both brute forces and ScaNN on the same queries.

    Returns the JSON of ``python -m recsys bench ann`` plus ``details`` (ScaNN settings,
    the TFRS ScaNN layer's own per-query latency, recall of single queries, timings).
    """
    note = progress or (lambda message: None)
    start = time.perf_counter()
    k = check_k(k, catalog.size)
    params = (params or idx.default_scann_params(catalog.size)).validate(catalog.size, k)
    prep = prepare(catalog, k, n_queries, latency_queries, seed=seed, progress=note)
    note(f"ScaNN: building {params.num_leaves} leaves…")
    scann = ScannIndex(catalog.vectors, params, k)
    note("ScaNN: searching…")
    sc = measure_scann(prep, scann, latency_queries=latency_queries, tfrs_layer_queries=tfrs_layer_queries)
    out = {"catalog_size": catalog.size, "dim": catalog.dim, "k": k, "recall": sc["recall"],
           "scann": {key: sc[key] for key in INDEX_KEYS},
           "bruteforce_tfrs": prep.brute["bruteforce_tfrs"], "bruteforce_matmul": prep.brute["bruteforce_matmul"],
           "speedup": speedup(sc["latency_ms_mean"], prep.brute)}
    out["details"] = {"catalog": catalog.kind, "seed": catalog.seed, "queries": len(prep.queries),
                      "latency_queries": min(latency_queries, len(prep.queries)), "params": params.to_dict(),
                      "recall_single": sc["recall_single"], "scann_tfrs_layer": sc.get("tfrs_layer"),
                      "matmul_blas_threads": prep.matmul_threads,
                      "seconds": time.perf_counter() - start}
    return out


# --------------------------------------------------------------------------- sweep


def default_grid(n: int, k: int = 10, base: idx.ScannParams | None = None) -> tuple[list, list]:
    """(builds, searches) for a sweep on n candidates.

    builds: ScannParams differing in ``num_leaves`` (half, once and twice the base setting's,
    at most 1,000 as in ``index.default_scann_params``); searches: (num_leaves_to_search as a
    share of the leaves, num_reordering_candidates). Search-time settings need no rebuild,
    so that is where the grid is dense.
    """
    base = base or idx.default_scann_params(n)
    leaves = sorted({int(min(n, max(1, round(base.num_leaves * f)))) for f in (0.5, 2.0) if base.num_leaves * f <= 1000}
                    | {base.num_leaves})
    builds = [replace(base, num_leaves=x, num_leaves_to_search=min(base.num_leaves_to_search, x)) for x in leaves]
    shares = (0.01, 0.02, 0.04, 0.07, 0.12, 0.25, 0.5)
    reorders = sorted({r for r in (k, 50, 100, 200, 500) if k <= r <= n})
    return builds, [(s, r) for s in shares for r in reorders]


def build_index(prep: Workload, params: idx.ScannParams) -> ScannIndex:
    """A ScaNN index over ``prep``'s catalog with ``params``' build settings (one build serves every search setting)."""
    return ScannIndex(prep.catalog.vectors, params, prep.k, keep_layer=False)


def sweep(prep: Workload, builds: list, searches: list, latency_queries: int = 100, callback=None, build=None):
    """Recall and speed of every (build, search) setting: a frame for the recall-vs-QPS frontier.

    ``searches`` holds (share of leaves to search, reorder candidates); ``callback(done,
    total, message)`` reports progress. ``build(params) -> ScannIndex`` makes each index
    (default: ``build_index``; the ANN lab passes one that keeps its builds).
    Each row: the settings, recall, latency mean/p95, single-query QPS (1000 / mean ms),
    batched QPS, build seconds, memory MB, and ``frontier`` (no other setting is both
    faster and more accurate).
    """
    import pandas as pd

    build = build or (lambda params: build_index(prep, params))
    rows, total, done = [], 0, 0
    plans = []
    for b in builds:
        leaf_counts = sorted({max(1, min(b.num_leaves, round(share * b.num_leaves))) for share, _ in searches})
        combos = sorted({(lv, r) for lv in leaf_counts for _, r in searches})
        plans.append((b, combos))
        total += 1 + len(combos)
    report = callback or (lambda done, total, message: None)
    for b, combos in plans:
        report(done, total, f"building ScaNN with {b.num_leaves:,} leaves…")
        scann = build(b)
        done += 1
        for leaves, reorder in combos:
            report(done, total, f"{b.num_leaves:,} leaves: searching {leaves:,}, re-ordering {reorder:,}")
            found = np.array([scann.search(q, prep.k, leaves, reorder) for q in prep.queries[:2]])  # warm-up
            found, ms = time_single(lambda q: scann.search(q, prep.k, leaves, reorder),
                                    prep.queries[:latency_queries], warmup=0)
            rows.append({"num_leaves": b.num_leaves, "num_leaves_to_search": leaves,
                         "num_reordering_candidates": reorder, "dimensions_per_block": b.dimensions_per_block,
                         "anisotropic_threshold": b.anisotropic_threshold,
                         "recall": recall_at_k(found, prep.exact[:latency_queries]),
                         "latency_ms_mean": float(np.mean(ms)), "latency_ms_p95": float(np.percentile(ms, 95)),
                         "qps": 1000.0 / max(float(np.mean(ms)), 1e-9), "build_seconds": scann.build_seconds,
                         "memory_mb": scann.memory_bytes(reorder > 0) / MB})
            done += 1
    report(total, total, "done")
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["frontier"] = pareto(frame["recall"].to_numpy(), frame["qps"].to_numpy())
    return frame


def pareto(recall: np.ndarray, qps: np.ndarray) -> np.ndarray:
    """True where no other point has both higher-or-equal recall and higher QPS (the frontier)."""
    order = np.lexsort((-qps, -recall))  # best recall first, ties: fastest first
    keep = np.zeros(len(recall), bool)
    best = -np.inf
    for i in order:
        if qps[i] > best:
            keep[i], best = True, qps[i]
    return keep


def choose(frame, target_recall: float):
    """The fastest swept setting reaching ``target_recall`` (None if none does)."""
    ok = frame[frame["recall"] >= target_recall]
    return None if ok.empty else ok.sort_values("qps", ascending=False).iloc[0]


# --------------------------------------------------------------------------- catalog from a run


def catalog_for(kind: str, size: int | None, dim: int, run=None, seed: int = 0, progress=None) -> catalogs.Catalog:
    """Build a catalog for the CLI: ``run``'s vectors, or the tutorial preset's (trained if not saved yet)."""
    if kind == "gaussian":
        if size is None:
            raise UserError("--catalog-size is required for the gaussian catalog")
        return catalogs.gaussian(size, dim, seed)
    if run is None:
        from recsys import config as cfg
        from recsys.store import runs

        if progress:
            progress(f"training (or loading) the tutorial preset at dim {dim} for its vectors…")
        run, _ = runs.train_or_load(cfg.TUTORIAL.with_(embedding_dim=dim))
    users, movies = run.vectors
    if movies.shape[1] != dim:
        raise UserError(f"run {run.run_id} has dimension {movies.shape[1]}, not {dim}")
    if kind == "trained":
        if size not in (None, len(movies)):
            raise UserError(f"the trained catalog has {len(movies):,} vectors; drop --catalog-size or use --catalog scaled")
        return catalogs.trained(movies, users)
    if size is None:
        raise UserError("--catalog-size is required for the scaled catalog")
    return catalogs.scaled(movies, users, size, seed)
