"""``python -m recsys ready``: make sure the app has something to show before it serves (``make run`` calls it).

When the run store holds no retrieval run for the default dataset, train the *Our best*
preset once (with the terminal's progress bar), so that every page works on a newcomer's
first visit without a click. When a run is there already, it only says so: a second start is
immediate (no TensorFlow is loaded).
"""
from __future__ import annotations

from recsys import config as cfg
from recsys.cli.output import TrainingBar, emit


def register(sub) -> None:
    r = sub.add_parser("ready", help="train Our best once if no run exists yet for the default dataset (make run)")
    r.add_argument("--variant", choices=cfg.MOVIELENS_SIZES, default="100k", help="the dataset the app opens with")
    r.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="best", help="what to train when none exists")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=run)


def run(a) -> int:
    from recsys.store import runs
    from recsys.training import train

    ds = train.load_dataset(a.variant)
    have = [r for r in runs.list_runs() if r.data == runs.data_tag(ds)]
    trained = None
    if not have:
        config = cfg.PRESETS[cfg.PRESET_KEYS[a.preset]].with_(variant=a.variant)
        print(f"first start: training the {cfg.PRESET_KEYS[a.preset]} preset once, so that every page has a run "
              "to show…", flush=True)
        run_, _ = runs.train_or_load(config, ds, TrainingBar(config.epochs, a.json))
        trained, have = run_.run_id, [run_]
    text = f"ready: {len(have)} run(s) on ml-{a.variant}" + (f"; trained {trained}" if trained else "")
    emit({"runs": len(have), "trained": trained}, a.json, text)
    return 0
