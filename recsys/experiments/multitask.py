"""The multitask trade-off: one model, a rating task and a retrieval task, swept over their two weights.

The TFRS multitask tutorial trains one model (user and movie vectors shared by the two tasks)
with ``loss = rating_weight * MSE + retrieval_weight * in-batch softmax`` and compares a
rating-only model (1, 0), a retrieval-only model (0, 1) and a joint one (1, 1): each task alone
wins its own metric and loses the other's, and the joint model gets close to both. Here the
weights are levers of ``RankingConfig`` (``recsys/model/ranking.py`` has the model), and
``sweep`` trains (or reuses) one ranking run per weight pair on top of a base config; every
row holds the run's test RMSE and the test top-K of its vectors, which ``charts.multitask_tradeoff``
draws as one curve (RMSE across, top-100 up). The runs are ordinary ranking runs: the joint
ones can re-rank as any other.

Note the scales: the rating loss is a *mean* over the batch's ratings (~1 star squared), the
retrieval loss a *sum* over its rows (the tutorial's ``tfrs.tasks.Retrieval``: thousands per
batch), so a retrieval weight of 0.01 is already a strong pull on the vectors.

Progress goes through the sweep's ``SweepCallback`` (``recsys/experiments/sweep.py``): its
``on_run_start`` receives the ranking config of each weight pair, ``on_run_end`` the row.
"""
from __future__ import annotations

import math

from recsys import config as cfg
from recsys.errors import UserError
from recsys.experiments.sweep import SweepCallback

# (rating_weight, retrieval_weight), from rating-only to retrieval-only: the curve's order.
WEIGHTS = ((1.0, 0.0), (1.0, 0.001), (1.0, 0.01), (1.0, 0.1), (1.0, 1.0), (0.1, 1.0), (0.0, 1.0))
MAX_WEIGHTS = 16


def configs(base: cfg.RankingConfig, weights=WEIGHTS) -> list[cfg.RankingConfig]:
    """``base`` with each (rating_weight, retrieval_weight) pair; ``UserError`` for a bad pair, before training."""
    if not weights:
        raise UserError("a multitask sweep needs at least one (rating_weight, retrieval_weight) pair")
    if len(weights) > MAX_WEIGHTS:
        raise UserError(f"at most {MAX_WEIGHTS} weight pairs per multitask sweep, got {len(weights)}")
    out = []
    for pair in weights:
        if len(pair) != 2:
            raise UserError(f"a weight pair is (rating_weight, retrieval_weight), got {pair!r}")
        out.append(base.with_(rating_weight=float(pair[0]), retrieval_weight=float(pair[1])).validate())
    return out


def already_saved(todo: list, ds, saved: set) -> int:
    """How many of ``todo`` (``configs``' list) a sweep reuses: those whose run id is in ``saved`` (the store's ids)."""
    from recsys.store import runs

    tag = runs.data_tag(ds)
    return sum(runs.run_id(config, tag) in saved for config in todo)


def row_of(run, ds) -> dict:
    """One sweep row of a ranking run: its weights, test RMSE and the test top-K of its vectors."""
    retrieval = run.metrics.get("retrieval")
    if retrieval is None:  # a ranking run saved before its vectors' top-K was stored
        from recsys.data import prepared
        from recsys.training import ranking

        users, movies = run.vectors_for(ds)
        retrieval = ranking.retrieval_metrics({"user_vectors": users, "movie_vectors": movies},
                                              prepared.prepare(ds, run.config))
    c = run.config
    return {"rating_weight": c.rating_weight, "retrieval_weight": c.retrieval_weight,
            "rmse": run.metrics["model"]["test"]["rmse"],
            "top_10": retrieval["test"]["top_10"], "top_100": retrieval["test"]["top_100"],
            "top_10_filtered": retrieval["test_filtered"]["top_10"],
            "top_100_filtered": retrieval["test_filtered"]["top_100"],
            "run_id": run.run_id, "seconds": run.seconds}


