"""``python -m recsys sweep``: train (or reuse) a grid over one or two settings; the grid as text.

Any sweepable flag given several comma-separated values is an axis (``--embedding-dim
16,32,64 --epochs 1,3,10``); the other flags fix the rest, as for ``train``.
"""
from __future__ import annotations

import sys

from recsys import config as cfg
from recsys.cli.flags import CONFIG_FLAGS, add_config_flags, config_from_args
from recsys.cli.output import emit


def register(sub) -> None:
    s = sub.add_parser("sweep", help="train (or reuse) a grid over one or two settings; heatmap as text")
    # The sweep's --variant has always been the metric variant, so the dataset (TrainConfig.variant) is not a
    # flag here: a sweep runs on the preset's dataset.
    add_config_flags(s, multi=True, exclude=("variant",))
    s.add_argument("--k", type=int, default=100, help=f"K of the test top-K shown ({', '.join(map(str, cfg.KS))})")
    s.add_argument("--variant", "--candidates", dest="candidates", choices=("test", "test_filtered"), default="test",
                   help="the metric variant: test = all candidates; test_filtered = movies seen in training removed")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=run)


class Lines:
    """Sweep progress: one line per cell on stderr (a ``SweepCallback``)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def on_run_start(self, i, n, config):
        if not self.quiet:
            sys.stderr.write(f"[{i + 1}/{n}] {config.label()} ... ")
            sys.stderr.flush()

    def on_batch(self, epoch, step, steps, loss):
        pass

    def on_epoch(self, record):
        pass

    def on_run_end(self, i, n, cell):
        if not self.quiet:
            how = "reused" if cell["reused"] else f"trained in {cell['seconds']:.1f} s"
            sys.stderr.write(f"{how}, test top-100 {cell['metrics']['model']['test']['top_100']:.4f}\n")


def run(a) -> int:
    from recsys.experiments import sweep

    sweep.check_k(a.k)
    axes, fixed = {}, {}
    for name in CONFIG_FLAGS:
        v = getattr(a, name, None)
        if isinstance(v, list):
            (axes.__setitem__(name, v) if len(v) > 1 else fixed.__setitem__(name, v[0]))
    base = config_from_args(a, **{**fixed, **{n: v[0] for n, v in axes.items()}})
    result = sweep.run_sweep(base, axes, callback=Lines(a.json or a.quiet))
    emit(result.to_dict(a.k, a.candidates), a.json, sweep.grid_text(result, a.k, a.candidates))
    return 0
