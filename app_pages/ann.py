"""ANN lab: ScaNN against brute force, recall against speed, from 1,664 movies to a million candidates.

The catalogs, the brute-force measurements and the ScaNN indexes are built once per server
(``app_pages/cache.py``) and shared by every session and by the sweep; the numbers come from
``recsys/bench/ann.py``, the same code as ``python -m recsys bench ann``.
"""
from __future__ import annotations

import time

import streamlit as st

from app_pages import cache, common, levers
from recsys.bench import ann, catalogs, field, peers
from recsys.errors import UserError
from recsys.serving import index as idx
from recsys.ui import ann_charts

HELP = {
    "catalog": "What to search. **Trained**: the active run's movie vectors (1,664 titles). **Trained + noisy "
               "copies**: those plus copies multiplied by uniform noise, as TFRS's efficient-serving tutorial "
               "builds a big catalog. **Gaussian**: random vectors with no cluster structure, the hard case.",
    "size": "How many candidates. Brute force scores every one of them per query, so its cost grows with the "
            "catalog; ScaNN scans only a few clusters, so its cost grows far more slowly.",
    "k": "How many nearest neighbours each query asks for. recall@k = the share of the exact top k that "
         "ScaNN also returns.",
    "queries": "How many query vectors to measure with (user vectors of the run; Gaussian ones for the Gaussian "
               "catalog). Recall and batched QPS use all of them; single-query latency the first 200.",
}
KNOB_KEYS = {"num_leaves": "leaves", "num_leaves_to_search": "search", "num_reordering_candidates": "reorder",
             "dimensions_per_block": "dpb", "anisotropic_threshold": "thr"}  # ScaNN's widgets: "ann_leaves_{catalog}"
LATENCY_QUERIES = cache.LATENCY_QUERIES
BRUTE_NAMES = {"bruteforce_matmul": "BruteForce (numpy matmul + top-k)", "bruteforce_tfrs": "BruteForce (TFRS layer)"}


def catalog_picker(movies):
    """Catalog kind, size and k (the trained catalog's size is the run's)."""
    top = st.columns([2, 2, 1])
    kind = top[0].selectbox("Catalog", catalogs.KINDS, format_func=catalogs.KIND_LABELS.get, help=HELP["catalog"],
                            key="ann_kind")
    if kind == "trained":
        size = len(movies)
        top[1].text_input("Catalog size", f"{size:,} (the run's titles)", disabled=True, help=HELP["size"])
    else:
        size = top[1].select_slider("Catalog size", options=list(catalogs.SIZES), value=100_000, help=HELP["size"],
                                    format_func=lambda n: f"{n:,}", key="ann_size")
    k = int(top[2].number_input("k", min_value=1, max_value=100, value=10, help=HELP["k"], key="ann_k"))
    return kind, size, k


def knobs_form(kind: str, size: int):
    """ScaNN's settings (defaults chosen from measurements at this size) and the query sample; ``(params, n)``."""
    default = idx.default_scann_params(size)
    with st.form("ann_knobs"):
        st.markdown(f"**ScaNN settings** for {size:,} candidates (defaults chosen from measurements at this size)")
        tag = f"{kind}_{size}"  # a new catalog size starts from its own defaults
        values, first, second = {}, st.columns(3), st.columns(3)
        for col, (name, short) in zip(first + second[:2], KNOB_KEYS.items()):
            with col:
                values[name] = levers.lever_widget(name, idx.SCANN_LEVERS, f"ann_{short}_{tag}",
                                                   value=getattr(default, name))
        n_queries = int(second[2].number_input("query sample size", min_value=10, max_value=5000, value=500,
                                               step=50, help=HELP["queries"], key="ann_queries"))
        st.form_submit_button("Measure", type="primary")
    params = idx.ScannParams(**{name: type(getattr(default, name))(v) for name, v in values.items()})
    return params, n_queries


