"""``python -m recsys train-item-to-item``: train (or reuse) an item-to-item run: movie -> movie.

Its flags are every ``ItemToItemConfig`` field (``recsys/cli/flags.py``). The run is scored
with the held-out item-to-item hit rate, beside the popularity list and item-kNN on the same
queries (``recsys/evaluation/item_to_item.py``).
"""
from __future__ import annotations

from recsys import config as cfg
from recsys.cli.flags import add_lever_flags, settings_from_args
from recsys.cli.output import TrainingBar, emit


def register(sub) -> None:
    t = sub.add_parser("train-item-to-item", help="train (or reuse) the item-to-item two-tower model (movie -> movie)")
    add_lever_flags(t, cfg.ITEM_LEVERS, cfg.ITEM_DEFAULT)
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=run)


def run(a) -> int:
    from recsys.evaluation import item_to_item as i2i
    from recsys.store import runs

    config = settings_from_args(a, cfg.ITEM_DEFAULT)
    run_, reused = runs.train_or_load(config, callback=TrainingBar(config.epochs, a.json or a.quiet))
    m = run_.metrics["item_to_item"]
    out = {"run_id": run_.run_id, "run_dir": str(run_.path), "kind": run_.kind, "config": run_.config.to_dict(),
           "history": run_.history, "metrics": run_.metrics, "seconds": run_.seconds, "reused": reused,
           "best_epoch": run_.best_epoch}
    from recsys.ui import charts

    table = charts.hit_table(m).to_string(index=False, float_format=lambda v: f"{v:.4f}")
    text = (f"run {run_.run_id} ({'loaded, trained before' if reused else 'trained'} in {run_.seconds:.1f} s) "
            f"-> {run_.path}\n{table}\n{i2i.read_result(m, 'item_to_item')}")
    emit(out, a.json, text)
    return 0
