"""The tables the Compare page shows, as pandas frames: one row per saved run.

``retrieval_runs``: settings, top-K of the model and of every baseline of its split, the
movie tower's item-to-item hit rate; ``kind_runs``: another kind's runs, with the columns its
entry in ``recsys/store/kinds.py`` names; ``curve_rows``: that kind's per-epoch curve.
A number a run lacks (saved before it was measured) is NaN, not an error.
"""
from __future__ import annotations

import math

from recsys.store import kinds


def retrieval_runs(items: list, k: int = 100, item_to_item: dict | None = None, strong: dict | None = None):
    """Saved runs side by side (a pandas frame, one row per run): the Compare page's table.

    Settings, test top-``k`` of the model for both metric variants (all candidates; movies
    seen in training removed), the popularity baseline of the same split, the movie tower's
    item-to-item hit rate @10 beside item-kNN's (``item_to_item``: run id -> its
    ``item_to_item_metrics``, for runs saved before they were stored), EASE's, item-kNN's and
    iALS's top-``k`` with seen movies removed (``strong``: run id -> those baselines, for older
    runs; NaN when not known), training time, date.
    """
    import pandas as pd

    rows = []
    for r in items:
        c, m = r.config, r.metrics
        i2i = (item_to_item or {}).get(r.run_id) or m.get("item_to_item")
        base = {**((strong or {}).get(r.run_id) or {}), **{n: m[n] for n in ("ease", "itemknn", "ials") if n in m}}
        rows.append({
            "run_id": r.run_id, "created": pd.Timestamp(r.created, unit="s"), "label": c.label(),
            "embedding_dim": c.embedding_dim, "epochs": c.epochs, "optimizer": c.optimizer,
            "learning_rate": c.learning_rate, "batch_size": c.batch_size, "split": c.split, "seed": c.seed,
            f"top_{k}": m["model"]["test"][f"top_{k}"], f"top_{k}_seen_removed": m["model"]["test_filtered"][f"top_{k}"],
            f"popularity_top_{k}": m["popularity"]["test"][f"top_{k}"],
            f"popularity_top_{k}_seen_removed": m["popularity"]["test_filtered"][f"top_{k}"],
            **{f"{n}_top_{k}_seen_removed": base[n]["test_filtered"][f"top_{k}"] if n in base else float("nan")
               for n in ("ease", "itemknn", "ials")},
            "item_to_item_hit_10": i2i["two_tower"]["hit_10"] if i2i else float("nan"),
            "itemknn_hit_10": i2i["itemknn"]["hit_10"] if i2i else float("nan"),
            "best_epoch": r.best_epoch, "seconds": r.seconds,
        })
    return pd.DataFrame(rows)


def kind_runs(items: list, kind: str):
    """Compare's table of one kind (a pandas frame): per run its id, date, settings, the kind's columns, time.

    A column a run lacks (saved before that metric existed) is NaN, not an error.
    """
    import pandas as pd

    k = kinds.KINDS[kind]
    rows = [{"run_id": r.run_id, "created": pd.Timestamp(r.created, unit="s"), "label": r.config.label(),
             **{name: kinds.lookup(r.metrics, path, math.nan) for name, (_, _, path) in k.columns.items()},
             "split": r.config.split, "seed": r.config.seed, "best_epoch": r.best_epoch, "seconds": r.seconds}
            for r in items]
    return pd.DataFrame(rows, columns=["run_id", "created", "label", *k.columns, "split", "seed", "best_epoch",
                                       "seconds"])


def curve_rows(items: list, kind: str) -> list[dict]:
    """Compare's chart of one kind: (run, label, epoch, value) for every epoch of every run."""
    path = kinds.KINDS[kind].curve
    return [{"run": r.run_id, "label": r.config.label(), "epoch": rec["epoch"],
             "value": kinds.lookup(rec, path, math.nan)} for r in items for rec in r.history]
