"""``python -m recsys runs``: the saved runs, newest first (no TensorFlow: about a second)."""
from __future__ import annotations

from recsys.cli.output import emit


def register(sub) -> None:
    ls = sub.add_parser("runs", help="list saved runs")
    ls.add_argument("--kind", choices=("retrieval", "item_to_item", "ranking", "all"), default="retrieval",
                    help="retrieval runs (python -m recsys train), item-to-item runs (train-item-to-item), ranking "
                         "runs (train-ranking), or all of them")
    ls.add_argument("--delete", metavar="RUN", help="delete this run (id or unique prefix) and its files")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=run)


def run(a) -> int:
    from recsys.store import runs

    if a.delete:
        gone = runs.load(a.delete).run_id
        runs.delete(gone)
        emit({"deleted": gone}, a.json, f"deleted run {gone}")
        return 0

    items = runs.list_runs(kind=None if a.kind == "all" else a.kind)
    out = [r.summary() for r in items]
    text = "\n".join(f"{r.run_id}  {headline(r)}  {r.config.label()}" for r in items) or \
        "no saved runs yet: python -m recsys train"
    emit(out, a.json, text)
    return 0


def headline(r) -> str:
    """A run's main number: test top-100 (retrieval), held-out hit rate @10 (item-to-item) or test RMSE (ranking)."""
    if r.kind == "ranking":
        return f"RMSE {r.metrics['model']['test']['rmse']:.4f}"
    if r.kind == "item_to_item":
        return f"hit@10 {r.metrics['item_to_item']['item_to_item']['hit_10']:.4f}"
    return f"{r.metrics['model']['test']['top_100']:.4f}"