def show_measurement(prep, current: dict, k: int, size: int) -> None:
    """recall@k, latency and speedup of the current setting, and the table beside both brute forces."""
    brute = prep.brute
    fastest = min(brute, key=lambda name: brute[name]["latency_ms_mean"])
    m = st.columns(4)
    m[0].metric(f"recall@{k}", f"{current['recall']:.3f}", help="mean |ScaNN ∩ exact| / k over the query sample")
    m[1].metric("ScaNN ms/query", f"{current['latency_ms_mean']:.3f}")
    m[2].metric("Faster brute force ms/query", f"{brute[fastest]['latency_ms_mean']:.3f}", help=BRUTE_NAMES[fastest])
    m[3].metric("Speedup (one query at a time)", f"{ann.speedup(current['latency_ms_mean'], brute):.1f}×")

    rows = [{"index": "ScaNN", "recall": current["recall"], **{key: current[key] for key in ann.INDEX_KEYS}}]
    rows += [{"index": BRUTE_NAMES[n], "recall": 1.0, **b} for n, b in brute.items()]
    for r in rows:
        r["qps_single"] = 1000.0 / max(r["latency_ms_mean"], 1e-9)
    st.dataframe(rows, hide_index=True, width="stretch", column_order=[
        "index", "recall", "latency_ms_mean", "latency_ms_p95", "qps_single", "qps", "build_seconds", "memory_mb"],
        column_config={"recall": st.column_config.NumberColumn(f"recall@{k}", format="%.3f"),
                       "latency_ms_mean": st.column_config.NumberColumn("ms/query (mean)", format="%.3f"),
                       "latency_ms_p95": st.column_config.NumberColumn("ms/query (p95)", format="%.3f"),
                       "qps_single": st.column_config.NumberColumn("QPS, one at a time", format="%.0f"),
                       "qps": st.column_config.NumberColumn("QPS, batched", format="%.0f"),
                       "build_seconds": st.column_config.NumberColumn("build s", format="%.2f"),
                       "memory_mb": st.column_config.NumberColumn("index MB", format="%.1f")})
    st.caption(
        f"{len(prep.queries):,} queries; single-query latency over the first {min(LATENCY_QUERIES, len(prep.queries))}: "
        f"ScaNN timed just now, brute force at {time.strftime('%H:%M:%S', time.localtime(prep.timed_at))} (server "
        f"time; timed again every {ann.BRUTE_REFRESH_S / 60:.0f} minutes when nothing else is running). "
        "ScaNN is built by TFRS's `ScaNN` layer and searched with the `scann` searcher it holds; calling the TFRS "
        "layer eagerly per query re-creates that searcher each time, which adds milliseconds per query "
        "(`python -m recsys bench ann` measures that too). Index MB: ScaNN's serialized index (4-bit codes, tree, "
        "and the float vectors when re-ordering), the brute forces' float matrix. Timings are from a shared machine.")
    if size < 5_000:
        st.info(f"On {size:,} candidates brute force is one small matrix product: ScaNN has little to skip, and its "
                "per-query overhead can make it no faster. Pick the scaled catalog at 100k or 1M to see it pay off.")


def sweep_section(run_id: str, kind: str, size: int, k: int, n_queries: int, params, prep, current: dict) -> None:
    """The recall-vs-QPS frontier: build a few indexes, search each with a grid of settings."""
    st.subheader("Recall against speed")
    sweep_key = (run_id, kind, size, k, n_queries)
    sweeps = st.session_state.setdefault("ann_sweeps", {})
    if size >= 1_000_000:
        st.caption("At 1M candidates a sweep builds three indexes and takes a few minutes.")
    if st.button("Run sweep", help="Build a few indexes (num_leaves around √N) and search each with a grid of "
                                   "num_leaves_to_search and num_reordering_candidates."):
        builds, searches = ann.default_grid(size, k, params)
        bar = st.progress(0.0, text="starting…")
        try:
            sweeps[sweep_key] = ann.sweep(prep, builds, searches, min(LATENCY_QUERIES, n_queries),
                                          lambda done, total, msg: bar.progress(min(1.0, done / total), text=msg),
                                          build=lambda b: cache.scann_index(run_id, kind, size, b, k))
        except UserError as e:
            common.show_error(e)
        bar.empty()
    frame = sweeps.get(sweep_key)
    if frame is None or not len(frame):
        st.caption("Run the sweep to plot ScaNN's recall-vs-QPS frontier, brute force and the current setting.")
        return
    st.altair_chart(ann_charts.frontier_chart(frame, prep.brute, current, k), width="stretch")
    st.caption("Swept points are timed over the first 200 queries; the current setting is measured on its own, "
               "so on a busy machine it can sit a little off the line.")
    best = ann.choose(frame, 0.95)
    if best is not None:
        st.caption(f"Fastest setting with recall@{k} ≥ 0.95: {int(best.num_leaves):,} leaves, "
                   f"{int(best.num_leaves_to_search):,} searched, {int(best.num_reordering_candidates):,} re-ordered: "
                   f"{best.latency_ms_mean:.3f} ms/query, recall {best.recall:.3f}.")
    with st.expander("All swept settings"):
        st.dataframe(frame, hide_index=True, width="stretch")


