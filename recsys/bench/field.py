"""ScaNN against the field: every library's recall-vs-speed frontier on one catalog, and what it teaches.

The indexes are ``peers`` (ScaNN, faiss HNSW, faiss IVF-PQ, hnswlib, one interface); the
catalog, the queries, their exact answers and the timing code are ``ann``'s, the same for
every library: recall@k against exact search, single-query latency on one thread, batched
throughput on every core, build time and index memory. ``library_frontier`` builds one index
and sweeps its search knobs; ``lessons`` turns a frontier into sentences drawn from the
numbers themselves (which index is fastest at recall 0.95 and 0.99, what building costs,
where brute force is the right choice, what the TFRS layer adds per call).
"""
from __future__ import annotations

from recsys.bench import catalogs, peers
from recsys.bench.ann import INDEX_KEYS, Workload, check_k, pareto, prepare, recall_at_k, summary, time_batched, \
    time_single
from recsys.errors import UserError


DEFAULT_SEARCH = {"scann": {}, "faiss-hnsw": {"efSearch": 64}, "faiss-ivfpq": {"nprobe": 16, "k_factor": 8},
                  "hnswlib": {"ef": 64}}


def build_peer(prep: Workload, library: str, **build):
    """``library``'s index over ``prep``'s catalog (``peers``), with its per-size build settings unless given."""
    settings = {**peers.default_build(library, prep.catalog.size), **build}
    try:
        return peers.CLASSES[library](prep.catalog.vectors, prep.k, **settings)
    except UserError:
        raise
    except Exception as e:  # a library refusing a setting (e.g. too few points to train its cells)
        raise UserError(f"{peers.LABELS[library]} could not build this index: {str(e).splitlines()[0][:300]}") from e


def measure_peer(prep: Workload, index, latency_queries: int = 200, **search) -> dict:
    """Recall@k, single-query latency (one thread), batched QPS (every core), build time and memory of one setting."""
    k = prep.k
    found, qps = time_batched(lambda q: index.search_batched(q, k, **search), prep.queries)
    single, ms = time_single(lambda q: index.search(q, k, **search), prep.queries[:latency_queries])
    out = summary(ms, qps, index.build_seconds, index.memory_bytes())
    out["recall"] = recall_at_k(found, prep.exact)
    out["recall_single"] = recall_at_k(single, prep.exact[:latency_queries])
    return out


def library_frontier(prep: Workload, library: str, latency_queries: int = 200, index=None, callback=None):
    """One library's recall and speed over its search grid (``peers.search_grid``): rows for the frontier chart.

    ``index``: an index built before (the ANN lab keeps them); ``callback(done, total, message)``.
    """
    index = index or build_peer(prep, library)
    grid = peers.search_grid(library, prep.catalog.size, prep.k, index.build)
    layer_ms = index.tfrs_layer_ms(prep.queries[:21], prep.k) if library == "scann" else None
    rows = []
    for i, search in enumerate(grid):
        if callback:
            callback(i, len(grid), f"{peers.LABELS[library]}: " + ", ".join(f"{k} {v:g}" for k, v in search.items()))
        r = measure_peer(prep, index, latency_queries, **search)
        rows.append({"library": library, "build": ", ".join(f"{k} {v}" for k, v in index.build.items()),
                     "search": ", ".join(f"{k} {v:g}" for k, v in search.items()), "recall": r["recall"],
                     "latency_ms_mean": r["latency_ms_mean"], "latency_ms_p95": r["latency_ms_p95"],
                     "qps": 1000.0 / max(r["latency_ms_mean"], 1e-9), "qps_batched": r["qps"],
                     "build_seconds": r["build_seconds"], "memory_mb": r["memory_mb"],
                     "tfrs_layer_ms": layer_ms})
    return rows