def sweep(base: cfg.RankingConfig, ds=None, weights=WEIGHTS, callback: SweepCallback | None = None,
          root=None, trainer=None) -> list[dict]:
    """Train (or reuse) ``base`` at every weight pair; one row per pair, in ``weights``' order.

    Row: ``rating_weight``, ``retrieval_weight``, ``rmse`` (test), ``top_10``, ``top_100`` (test, all
    candidates), ``top_10_filtered``, ``top_100_filtered`` (seen removed), ``run_id``, ``seconds``,
    ``reused``. ``trainer(config, ds, callback) -> (run, reused)`` defaults to ``runs.train_or_load``
    (the app may pass its queue's, as for ``sweep.run_sweep``).
    """
    from recsys.store import runs
    from recsys.data import prepared

    todo = configs(base, weights)
    ds = ds or prepared.load_dataset(base.variant)
    callback = callback or SweepCallback()
    trainer = trainer or (lambda config, ds, cb: runs.train_or_load(config, ds, cb, root))
    rows = []
    for i, config in enumerate(todo):
        callback.on_run_start(i, len(todo), config)
        run, reused = trainer(config, ds, callback)
        row = {**row_of(run, ds), "reused": reused}
        rows.append(row)
        callback.on_run_end(i, len(todo), row)
    return rows


def pair(row: dict) -> str:
    """``(1, 0.1)``: a row's (rating_weight, retrieval_weight)."""
    return f"({row['rating_weight']:g}, {row['retrieval_weight']:g})"


def best_joint(rows: list[dict]) -> dict | None:
    """The joint row (both weights > 0) nearest the ideal corner (lowest RMSE, highest top-100 of the sweep).

    Distances are in shares of the sweep's range of each metric, so neither metric's scale wins.
    """
    joint = [r for r in rows if r["rating_weight"] > 0 and r["retrieval_weight"] > 0]
    if not joint:
        return None
    lo, hi = min(r["rmse"] for r in rows), max(r["rmse"] for r in rows)
    bottom, top = min(r["top_100"] for r in rows), max(r["top_100"] for r in rows)
    span = lambda a, b: (b - a) or 1.0
    return min(joint, key=lambda r: math.hypot((r["rmse"] - lo) / span(lo, hi), (top - r["top_100"]) / span(bottom, top)))


def reading(rows: list[dict]) -> str:
    """The sweep in one sentence: what each task alone gets, and what the best joint weights keep of both."""
    if not rows:
        return "No runs."
    only_rating = next((r for r in rows if r["retrieval_weight"] == 0), None)
    only_retrieval = next((r for r in rows if r["rating_weight"] == 0), None)
    joint = best_joint(rows)
    parts = []
    if only_rating:
        parts.append(f"rating-only gets test RMSE {only_rating['rmse']:.4f} with a top-100 of "
                     f"{only_rating['top_100']:.4f}")
    if only_retrieval:
        parts.append(f"retrieval-only a top-100 of {only_retrieval['top_100']:.4f} with RMSE "
                     f"{only_retrieval['rmse']:.4f} (its rating head untrained)")
    if joint:
        said = f"the joint weights {pair(joint)} get RMSE {joint['rmse']:.4f}"
        if only_rating:
            said += f" ({joint['rmse'] - only_rating['rmse']:+.4f} against rating-only)"
        said += f" and top-100 {joint['top_100']:.4f}"
        if only_retrieval:
            said += f" ({joint['top_100'] - only_retrieval['top_100']:+.4f} against retrieval-only)"
        parts.append(said)
    if not parts:
        best = min(rows, key=lambda r: r["rmse"])
        return f"Lowest RMSE {best['rmse']:.4f} at {pair(best)}."
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def table(rows: list[dict]) -> str:
    """The sweep as aligned text: one line per weight pair, then the reading."""
    lines = [f"{'rating, retrieval':>18}  {'test RMSE':>9}  {'top-10':>7}  {'top-100':>7}  "
             f"{'top-100 (seen removed)':>22}  run"]
    for r in rows:
        how = "reused" if r.get("reused") else f"{r['seconds']:.1f} s"
        lines.append(f"{pair(r):>18}  {r['rmse']:9.4f}  {r['top_10']:7.4f}  {r['top_100']:7.4f}  "
                     f"{r['top_100_filtered']:22.4f}  {r['run_id']} ({how})")
    lines.append(reading(rows))
    return "\n".join(lines)
