"""``python -m recsys train``: train (or reuse) a run and print its top-K against popularity.

Its flags are every ``TrainConfig`` field (``recsys/cli/flags.py``), plus how to train:
``--strategy`` (``tf.distribute``) and ``--cpu-devices``.
"""
from __future__ import annotations

from recsys.cli.flags import add_config_flags, config_from_args
from recsys.cli.output import TrainingBar, emit, metrics_table
from recsys.training.distributed import STRATEGIES  # names only: TensorFlow loads when a strategy is made


def register(sub) -> None:
    t = sub.add_parser("train", help="train (or reuse) a run and print top-K against popularity")
    add_config_flags(t)
    t.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="tf.distribute: mirrored = all local devices, multiworker = the cluster in TF_CONFIG")
    t.add_argument("--cpu-devices", type=int, help="with --strategy mirrored: split the CPU into N logical devices")
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=run)


def run(a) -> int:
    from recsys.evaluation import topk
    from recsys.store import runs

    config = config_from_args(a)
    strategy = None
    if a.strategy != "default" or a.cpu_devices is not None:  # before any other TensorFlow work
        from recsys.training import distributed

        strategy = distributed.make_strategy(a.strategy, a.cpu_devices)
    run_, reused = runs.train_or_load(config, callback=TrainingBar(config.epochs, a.json or a.quiet),
                                      strategy=strategy)
    from recsys.data import prepared

    ds = prepared.load_dataset(config.variant)
    m = {**runs.with_baselines(run_, ds), "item_to_item": runs.item_to_item_metrics(run_, ds)}  # older runs too
    out = {"run_id": run_.run_id, "run_dir": str(run_.path), "config": run_.config.to_dict(),
           "history": run_.history, "metrics": m, "seconds": run_.seconds, "reused": reused,
           "best_epoch": run_.best_epoch, "strategy": run_.strategy or "default"}
    text = (f"run {run_.run_id} ({'loaded, trained before' if reused else 'trained'} in {run_.seconds:.1f} s) "
            f"-> {run_.path}\n{metrics_table(m)}\n{topk.read_against(m, 'test_filtered')}")
    emit(out, a.json, text)
    return 0
