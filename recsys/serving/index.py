"""Serving: find the top-k movies for a query vector with TFRS's BruteForce and ScaNN layers.

Retrieval at serving time is a nearest-neighbour search by dot product: the query is a
user's vector (user tower) or a movie's vector (movie tower, for "more like this"), the
candidates are all movie vectors.

- ``BruteForce`` scores every candidate (one matrix product) and takes the top k: exact.
- ``ScaNN`` partitions the candidates into ``num_leaves`` clusters, scores only the
  ``num_leaves_to_search`` clusters nearest the query, with vectors compressed by
  anisotropic quantisation (``dimensions_per_block`` dimensions per 4-bit code), then
  re-scores the best ``num_reordering_candidates`` exactly. Approximate, and much faster
  on large catalogs; on 1,664 movies brute force is just as fast (see the ANN lab).
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys.config import Lever
from recsys.errors import UserError

try:
    from scann import scann_ops
except ImportError:  # pragma: no cover - scann is pinned in requirements
    scann_ops = None


@dataclass(frozen=True)
class ScannParams:
    """ScaNN's knobs (see the module docstring for what each does)."""

    num_leaves: int = 40
    num_leaves_to_search: int = 20
    num_reordering_candidates: int = 100
    dimensions_per_block: int = 2
    anisotropic_threshold: float = 0.2
    training_iterations: int = 12

    def validate(self, n_candidates: int, k: int = 10) -> "ScannParams":
        """Raise ``UserError`` for settings ScaNN cannot use on this catalog."""
        if not 1 <= self.num_leaves <= n_candidates:
            raise UserError(f"num_leaves must be between 1 and the catalog size {n_candidates}, got {self.num_leaves}")
        if not 1 <= self.num_leaves_to_search <= self.num_leaves:
            raise UserError(f"num_leaves_to_search must be between 1 and num_leaves ({self.num_leaves}), "
                            f"got {self.num_leaves_to_search}")
        if self.num_reordering_candidates and not k <= self.num_reordering_candidates <= n_candidates:
            raise UserError(f"num_reordering_candidates must be between k ({k}) and the catalog size "
                            f"{n_candidates}, got {self.num_reordering_candidates}")
        if not 1 <= self.dimensions_per_block <= 16:
            raise UserError(f"dimensions_per_block must be between 1 and 16, got {self.dimensions_per_block}")
        if not 0.0 <= self.anisotropic_threshold <= 1.0:
            raise UserError(f"anisotropic_threshold must be between 0 and 1, got {self.anisotropic_threshold}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


# ScaNN's settings as the pages draw them (one number widget each, keyed by ``ScannParams``' field). A range
# tops out at the ANN lab's largest catalog; a page with a smaller one caps it at its size.
SCANN_HELP = {
    "num_leaves": "Build time. ScaNN splits the catalog into this many clusters (k-means *leaves*). More leaves mean "
                  "smaller clusters to scan, but more centroids to compare each query with; √N to a few √N is "
                  "typical. Changing it rebuilds the index.",
    "num_leaves_to_search": "Search time. How many of the clusters closest to the query are scanned: the main "
                            "speed/recall dial. More = higher recall, slower. No rebuild.",
    "num_reordering_candidates": "Search time. ScaNN first scores with compressed 4-bit codes, then re-scores this "
                                 "many of the best exactly with the float vectors, fixing the compression's "
                                 "mistakes. More = higher recall, a little slower; 0 = no re-scoring. No rebuild.",
    "dimensions_per_block": "Build time. Anisotropic quantisation compresses each block of this many dimensions "
                            "into one 4-bit code. More dimensions per block = a smaller index and faster "
                            "scoring, but coarser scores. Rebuilds.",
    "anisotropic_threshold": "Build time. The quantiser weighs errors *along* a vector more than across it for "
                             "pairs whose dot product exceeds this threshold (ScaNN's default 0.2): those are the "
                             "pairs that can make the top k, so their scores must stay accurate. Rebuilds.",
}
SCANN_LEVERS = {name: Lever(label, help=SCANN_HELP[name], kind=kind, widget="number", range=bounds, step=step,
                            main=True)
                for name, label, kind, bounds, step in (
                    ("num_leaves", "num_leaves", "int", (1, 1_000_000), None),
                    ("num_leaves_to_search", "num_leaves_to_search", "int", (1, 1_000_000), None),
                    ("num_reordering_candidates", "num_reordering_candidates", "int", (0, 1_000_000), 10),
                    ("dimensions_per_block", "dimensions_per_block", "int", (1, 16), None),
                    ("anisotropic_threshold", "anisotropic threshold", "float", (0.0, 1.0), 0.05))}


def default_scann_params(n_candidates: int) -> ScannParams:
    """Defaults measured to give recall@10 >= 0.95 (see tests and the ANN lab).

    num_leaves ~ sqrt(n) keeps clusters ~sqrt(n) large. On the 1,664 trained movie vectors,
    searching a quarter of the 41 leaves gave recall@10 of 0.95-0.96 (k-means is randomised,
    so it varies per build); searching half gave 0.99, so half it is.
    """
    if n_candidates >= 5_000:
        return _scaled_catalog_params(n_candidates)
    leaves = int(max(1, min(n_candidates, round(np.sqrt(n_candidates)))))
    return ScannParams(num_leaves=leaves, num_leaves_to_search=max(1, leaves // 2),
                       num_reordering_candidates=int(min(100, n_candidates)))


# (catalog size, num_leaves, num_leaves_to_search, num_reordering_candidates), picked from
# `python -m recsys bench ann --sweep` on trained vectors + noisy copies (dim 32): the fastest
# setting with recall@10 >= 0.98 and a margin (measured 0.999 at 10k and 100k, 0.989 at 1M).
_MEASURED_SCANN = ((10_000, 100, 25, 100), (100_000, 632, 51, 100), (1_000_000, 1000, 60, 200))


def _scaled_catalog_params(n: int) -> ScannParams:
    """Defaults for large catalogs: the measured setting of the nearest size (log scale), rescaled.

    Leaves grow like sqrt(n), but at most 1,000: ScaNN trains its tree on a 100,000-vector
    sample, and at 1M 1,500 or 2,000 leaves gave lower recall than 1,000 for the same work.
    """
    size, leaves, search, reorder = min(_MEASURED_SCANN, key=lambda m: abs(np.log(n / m[0])))
    scaled = int(max(1, min(1000, n, round(leaves * np.sqrt(n / size)))))
    return ScannParams(num_leaves=scaled, num_leaves_to_search=max(1, min(scaled, round(search * scaled / leaves))),
                       num_reordering_candidates=int(min(reorder, n)))


class TunedScaNN(tfrs.layers.factorized_top_k.ScaNN):
    """TFRS's ScaNN layer with the anisotropic quantisation threshold exposed.

    TFRS builds ``score_ah(dimensions_per_block)`` with ScaNN's default threshold (0.2);
    this subclass passes ours. Everything else, including SavedModel export, is TFRS's.
    """

    def __init__(self, params: ScannParams, k: int = 10, **kwargs):
        super().__init__(k=k, num_leaves=params.num_leaves, num_leaves_to_search=params.num_leaves_to_search,
                         training_iterations=params.training_iterations,
                         dimensions_per_block=params.dimensions_per_block,
                         num_reordering_candidates=params.num_reordering_candidates or None, **kwargs)
        self.params = params

        def build_searcher(candidates):
            builder = scann_ops.builder(db=candidates, num_neighbors=self._k, distance_measure="dot_product")
            builder = builder.tree(num_leaves=params.num_leaves, num_leaves_to_search=params.num_leaves_to_search,
                                   training_iterations=params.training_iterations)
            builder = builder.score_ah(params.dimensions_per_block,
                                       anisotropic_quantization_threshold=params.anisotropic_threshold)
            if params.num_reordering_candidates:
                builder = builder.reorder(params.num_reordering_candidates)
            import uuid
            with quiet_native_logs():
                self._built.append(builder.build(shared_name=f"{self.name}/{uuid.uuid4()}"))
            return self._built[-1]

        self._built = []
        self._build_searcher = build_searcher

    def index(self, candidates, identifiers=None):
        """TFRS's ``index``, then free the TF searcher resource the build leaves behind.

        TFRS builds a searcher resource (a named TF resource, alive until deleted), keeps
        only its serialized form and drops the handle: without this, every build (each
        ScaNN setting on the Recommend page, each ANN lab run) would keep a copy of the
        catalog in memory for good.
        """
        try:
            return super().index(candidates, identifiers)
        finally:
            while self._built:
                tf.raw_ops.DestroyResourceOp(resource=self._built.pop().searcher_handle, ignore_lookup_error=True)


@contextlib.contextmanager
def quiet_native_logs():
    """Silence C++ log lines (ScaNN's partitioner INFO) written straight to file descriptor 2."""
    if os.environ.get("RECSYS_NATIVE_LOGS"):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def build_bruteforce(vectors: np.ndarray, k: int = 10) -> tfrs.layers.factorized_top_k.BruteForce:
    """Exact index over ``vectors``; identifiers are row numbers."""
    index = tfrs.layers.factorized_top_k.BruteForce(k=k)
    index.index(tf.constant(vectors, tf.float32), tf.range(len(vectors), dtype=tf.int32))
    return index


def build_scann(vectors: np.ndarray, params: ScannParams | None = None, k: int = 10) -> TunedScaNN:
    """Approximate index over ``vectors`` (identifiers: row numbers)."""
    params = (params or default_scann_params(len(vectors))).validate(len(vectors), k)
    index = TunedScaNN(params, k=k)
    index.index(tf.constant(vectors, tf.float32), tf.range(len(vectors), dtype=tf.int32))
    return index


def padded_length(n_excluded: int, k: int, n_candidates: int | None = None) -> int:
    """How many answers past the first k a search asks for when it leaves out ``n_excluded`` movies.

    As TFRS's ``query_with_exclusions``: the index is asked for k + L answers and the excluded
    ones are dropped after, so L must be at least the number excluded. It is rounded up to a
    power of two (at least 16): users with different numbers of seen movies then share a few
    query shapes (``query_shape``), each timed on its own by the latency meter, ~log2(catalog)
    of them in all. Never more than the catalog minus k (the index cannot return more).
    """
    length = max(16, 1 << int(np.ceil(np.log2(max(n_excluded, 1)))))
    if n_candidates is not None:
        length = min(length, max(n_excluded, n_candidates - k))
    return length


def search(index, query: np.ndarray, k: int, exclude: list | np.ndarray | None = None):
    """Top-k (scores, row ids) for one query vector, leaving out the ``exclude`` rows.

    With exclusions the result can be shorter than k: ScaNN never returns more than the
    candidates it re-scores (``num_reordering_candidates``), and for a user who rated 300
    movies few of ScaNN's 100 best may be unseen. What is returned is never a movie left out.

    The layer is called eagerly and the excluded rows are dropped in NumPy, in the order
    TFRS's ``query_with_exclusions`` keeps (by score, ties in the index's order): the same
    answers, as fast for one query, and no graph to trace for each new k and length (that
    method is a ``tf.function``). ``benchmarks/exclusion_search.py`` compares the two.
    """
    q = tf.constant(np.asarray(query, np.float32)[None, :])
    exclude = np.asarray([] if exclude is None else exclude, np.int64).ravel()
    if not len(exclude):
        scores, ids = index(q, k=k)
        return scores.numpy()[0], ids.numpy()[0]
    scores, ids = index(q, k=k + padded_length(len(exclude), k, _catalog_size(index)))
    scores, ids = scores.numpy()[0], ids.numpy()[0]
    keep = ~np.isin(ids, exclude)
    scores, ids = scores[keep], ids[keep]
    first = np.argsort(-scores, kind="stable")[:k]
    return scores[first], ids[first]


def _catalog_size(index) -> int | None:
    """Number of candidates an index holds (BruteForce and ScaNN keep their ids as a weight)."""
    ids = getattr(index, "_identifiers", None)
    return None if ids is None else int(ids.shape[0])


@dataclass
class Comparison:
    """BruteForce and ScaNN answers to one query, side by side."""

    query: dict
    bruteforce: list   # [{"rank", "movie_idx", "score"}]
    scann: list
    overlap: float     # |ScaNN ∩ BruteForce| / k
    latency_ms: dict   # {"bruteforce": ms, "scann": ms}, median of repeated single queries of this shape
    # () -> {"bruteforce": latency.Figure, "scann": …}: each index's latency *now* for this query's shape. An answer
    # is kept in memory and shown again; its latency is asked afresh each time (serving/latency.py).
    timing: object = field(default=None, repr=False, compare=False)


def _timed(index, query, k, exclude, repeats: int):
    scores, ids = search(index, query, k, exclude)  # warm-up (the first call of an op is slower)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        search(index, query, k, exclude)
        times.append((time.perf_counter() - t) * 1000)
    return scores, ids, float(np.median(times))


def timings(bruteforce, scann, query: np.ndarray, k: int, exclude, meter) -> dict:
    """Each index's latency for this query's shape from ``meter`` (a ``latency.Meter``): ``{name: Figure}``.

    Measured (a burst of single queries like this one) only when the meter says it is due; else
    what it knows, at once.
    """
    exclude = [] if exclude is None else list(exclude)
    return {name: meter.figure((name, *query_shape(index, k, exclude)),
                               lambda index=index: search(index, query, k, exclude))
            for name, index in (("bruteforce", bruteforce), ("scann", scann))}


def query_shape(index, k: int, exclude) -> tuple:
    """What a query's latency depends on: k and the padded number of exclusions (not which user or movie).

    BruteForce multiplies the query by every candidate whoever asks; ScaNN searches the same
    number of leaves and re-scores the same number of candidates. So the measurements of one
    shape stand for every query of that shape.
    """
    n = _catalog_size(index)
    return (k, padded_length(len(exclude), k, n) if len(exclude) else 0)


def compare(bruteforce, scann, query: np.ndarray, k: int, exclude=None, repeats: int = 5,
            query_info: dict | None = None, latency=None) -> Comparison:
    """Run one query through both indexes; overlap@k and per-query latency of each.

    Without ``latency`` (the CLI), each index is timed here: the median of ``repeats`` single
    queries after a warm-up. With a ``latency.Meter`` (a server, kept per run), the figure is the
    meter's for this query's shape (``query_shape``): measured in bursts over time, quiet ones
    preferred (``serving/latency.py``), so a page view runs one search per index, and
    ``Comparison.timing()`` gives the figure again, refreshed, whenever the answer is shown.
    """
    if k < 1:
        raise UserError(f"k must be at least 1, got {k}")
    exclude = [] if exclude is None else list(exclude)
    results = {}
    for name, index in (("bruteforce", bruteforce), ("scann", scann)):
        if latency is not None:
            scores, ids = search(index, query, k, exclude)
            ms = None
        else:
            scores, ids, ms = _timed(index, query, k, exclude, repeats)
        results[name] = ([{"rank": r + 1, "movie_idx": int(i), "score": float(s)}
                          for r, (s, i) in enumerate(zip(scores, ids)) if i >= 0], ms)
    if latency is not None:
        def timing():
            return timings(bruteforce, scann, query, k, exclude, latency)
        ms = {name: figure.ms for name, figure in timing().items()}
    else:
        ms = {name: results[name][1] for name in results}
        timing = None
    bf, sc = results["bruteforce"][0], results["scann"][0]
    overlap = len({r["movie_idx"] for r in bf} & {r["movie_idx"] for r in sc}) / k
    return Comparison(query=query_info or {}, bruteforce=bf, scann=sc, overlap=overlap, latency_ms=ms, timing=timing)


def recall(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean over queries of |approx ∩ exact| / k: the share of true neighbours found."""
    approx_ids, exact_ids = np.atleast_2d(approx_ids), np.atleast_2d(exact_ids)
    k = exact_ids.shape[1]
    hits = [len(set(a.tolist()) & set(e.tolist())) for a, e in zip(approx_ids, exact_ids)]
    return float(np.mean(hits) / k) if len(hits) else 0.0