def field_frame(rows: list):
    """The rows of every library's frontier as one frame, each library's Pareto points marked."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if len(frame):
        frame["frontier"] = False
        for library, part in frame.groupby("library"):
            frame.loc[part.index, "frontier"] = pareto(part["recall"].to_numpy(), part["qps"].to_numpy())
    return frame


def compare_libraries(catalog: catalogs.Catalog, libraries, k: int = 10, n_queries: int = 500,
                      latency_queries: int = 200, sweep: bool = False, seed: int = 0, progress=None) -> dict:
    """``bench ann --libraries``: every library on the same catalog and queries, at its default search setting
    (``DEFAULT_SEARCH``), or over its whole search grid with ``sweep``; brute force as the reference."""
    note = progress or (lambda message: None)
    libraries = peers.check_libraries(libraries)
    k = check_k(k, catalog.size)
    prep = prepare(catalog, k, n_queries, latency_queries, seed=seed, progress=note)
    out = {"catalog_size": catalog.size, "dim": catalog.dim, "k": k, "queries": len(prep.queries),
           "bruteforce_matmul": prep.brute["bruteforce_matmul"], "bruteforce_tfrs": prep.brute["bruteforce_tfrs"],
           "libraries": {}}
    rows = []
    for library in libraries:
        note(f"{peers.LABELS[library]}: building…")
        index = build_peer(prep, library)
        r = measure_peer(prep, index, latency_queries, **DEFAULT_SEARCH[library])
        out["libraries"][library] = {"build": index.build, "search": DEFAULT_SEARCH[library],
                                     **{key: r[key] for key in ("recall",) + INDEX_KEYS}}
        if sweep:
            note(f"{peers.LABELS[library]}: sweeping its search settings…")
            rows += library_frontier(prep, library, latency_queries, index)
        del index
    if sweep:
        out["sweep"] = field_frame(rows).to_dict(orient="records")
        out["lessons"] = lessons(field_frame(rows), prep.brute, k)
    return out


def lessons(frame, brute: dict, k: int = 10, targets=(0.95, 0.99)) -> list[str]:
    """What a frontier teaches, in sentences drawn from the measurement itself (nothing hard-coded)."""
    if frame is None or not len(frame):
        return []
    out = []
    bf = brute["bruteforce_matmul"]
    bf_single = max(1000.0 / max(b["latency_ms_mean"], 1e-9) for b in brute.values())  # the faster brute force
    for target in targets:
        ok = frame[frame["recall"] >= target]
        if ok.empty:
            out.append(f"No library reached recall {target:g} with the settings swept.")
            continue
        best = ok.loc[ok.groupby("library")["qps"].idxmax()].sort_values("qps", ascending=False)
        first = best.iloc[0]
        ranking = ", ".join(f"{peers.LABELS[r.library]} {r.qps:,.0f}" for r in best.itertuples())
        missing = sorted(set(frame["library"]) - set(best["library"]))
        verdict = (f"brute force ({bf_single:,.0f} queries/s) is {bf_single / first.qps:.1f}x faster still: on this "
                   "catalog it is the right choice" if bf_single >= first.qps else
                   f"{first.qps / bf_single:.0f}x brute force's {bf_single:,.0f}")
        out.append(f"At recall@{k} >= {target:g}, "
                   f"the fastest is {peers.LABELS[first.library]} ({first.search}: {first.qps:,.0f} queries/s one "
                   f"at a time, {verdict}). Queries per second at that recall: {ranking}"
                   + (f"; {', '.join(peers.LABELS[m] for m in missing)} never got there" if missing else "") + ".")
    builds = frame.groupby("library")[["build_seconds", "memory_mb"]].first()
    out.append("Build time and index memory: " + "; ".join(
        f"{peers.LABELS[lib]} {r.build_seconds:.1f} s, {r.memory_mb:,.0f} MB" for lib, r in builds.iterrows())
        + f" (brute force: no build, {bf['memory_mb']:,.0f} MB of float vectors).")
    if "tfrs_layer_ms" in frame and frame["tfrs_layer_ms"].notna().any():
        sc = frame[frame["library"] == "scann"]
        layer = float(sc["tfrs_layer_ms"].dropna().iloc[0])
        raw = float(sc.loc[sc["recall"].idxmax() if sc[sc["recall"] >= targets[-1]].empty
                           else sc[sc["recall"] >= targets[-1]]["qps"].idxmax(), "latency_ms_mean"])
        out.append(f"Through TFRS's ScaNN layer, called eagerly from Python, one query takes {layer:.2f} ms; the "
                   f"searcher inside it answers in {raw:.3f} ms: the layer adds {layer - raw:.2f} ms a call, "
                   f"{layer / max(raw, 1e-9):.0f}x the search itself. Serve from a traced graph (the SavedModel export) "
                   "or batch the queries.")
    accurate = frame[frame["recall"] >= targets[0]]
    bf_batched = max(b.get("qps") or 0.0 for b in brute.values())
    if bf_batched and len(accurate):
        batched_best = accurate.loc[accurate["qps_batched"].idxmax()]
        out.append(f"Batched, brute force answers {bf_batched:,.0f} queries/s (one matrix product and a top-k for "
                   "all of them); "
                   f"the fastest index batched at recall >= {targets[0]:g}, {peers.LABELS[batched_best.library]} "
                   f"at {batched_best.search}, {batched_best.qps_batched:,.0f} (recall {batched_best.recall:.3f})"
                   + (": with queries in batches, brute force is the simpler winner." if bf_batched >= batched_best.qps_batched
                      else "."))
    return out
