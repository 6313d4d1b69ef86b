"""``python -m recsys sweep-multitask``: the multitask trade-off, one ranking run per (rating, retrieval) weight pair.

``--preset tutorial|best`` and every ``RankingConfig`` flag but the two weights fix the base
config (as for ``train-ranking``); ``--weights 1:0,1:1,0:1`` replaces the default sweep
(``recsys/experiments/multitask.py: WEIGHTS``). Prints one line per pair (test RMSE, the test
top-K of the run's vectors) and the one-sentence reading; ``--json`` prints the rows.
"""
from __future__ import annotations

import argparse
import sys

from recsys import config as cfg
from recsys.cli.flags import add_lever_flags, settings_from_args
from recsys.cli.output import TrainingBar, emit

WEIGHT_LEVERS = ("rating_weight", "retrieval_weight")  # the sweep's axis: not flags here


def weight_pairs(text: str) -> tuple:
    """``"1:0,1:0.1,0:1"`` -> ``((1.0, 0.0), (1.0, 0.1), (0.0, 1.0))``."""
    try:
        pairs = tuple(tuple(float(x) for x in item.split(":")) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RATING:RETRIEVAL pairs such as 1:0,1:1,0:1, got {text!r}")
    if not pairs or any(len(p) != 2 for p in pairs):
        raise argparse.ArgumentTypeError(f"expected RATING:RETRIEVAL pairs such as 1:0,1:1,0:1, got {text!r}")
    return pairs


def register(sub) -> None:
    s = sub.add_parser("sweep-multitask",
                       help="one ranking run per (rating, retrieval) loss weight pair: test RMSE against top-K")
    s.add_argument("--preset", choices=sorted(cfg.RANKING_PRESET_KEYS), default="tutorial",
                   help="the base config: the TFRS ranking tutorial's settings or ours (default: tutorial)")
    s.add_argument("--weights", type=weight_pairs, default=None, metavar="R:T,...",
                   help="the (rating_weight:retrieval_weight) pairs to train, in curve order "
                        "(default: 1:0,1:0.001,1:0.01,1:0.1,1:1,0.1:1,0:1)")
    add_lever_flags(s, cfg.RANKING_LEVERS, cfg.RANKING_TUTORIAL, exclude=WEIGHT_LEVERS)
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)


class Lines:
    """Sweep progress on stderr: a line per weight pair, a bar per epoch while one trains (a ``SweepCallback``)."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def on_run_start(self, i, n, config):
        self.bar = TrainingBar(config.epochs, self.quiet)
        if not self.quiet:
            sys.stderr.write(f"[{i + 1}/{n}] weights ({config.rating_weight:g}, {config.retrieval_weight:g}): "
                             f"{config.label()}\n")
            sys.stderr.flush()

    def on_batch(self, epoch, step, steps, loss):
        self.bar.on_batch(epoch, step, steps, loss)

    def on_epoch(self, record):
        self.bar.on_epoch(record)

    def on_run_end(self, i, n, row):
        if not self.quiet:
            how = "reused" if row["reused"] else f"trained in {row['seconds']:.1f} s"
            sys.stderr.write(f"  {how}: test RMSE {row['rmse']:.4f}, top-100 {row['top_100']:.4f}\n")


def run(a) -> int:
    from recsys.experiments import multitask

    base = settings_from_args(a, cfg.RANKING_PRESETS[cfg.RANKING_PRESET_KEYS[a.preset]])
    weights = a.weights or multitask.WEIGHTS
    multitask.configs(base, weights)  # every pair checked before anything trains
    rows = multitask.sweep(base, weights=weights, callback=Lines(a.json or a.quiet))
    out = {"base": base.to_dict(), "weights": [list(w) for w in weights], "rows": rows,
           "reading": multitask.reading(rows)}
    emit(out, a.json, multitask.table(rows))
    return 0
