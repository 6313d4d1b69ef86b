"""``python -m recsys runs``: the saved runs, newest first (no TensorFlow: about a second)."""
from __future__ import annotations

from recsys.cli.output import emit


def register(sub) -> None:
    ls = sub.add_parser("runs", help="list saved runs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(fn=run)


def run(a) -> int:
    from recsys.store import runs

    items = runs.list_runs()
    out = [r.summary() for r in items]
    text = "\n".join(f"{r.run_id}  {r.metrics['model']['test']['top_100']:.4f}  {r.config.label()}"
                     for r in items) or "no saved runs yet: python -m recsys train"
    emit(out, a.json, text)
    return 0