def field_section(run_id: str, kind: str, size: int, k: int, n_queries: int, prep) -> None:
    """ScaNN against faiss (HNSW, IVF-PQ) and hnswlib: one frontier per library, and what they teach."""
    st.subheader("ScaNN against the field")
    st.caption("The TFRS tutorial says ScaNN gives the best recall at almost every speed, citing "
               "[ann-benchmarks](https://ann-benchmarks.com). Check it on this catalog: faiss's HNSW graph and "
               "IVF-PQ index (4-bit codes, re-scored exactly) and hnswlib answer the same queries, each built once "
               "with settings chosen for this size and swept over its own search knobs. Single queries run on one "
               "thread each; the lines join each library's best points.")
    libraries = st.multiselect("Libraries", list(peers.LIBRARIES), default=list(peers.LIBRARIES),
                               format_func=peers.LABELS.get, key="ann_field_libraries")
    key = (run_id, kind, size, k, n_queries)
    done = st.session_state.setdefault("ann_field_done", {}).setdefault(key, [])  # measured (and cached)
    todo = [lib for lib in libraries if lib not in done]
    c = st.columns([1, 1, 3])
    if todo and c[0].button("Draw the frontiers", type="primary", key="ann_field_go",
                            help="Build each library's index and sweep its search settings; kept for a second look."):
        c[1].button("Stop", key="ann_field_stop", help="Stop after the library being measured; the others stay.")
        bar = st.progress(0.0, text="starting…")
        for i, lib in enumerate(todo):
            bar.progress(i / len(todo), text=f"{peers.LABELS[lib]}: building its index and sweeping its search "
                                             f"settings ({i + 1} of {len(todo)})…")
            try:
                cache.frontier_rows(run_id, kind, size, k, n_queries, lib)
            except UserError as e:
                common.show_error(e)
                continue
            done.append(lib)
        bar.empty()
        st.rerun()  # draw the result without the buttons of the measurement
    shown = [lib for lib in libraries if lib in done]
    if not shown:
        st.caption("Pick the libraries and draw their frontiers (100k candidates: well under a minute; 1M: a few "
                   "minutes, most of it building the HNSW graphs).")
        return
    frame = field.field_frame([r for lib in shown for r in cache.frontier_rows(run_id, kind, size, k, n_queries, lib)])
    st.altair_chart(ann_charts.field_chart(frame, prep.brute, k), width="stretch")
    st.markdown("**What this measurement says**")
    for line in field.lessons(frame, prep.brute, k):
        st.markdown(f"- {line}")
    with st.expander("Every setting measured"):
        st.dataframe(frame.drop(columns=["tfrs_layer_ms"], errors="ignore"), hide_index=True, width="stretch")


def main() -> None:
    st.title("⚡ ANN lab: ScaNN vs brute force")
    st.caption("Does approximate nearest-neighbour search pay off? Recall against speed, measured here, the way "
               "[ann-benchmarks](https://ann-benchmarks.com) does it.")
    run = common.active_run()
    if run is None:
        st.stop()
    kind, size, k = catalog_picker(run.vectors[1])
    params, n_queries = knobs_form(kind, size)
    try:
        params.validate(size, k)
        prep = cache.workload(run.run_id, kind, size, k, n_queries)
        ann.refresh_brute(prep)  # brute force timed again when its figures are old and the processor is free
        scann = cache.scann_index(run.run_id, kind, size, params, k)
        with st.spinner("Measuring ScaNN…"):
            current = ann.measure_scann(prep, scann, params.num_leaves_to_search, params.num_reordering_candidates,
                                        LATENCY_QUERIES)
    except UserError as e:
        common.show_error(e)
        st.stop()
    show_measurement(prep, current, k, size)
    sweep_section(run.run_id, kind, size, k, n_queries, params, prep, current)
    field_section(run.run_id, kind, size, k, n_queries, prep)


main()
