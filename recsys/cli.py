"""Command line: ``python -m recsys {data,train,recommend,runs,bench,...}``.

Every number a page shows can be had here too. Mistakes a user can make print one line
on stderr and exit with status 2; ``--json`` prints one JSON object (or list) on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import config as cfg
from .distributed import STRATEGIES
from .errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UserError(f"{self.prog}: {message}")


def _emit(obj, as_json: bool, text: str = "") -> None:
    if as_json:
        print(json.dumps(obj, default=_jsonable))
    else:
        print(text)


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# --------------------------------------------------------------------------- data


def cmd_data(a) -> int:
    from . import data

    ds = data.load(source=a.source, variant=a.variant, path=a.path)
    sp = data.split(ds, a.split, a.fraction, a.seed)
    s = ds.summary()
    out = {**s, "train": int(len(sp.train)), "test": int(len(sp.test)), "split": a.split}
    text = (f"source      {s['source']} (ml-{s['variant']})\nratings     {s['ratings']:,}\nusers       {s['users']:,}\n"
            f"movies      {s['movies']:,}\ntitles      {s['titles']:,} distinct\n"
            f"timestamps  {s['timestamp_min']} .. {s['timestamp_max']}\n"
            f"split       {a.split}: {len(sp.train):,} train / {len(sp.test):,} test")
    _emit(out, a.json, text)
    return 0


# --------------------------------------------------------------------------- train


def add_config_flags(p: argparse.ArgumentParser, multi: bool = False) -> None:
    """Flags that build a TrainConfig (``multi``: comma-separated lists, for sweeps)."""
    num = (lambda t: (lambda s: [t(x) for x in s.split(",")])) if multi else (lambda t: t)
    p.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="tutorial")
    p.add_argument("--embedding-dim", type=num(int))
    p.add_argument("--epochs", type=num(int))
    p.add_argument("--optimizer", choices=cfg.OPTIMIZERS)
    p.add_argument("--learning-rate", type=num(float))
    p.add_argument("--batch-size", type=num(int))
    p.add_argument("--split", choices=cfg.SPLITS)
    p.add_argument("--seed", type=num(int))
    p.add_argument("--popularity-correction", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--validation-fraction", type=float)
    p.add_argument("--l2", type=float)
    p.add_argument("--user-features", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--movie-features", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--deep-layers", type=lambda s: tuple(int(x) for x in s.split(",") if x), default=None)
    p.add_argument("--remove-accidental-hits", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--temperature", type=float)
    p.add_argument("--num-hard-negatives", type=int)
    p.add_argument("--movie-bias", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--user-id-dropout", type=float)
    p.add_argument("--user-history", action=argparse.BooleanOptionalAction, default=None)


CONFIG_FLAGS = ["embedding_dim", "epochs", "optimizer", "learning_rate", "batch_size", "split", "seed",
                "popularity_correction", "validation_fraction", "l2", "user_features", "movie_features",
                "deep_layers", "remove_accidental_hits", "temperature", "num_hard_negatives",
                "movie_bias", "user_id_dropout", "user_history"]


def config_from_args(a, **override) -> cfg.TrainConfig:
    base = cfg.PRESETS[cfg.PRESET_KEYS[a.preset]]
    changes = {k: getattr(a, k) for k in CONFIG_FLAGS if getattr(a, k, None) is not None}
    changes.update(override)
    return base.with_(**changes).validate()


class _Bar:
    """Terminal progress for training: one line, rewritten per batch (stderr)."""

    def __init__(self, epochs: int, quiet: bool):
        self.epochs, self.quiet = epochs, quiet

    def on_batch(self, epoch, step, steps, loss):
        if not self.quiet:
            done = int(30 * step / steps)
            sys.stderr.write(f"\repoch {epoch}/{self.epochs} [{'#' * done}{'.' * (30 - done)}] "
                             f"{step}/{steps} loss {loss:,.0f}   ")
            sys.stderr.flush()

    def on_epoch(self, record):
        if not self.quiet:
            sys.stderr.write(f"\repoch {record['epoch']}/{self.epochs} loss {record['loss']:,.0f} "
                             f"test top-100 {record['test']['top_100']:.4f} ({record['seconds']:.1f} s)\n")


def metrics_table(metrics: dict) -> str:
    rows = [f"{'':24}" + "".join(f"{'top-' + str(k):>9}" for k in cfg.KS)]
    for who in ("model", "popularity"):
        for variant in ("test", "test_filtered"):
            vals = metrics[who][variant]
            label = f"{who} {'(seen removed)' if variant == 'test_filtered' else '(all)'}"
            rows.append(f"{label:24}" + "".join(f"{vals[f'top_{k}']:9.4f}" for k in cfg.KS))
    return "\n".join(rows)


def cmd_train(a) -> int:
    from . import evaluate, runs

    config = config_from_args(a)
    strategy = None
    if a.strategy != "default" or a.cpu_devices is not None:  # before any other TensorFlow work
        from . import distributed

        strategy = distributed.make_strategy(a.strategy, a.cpu_devices)
    run, reused = runs.train_or_load(config, callback=_Bar(config.epochs, a.json or a.quiet), strategy=strategy)
    out = {"run_id": run.run_id, "run_dir": str(run.path), "config": run.config.to_dict(),
           "history": run.history, "metrics": run.metrics, "seconds": run.seconds, "reused": reused,
           "best_epoch": run.best_epoch, "strategy": run.strategy or "default"}
    text = (f"run {run.run_id} ({'loaded, trained before' if reused else 'trained'} in {run.seconds:.1f} s) "
            f"-> {run.path}\n{metrics_table(run.metrics)}\n{evaluate.read_result(run.metrics['model'], run.metrics['popularity'])}")
    _emit(out, a.json, text)
    return 0


# --------------------------------------------------------------------------- recommend, runs


def cmd_recommend(a) -> int:
    from . import runs, train
    from .index import ScannParams
    from .recommend import Recommender

    if (a.user is None) == (a.movie is None):
        raise UserError("give exactly one of --user ID or --movie TITLE")
    if not 1 <= a.k <= 100:  # before anything is loaded
        raise UserError(f"k must be between 1 and 100, got {a.k}")
    run = runs.load(a.run)
    ds = train.load_dataset(run.config.variant)
    params = None
    given = {"num_leaves": a.num_leaves, "num_leaves_to_search": a.num_leaves_to_search,
             "num_reordering_candidates": a.num_reordering_candidates}
    if any(v is not None for v in given.values()):  # 0 or a negative value is an error, not "default"
        from .index import default_scann_params

        defaults = default_scann_params(len(ds.titles)).to_dict()
        params = ScannParams(**{**defaults, **{k: v for k, v in given.items() if v is not None}})
    rec = Recommender(run, ds, params)
    comp = rec.for_user(a.user, a.k, a.exclude_seen) if a.user is not None else rec.for_movie(a.movie, a.k)
    strip = lambda rows: [{"rank": r["rank"], "movie_title": r["movie_title"], "score": r["score"],
                           "genres": r["genres"]} for r in rows]
    out = {"query": comp.query, "k": a.k, "overlap": comp.overlap, "latency_ms": {}}
    if a.user is not None:  # what the Recommend page shows above the lists
        prof = rec.profile(a.user)
        out["profile"] = {**prof, "top_rated": prof["top_rated"].to_dict("records")}
        header = (f"user {prof['user_id']}: {prof['age']}, {prof['gender']}, {prof['occupation']}, "
                  f"{prof['ratings']} ratings")
    else:
        out["profile"] = rec.movie_profile(a.movie)
        header = (f"{out['profile']['movie_title']}: {out['profile']['genres']}, {out['profile']['ratings']} ratings, "
                  f"mean {out['profile']['mean_rating']:.2f}")
    for name in ("bruteforce", "scann"):
        if a.index in (name, "both"):
            out[name] = strip(getattr(comp, name))
            out["latency_ms"][name] = comp.latency_ms[name]
    lines = [header]
    for name in ("bruteforce", "scann"):
        if name in out:
            lines.append(f"{name} ({comp.latency_ms[name]:.2f} ms/query)")
            lines += [f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['score']:8.3f}" for r in out[name]]
    lines.append(f"overlap@{a.k}: {comp.overlap:.2f}")
    _emit(out, a.json, "\n".join(lines))
    return 0


def cmd_runs(a) -> int:
    from . import runs

    items = runs.list_runs()
    out = [r.summary() for r in items]
    text = "\n".join(f"{r.run_id}  {r.metrics['model']['test']['top_100']:.4f}  {r.config.label()}"
                     for r in items) or "no saved runs yet: python -m recsys train"
    _emit(out, a.json, text)
    return 0


# --------------------------------------------------------------------------- wiring


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m recsys", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("data", help="load MovieLens and print counts and split sizes")
    d.add_argument("--source", choices=cfg.SOURCES, default="auto")
    d.add_argument("--path")
    d.add_argument("--variant", choices=cfg.VARIANTS, default="100k",
                   help="20m and 25m: GroupLens files from --path, or tensorflow-datasets")
    d.add_argument("--split", choices=cfg.SPLITS, default="random")
    d.add_argument("--fraction", type=float, default=0.8)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=cmd_data)

    t = sub.add_parser("train", help="train (or reuse) a run and print top-K against popularity")
    add_config_flags(t)
    t.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="tf.distribute: mirrored = all local devices, multiworker = the cluster in TF_CONFIG")
    t.add_argument("--cpu-devices", type=int, help="with --strategy mirrored: split the CPU into N logical devices")
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=cmd_train)

    r = sub.add_parser("recommend", help="top-k movies for a user or a movie, BruteForce vs ScaNN")
    r.add_argument("--run", required=True)
    r.add_argument("--user")
    r.add_argument("--movie")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--index", choices=("bruteforce", "scann", "both"), default="both")
    r.add_argument("--exclude-seen", action="store_true")
    r.add_argument("--num-leaves", type=int)
    r.add_argument("--num-leaves-to-search", type=int)
    r.add_argument("--num-reordering-candidates", type=int)
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=cmd_recommend)

    ls = sub.add_parser("runs", help="list saved runs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=cmd_runs)

    for register in _EXTENSIONS:
        register(sub)
    return p


def _bench(sub):
    from .bench import register

    register(sub)


def _sweep(sub):
    from .sweep import register

    register(sub)


def _export(sub):
    from .export import register

    register(sub)


def _embeddings(sub):
    from .projection import register

    register(sub)


def _report(sub):
    from .report import register

    register(sub)


_EXTENSIONS = [_bench, _sweep, _export, _embeddings, _report]


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.fn(args) or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
