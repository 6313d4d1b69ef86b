"""``python -m recsys runs``: the saved runs, newest first (no TensorFlow: about a second).

The kinds offered by ``--kind`` and each run's headline number come from the table of kinds
(``recsys/store/kinds.py``): a new kind of run is listed here without a change.
"""
from __future__ import annotations

from recsys.cli.output import emit
from recsys.store import kinds


def register(sub) -> None:
    ls = sub.add_parser("runs", help="list saved runs")
    ls.add_argument("--kind", choices=(*kinds.KINDS, "all"), default="retrieval",
                    help=", ".join(f"{name} runs (python -m recsys {k.command})" for name, k in kinds.KINDS.items())
                    + ", or all of them")
    ls.add_argument("--delete", metavar="RUN", help="delete this run, of any kind (id or unique prefix), and its files")
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
    """A run's main number, named: test top-100 (retrieval), hit@10 (item-to-item), test RMSE (ranking)…"""
    return kinds.KINDS[r.kind].headline_text(r.metrics, digits=4)
