"""``python -m recsys bench train | eval | ann | scale | notebook``: our path against the reference, in one run.

``train``/``eval`` are ``recsys/bench/speed.py``, ``ann`` is ``recsys/bench/ann.py`` (its code,
and TensorFlow with it, loads only when it runs), ``scale`` is ``recsys/bench/scale.py``, one
size per fresh process so that each size's peak memory is its own. ``notebook`` executes the
generated notebooks of two presets in a fresh kernel (``recsys/bench/notebook.py``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace

from recsys.bench import catalogs
from recsys.cli.output import Parser, emit, progress
from recsys import config as cfg
from recsys.errors import UserError


def register(sub) -> None:
    b = sub.add_parser("bench", help="benchmarks: train | eval | ann | scale | notebook")
    bs = b.add_subparsers(dest="bench", required=True, parser_class=Parser)
    for name in ("train", "eval"):
        q = bs.add_parser(name)
        q.add_argument("--json", action="store_true")
        q.set_defaults(fn=run_speed)
    register_ann(bs)
    register_scale(bs)
    register_notebook(bs)


# --------------------------------------------------------------------------- train, eval


def run_speed(a) -> int:
    """``bench train``: ours against the tutorial's code; ``bench eval``: ours against FactorizedTopK."""
    from recsys.bench import speed

    if a.bench == "train":
        out = speed.bench_train()
        ours, theirs = out["ours"], out["tutorial"]
        text = (f"tutorial code: {theirs['seconds']:6.2f} s   test top-100 {theirs['top_100']:.4f}\n"
                f"ours:          {ours['seconds']:6.2f} s   test top-100 {ours['top_100']:.4f}\n"
                f"ratio (ours / tutorial): {out['ratio']:.3f}  (target <= 0.5)")
    else:
        out = speed.bench_eval()
        text = (f"FactorizedTopK: {out['factorized_top_k_seconds']:.3f} s\n"
                f"ours:           {out['ours_seconds']:.3f} s\nspeedup: {out['speedup']:.1f}x (target >= 10)\n"
                f"largest difference at any K: {out['max_abs_diff']:.5f}")
    emit(out, a.json, text)
    return 0


# --------------------------------------------------------------------------- ann


SCANN_FLAGS = ("num_leaves", "num_leaves_to_search", "num_reordering_candidates", "dimensions_per_block",
               "anisotropic_threshold")


