"""``python -m recsys export``: write a run as a SavedModel (user ids -> top-k titles) and check it reloads.

With ``--rerank RANKING_RUN`` the SavedModel holds both stages: the retrieval run's index finds
``--candidates`` unseen movies, the ranking run's model orders them by predicted stars, and the
top ``--k`` come out (``recsys/serving/export_two_stage.py``).
"""
from __future__ import annotations

from recsys.cli.output import emit
from recsys.errors import UserError
from recsys.serving.export import INDEXES  # numpy only: TensorFlow loads when the export runs


def register(sub) -> None:
    e = sub.add_parser("export", help="write a run as a SavedModel (user ids -> top-k titles) and check it reloads")
    e.add_argument("--run", required=True, help="run id (or a unique prefix; see `python -m recsys runs`)")
    e.add_argument("--index", choices=INDEXES, default="bruteforce")
    e.add_argument("--out", required=True, help="destination folder (must not exist or be empty)")
    e.add_argument("--k", type=int, default=10)
    e.add_argument("--rerank", metavar="RANKING_RUN",
                   help="export both stages: retrieve --candidates movies with --run, then order them by this ranking "
                        "run's predicted stars, inside the SavedModel")
    e.add_argument("--candidates", type=int, help="with --rerank: how many movies stage 1 retrieves (default 100)")
    e.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=run)


def run(a) -> int:
    from recsys.store import runs
    from recsys.data import prepared

    if a.candidates is not None and a.rerank is None:
        raise UserError("--candidates goes with --rerank")
    run_ = runs.load(a.run)
    ds = prepared.load_dataset(run_.config.variant)
    if a.rerank is not None:
        return two_stage(a, run_, ds)
    from recsys.serving import export

    report = export.export(run_, ds, a.out, a.index, a.k, overwrite=a.overwrite)
    text = (f"exported run {run_.run_id} ({a.index}, k={a.k}) -> {report.path}\n"
            f"reloaded in a fresh process: {report.matched}/{report.users_checked} sample users get the same "
            f"titles as the in-memory index; unknown ids score 0\n"
            f"load it: {'import scann; ' if a.index == 'scann' else ''}import tensorflow as tf; "
            f"m = tf.saved_model.load({report.path!r}); scores, titles = m(tf.constant(['42']))")
    emit(report.to_dict(), a.json, text)
    return 0


def two_stage(a, run_, ds) -> int:
    """``--rerank RANKING_RUN``: retrieve, then rank, in one SavedModel (checked in a fresh process)."""
    from recsys.serving import export_two_stage as ets
    from recsys.store import runs

    ranking = runs.load(a.rerank)
    n = ets.DEFAULT_CANDIDATES if a.candidates is None else a.candidates
    report = ets.export_two_stage(run_, ranking, ds, a.out, a.index, n, a.k, overwrite=a.overwrite)
    emit(report.to_dict(), a.json, ets.read_report(report))
    return 0