def register_ann(bs) -> None:
    p = bs.add_parser("ann", help="ScaNN vs brute force: recall@k, latency, QPS, build time, memory")
    p.add_argument("--catalog", choices=catalogs.KINDS, default="scaled",
                   help="trained: a run's movie vectors; scaled: those plus noisy copies (TFRS tutorial); "
                        "gaussian: random vectors (the hard case)")
    p.add_argument("--catalog-size", type=int, help="number of candidates (scaled, gaussian)")
    p.add_argument("--dim", type=int, help="vector dimension (default: the run's, else 32)")
    p.add_argument("--run", help="saved run whose vectors to use (default: the tutorial preset at --dim)")
    p.add_argument("--queries", type=int, default=500, help="queries for recall and batched QPS")
    p.add_argument("--latency-queries", type=int, default=200, help="of those, how many to time one at a time")
    p.add_argument("--tfrs-layer-queries", type=int, default=20,
                   help="queries to time through the TFRS ScaNN layer itself (0: skip)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-leaves", type=int)
    p.add_argument("--num-leaves-to-search", type=int)
    p.add_argument("--num-reordering-candidates", type=int)
    p.add_argument("--dimensions-per-block", type=int)
    p.add_argument("--anisotropic-threshold", type=float)
    p.add_argument("--libraries", type=lambda s: [x for x in s.split(",") if x],
                   help="compare libraries on the same catalog and queries: any of scann, faiss-hnsw, "
                        "faiss-ivfpq, hnswlib (comma-separated); with --sweep, each one's whole frontier")
    p.add_argument("--sweep", action="store_true", help="run a grid of ScaNN settings and print the frontier")
    p.add_argument("--sweep-leaves", type=lambda s: [int(x) for x in s.split(",") if x],
                   help="with --sweep: the num_leaves values to build (comma-separated)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=run_ann)


def scann_params_from(a, n: int):
    """The default ScaNN settings for ``n`` candidates, with the flags given applied.

    A new ``--num-leaves`` without ``--num-leaves-to-search`` keeps the searched share of leaves.
    """
    from recsys.serving import index as idx

    base = idx.default_scann_params(n)
    changes = {name: getattr(a, name) for name in SCANN_FLAGS if getattr(a, name) is not None}
    if "num_leaves" in changes and "num_leaves_to_search" not in changes:
        changes["num_leaves_to_search"] = max(1, round(base.num_leaves_to_search * changes["num_leaves"] / base.num_leaves))
    return replace(base, **changes)


def run_ann(a) -> int:
    from recsys.bench import ann
    from recsys.store import runs

    note = None if a.json else progress(False)
    run_ = runs.load(a.run) if a.run else None
    dim = a.dim if a.dim is not None else (run_.vectors[1].shape[1] if run_ is not None else 32)
    catalog = ann.catalog_for(a.catalog, a.catalog_size, dim, run_, a.seed, note)
    if a.libraries:
        from recsys.bench import field

        out = field.compare_libraries(catalog, a.libraries, a.k, a.queries, a.latency_queries, a.sweep, a.seed, note)
        emit(out, a.json, libraries_text(out))
        return 0
    params = scann_params_from(a, catalog.size)
    if a.sweep:
        k = ann.check_k(a.k, catalog.size)
        prep = ann.prepare(catalog, k, a.queries, a.latency_queries, tfrs_bruteforce=False, seed=a.seed, progress=note)
        builds, searches = ann.default_grid(catalog.size, k, params.validate(catalog.size, k))
        if a.sweep_leaves:
            builds = [replace(params, num_leaves=x, num_leaves_to_search=min(x, params.num_leaves_to_search))
                      for x in a.sweep_leaves]
        frame = ann.sweep(prep, builds, searches, a.latency_queries,
                          None if a.json else lambda d, t, m: print(f"[{d}/{t}] {m}", file=sys.stderr, flush=True))
        cols = ["num_leaves", "num_leaves_to_search", "num_reordering_candidates", "recall", "latency_ms_mean", "qps"]
        text = (frame[frame["frontier"]][cols].sort_values("recall").to_string(index=False, float_format="%.4g") +
                f"\nbrute force (numpy): {prep.brute['bruteforce_matmul']['latency_ms_mean']:.3f} ms/query")
        emit({"catalog_size": catalog.size, "dim": catalog.dim, "k": k,
              "bruteforce_matmul": prep.brute["bruteforce_matmul"], "sweep": frame.to_dict(orient="records")},
             a.json, text)
        return 0
    out = ann.bench(catalog, params, a.k, a.queries, a.latency_queries, a.tfrs_layer_queries, a.seed, note)
    emit({key: out[key] for key in ann.JSON_KEYS}, a.json, ann_text(out))
    return 0


def ann_text(out: dict) -> str:
    """``bench ann``: the catalog, the ScaNN settings, one line per index (and the TFRS layer call), recall and speedup."""
    d = out["details"]
    p = d["params"]
    lines = [f"catalog: {d['catalog']} · {out['catalog_size']:,} × {out['dim']} · k={out['k']} · "
             f"{d['queries']:,} queries ({d['latency_queries']:,} timed one at a time)",
             f"ScaNN: num_leaves={p['num_leaves']} search={p['num_leaves_to_search']} "
             f"reorder={p['num_reordering_candidates']} dims/block={p['dimensions_per_block']} "
             f"threshold={p['anisotropic_threshold']}",
             f"{'':26}{'ms/query':>10}{'p95 ms':>10}{'QPS 1-by-1':>12}{'QPS batch':>12}{'build s':>9}{'MB':>9}"]
    names = {"scann": "ScaNN (scann searcher)", "bruteforce_tfrs": "BruteForce (TFRS layer)",
             "bruteforce_matmul": f"BruteForce (numpy, {d['matmul_blas_threads']} thr)"}
    for key in ("scann", "bruteforce_tfrs", "bruteforce_matmul"):
        r = out[key]
        lines.append(f"{names[key]:26}{r['latency_ms_mean']:10.3f}{r['latency_ms_p95']:10.3f}"
                     f"{1000 / r['latency_ms_mean']:12,.0f}{r['qps']:12,.0f}{r['build_seconds']:9.2f}{r['memory_mb']:9.1f}")
    layer = d.get("scann_tfrs_layer")
    if layer:
        lines.append(f"{'ScaNN (TFRS layer call)':26}{layer['latency_ms_mean']:10.3f}{layer['latency_ms_p95']:10.3f}"
                     f"{1000 / layer['latency_ms_mean']:12,.0f}   (eager Keras call; re-creates the searcher per call, "
                     f"{layer['queries']} queries)")
    lines.append(f"recall@{out['k']}: {out['recall']:.4f}   speedup (ScaNN vs faster brute force, one query at a time): "
                 f"{out['speedup']:.1f}x   total {d['seconds']:.1f} s")
    return "\n".join(lines)


def libraries_text(out: dict) -> str:
    """``bench ann --libraries``: one line per library (and brute force), the frontier and its lessons."""
    from recsys.bench import peers

    lines = [f"catalog: {out['catalog_size']:,} x {out['dim']} · k={out['k']} · {out['queries']:,} queries",
             f"{'':24}{'recall':>8}{'ms/query':>10}{'QPS 1-by-1':>12}{'QPS batch':>12}{'build s':>9}{'MB':>9}  settings"]
    for name, label in (("bruteforce_matmul", "brute force (numpy)"), ("bruteforce_tfrs", "brute force (TFRS)")):
        b = out[name]
        lines.append(f"{label:24}{1.0:8.3f}{b['latency_ms_mean']:10.3f}{1000 / b['latency_ms_mean']:12,.0f}"
                     f"{b['qps']:12,.0f}{b['build_seconds']:9.2f}{b['memory_mb']:9.1f}")
    for lib, r in out["libraries"].items():
        settings = ", ".join(f"{k} {v}" for k, v in {**r["build"], **r["search"]}.items())
        lines.append(f"{peers.LABELS[lib]:24}{r['recall']:8.3f}{r['latency_ms_mean']:10.3f}"
                     f"{1000 / r['latency_ms_mean']:12,.0f}{r['qps']:12,.0f}{r['build_seconds']:9.2f}"
                     f"{r['memory_mb']:9.1f}  {settings}")
    if "sweep" in out:
        import pandas as pd

        frame = pd.DataFrame(out["sweep"])
        front = frame[frame["frontier"]].sort_values(["library", "recall"])
        lines += ["", "frontier (Pareto points of each library):",
                  front[["library", "build", "search", "recall", "latency_ms_mean", "qps", "qps_batched"]].to_string(
                      index=False, float_format=lambda v: f"{v:.4g}"), ""]
        lines += [f"- {line}" for line in out["lessons"]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- scale


def register_scale(bs) -> None:
    p = bs.add_parser("scale", help="cost per dataset size on synthetic MovieLens-like data (1e6 .. 2.5e7)")
    p.add_argument("--interactions", default="1e6,1e7", help="comma-separated sizes, e.g. 1e6,1e7,2.5e7")
    p.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="tutorial",
                   help="the settings timed (one epoch of them); default: the tutorial's")
    p.add_argument("--embedding-dim", type=int, help="override the preset's")
    p.add_argument("--batch-size", type=int, help="override the preset's")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)  # one process for all sizes
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=run_scale)


def run_scale(a) -> int:
    from recsys import config as cfg
    from recsys.bench import scale

    sizes = scale.parse_sizes(a.interactions)
    config = cfg.PRESETS[cfg.PRESET_KEYS[a.preset]].with_(epochs=1, validation_fraction=0.0)
    overrides = {k: v for k, v in (("embedding_dim", a.embedding_dim), ("batch_size", a.batch_size)) if v is not None}
    config = config.with_(**overrides).validate()
    if a.in_process:
        rows = [scale.measure(n, config, a.seed) for n in sizes]
    else:
        rows = []
        for n in sizes:
            rows.append(scale_in_child(n, a))
            if not a.json:
                print(f"{n:,} interactions done", file=sys.stderr)
    emit(rows, a.json, scale.markdown_table(rows))
    return 0


def scale_in_child(n: int, a) -> dict:
    """Run one size in a fresh process, so its peak memory is its own."""
    cmd = [sys.executable, "-m", "recsys", "bench", "scale", "--interactions", str(n), "--in-process", "--json",
           "--preset", a.preset, "--seed", str(a.seed)]
    for flag, value in (("--embedding-dim", a.embedding_dim), ("--batch-size", a.batch_size)):
        if value is not None:
            cmd += [flag, str(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        why = "killed (out of memory?)" if proc.returncode < 0 else last
        raise UserError(f"bench scale at {n:,} interactions failed: {why}")
    return json.loads(proc.stdout.strip().splitlines()[-1])[0]


# --------------------------------------------------------------------------- notebook


def register_notebook(bs) -> None:
    p = bs.add_parser("notebook", help="execute the generated notebooks of presets in a fresh kernel, beside the runs")
    p.add_argument("--presets", default="tutorial,best",
                   help="comma-separated preset keys (tutorial, best, history); default: tutorial,best")
    p.add_argument("--timeout", type=int, default=3600, help="seconds one cell may run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=run_notebook)


def run_notebook(a) -> int:
    from recsys import config as cfg
    from recsys.bench import notebook

    presets = [p.strip() for p in a.presets.split(",") if p.strip()]
    unknown = [p for p in presets if p not in cfg.PRESET_KEYS]
    if unknown or not presets:
        raise UserError(f"--presets: choose among {', '.join(cfg.PRESET_KEYS)}, got {a.presets!r}")
    rows = notebook.bench(presets, a.timeout, progress(a.json))
    emit(rows, a.json, notebook.markdown_table(rows))
    return 0
