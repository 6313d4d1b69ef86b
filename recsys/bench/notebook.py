"""``bench notebook``: a run's generated notebook, executed in a fresh kernel, against the run itself.

For each preset (the *TFRS tutorial* and *Our best* by default) the run is loaded (or trained
once), its notebook is written (``recsys/notebook/writer.py``) and executed top to bottom by
``nbclient`` in a new ``ipykernel`` process, in a temporary folder. Three readings of the
notebook's model, beside the run's own figures:

- FactorizedTopK's test top-10 and top-100 as the notebook prints them
  (``model.evaluate(cached_test, return_dict=True)``: all candidates);
- the lab's evaluator (``recsys/evaluation/topk.py``) on the vectors the notebook exported,
  on the run's own test ratings: all candidates and seen movies removed;
- the notebook's training time (``model.fit`` alone), beside the run's, trained again here
  so that both are timed under the same load (the run's includes its evaluation after every
  epoch).

The notebook's figures must agree with the run's within seed noise: the initial weights and
the batches are drawn differently, nothing else (``TOLERANCE`` for the tutorial preset).
"""
from __future__ import annotations

import ast
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from recsys import config as cfg
from recsys.errors import UserError

TOLERANCE = 0.01  # |notebook - run| test top-100 (all candidates) the tutorial preset must stay within
PRESETS = ("tutorial", "best")
EXPORT_DIR = "export"


def execute(nb, cwd: str | Path, timeout: int = 3600):
    """Run every cell of ``nb`` in a fresh kernel with ``cwd`` as its folder; returns (nb, seconds).

    The kernel inherits this process's environment ($RECSYS_HOME included). A failing cell is a
    ``UserError`` naming its section and the error.
    """
    import nbclient
    from nbclient.exceptions import CellExecutionError

    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as e:
        lines = [line for line in str(e).splitlines() if line.strip()]
        raise UserError(f"the notebook failed: {lines[-1] if lines else e}") from None
    return nb, time.perf_counter() - started


def printed_metrics(nb) -> dict:
    """What the evaluate cell printed: ``model.evaluate(cached_test, return_dict=True)`` as a dict."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("test_metrics = model.evaluate("):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
            last = [line for line in text.splitlines() if line.startswith("{")]
            if last:
                return ast.literal_eval(last[-1])
    raise UserError("the notebook printed no model.evaluate(...) result")


def factorized(printed: dict) -> dict:
    """FactorizedTopK's accuracies from ``printed_metrics``: ``{"top_1": ..., "top_100": ...}``."""
    return {f"top_{k}": float(printed[f"factorized_top_k/top_{k}_categorical_accuracy"]) for k in cfg.KS}


def exported_vectors(folder: str | Path, ds) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's user and movie vectors in the dataset's order (``ds.user_ids``, ``ds.titles``)."""
    import pandas as pd

    with np.load(Path(folder) / "vectors.npz") as z:
        user_ids, users, titles, movies = z["user_ids"], z["user_vectors"], z["titles"], z["movie_vectors"]
    u = pd.Index(user_ids.astype(str)).get_indexer(ds.user_ids.astype(str))
    m = pd.Index(titles.astype(str)).get_indexer(ds.titles.astype(str))
    if (u < 0).any() or (m < 0).any():
        raise UserError("the notebook's vectors do not cover the dataset's users and titles")
    return users[u], movies[m]


def scored(folder: str | Path, ds, config: cfg.TrainConfig) -> dict:
    """The lab's evaluator on the notebook's vectors, on the run's test ratings: both metric variants."""
    from recsys.evaluation import topk
    from recsys.data import prepared

    p = prepared.prepare(ds, config)
    users, movies = exported_vectors(folder, ds)
    return topk.evaluate(users, movies, p.test_users, p.test_movies, p.seen)


def run_notebook(run, ds, folder: str | Path, timeout: int = 3600) -> dict:
    """Write ``run``'s notebook into ``folder``, execute it there, and read what it found."""
    import nbformat

    from recsys.notebook import writer

    folder = Path(folder)
    config, identity = writer.for_run(run, ds, export_dir=EXPORT_DIR)
    nb = writer.notebook(config, identity)
    nbformat.write(nb, folder / "notebook.ipynb")
    nb, seconds = execute(nb, folder, timeout)
    nbformat.write(nb, folder / "executed.ipynb")
    results = json.loads((folder / EXPORT_DIR / "results.json").read_text())
    return {"notebook": nb, "seconds": seconds, "results": results, "printed": factorized(printed_metrics(nb)),
            "ours": scored(folder / EXPORT_DIR, ds, config), "caveats": writer.caveats(config, identity),
            "same_split": results["test_key"] == identity.test_key}


def bench(presets=PRESETS, timeout: int = 3600, progress=None) -> list[dict]:
    """One row per preset: the run's figures and the executed notebook's, side by side."""
    from recsys.store import runs
    from recsys.data import prepared
    from recsys.training import train

    say = progress or (lambda message: None)
    rows = []
    for key in presets:
        name = cfg.PRESET_KEYS[key]
        config = cfg.PRESETS[name]
        ds = prepared.load_dataset(config.variant)
        say(f"{name}: the run (trained once if it is not saved yet), then trained again to time it here")
        run, _ = runs.train_or_load(config, ds)
        seconds = train.fit(config, ds).seconds  # the same numbers (seeded); the time, under today's load
        say(f"{name}: executing its notebook in a fresh kernel")
        with tempfile.TemporaryDirectory(prefix="recsys-notebook-") as d:
            got = run_notebook(run, ds, d, timeout)
        m = run.metrics["model"]
        row = {
            "preset": name, "run_id": run.run_id, "same_split": got["same_split"], "caveats": got["caveats"],
            "run": {"top_10": m["test"]["top_10"], "top_100": m["test"]["top_100"],
                    "top_10_seen_removed": m["test_filtered"]["top_10"],
                    "top_100_seen_removed": m["test_filtered"]["top_100"], "seconds": seconds},
            "notebook": {"top_10": got["ours"]["test"]["top_10"], "top_100": got["ours"]["test"]["top_100"],
                         "top_10_seen_removed": got["ours"]["test_filtered"]["top_10"],
                         "top_100_seen_removed": got["ours"]["test_filtered"]["top_100"],
                         "factorized_top_10": got["printed"]["top_10"], "factorized_top_100": got["printed"]["top_100"],
                         "seconds": got["results"]["training_seconds"], "kernel_seconds": got["seconds"]},
        }
        row["diff_top_100"] = row["notebook"]["top_100"] - row["run"]["top_100"]
        row["within"] = abs(row["diff_top_100"]) <= TOLERANCE if key == "tutorial" else None
        rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The README's table: per preset, the run's line and the notebook's, then what was not reproduced."""
    head = ("| preset | | top-10 | top-100 | top-10 seen removed | top-100 seen removed | FactorizedTopK top-10 / "
            "top-100 | training (s) |\n|---|---|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        a, b = r["run"], r["notebook"]
        lines.append(f"| {r['preset']} | the run (`{r['run_id']}`) | {a['top_10']:.4f} | {a['top_100']:.4f} | "
                     f"{a['top_10_seen_removed']:.4f} | {a['top_100_seen_removed']:.4f} | | {a['seconds']:.1f} |")
        lines.append(f"| | its notebook, fresh kernel | {b['top_10']:.4f} | {b['top_100']:.4f} | "
                     f"{b['top_10_seen_removed']:.4f} | {b['top_100_seen_removed']:.4f} | "
                     f"{b['factorized_top_10']:.4f} / {b['factorized_top_100']:.4f} | {b['seconds']:.1f} |")
        lines.append(f"| | difference | {b['top_10'] - a['top_10']:+.4f} | {b['top_100'] - a['top_100']:+.4f} | "
                     f"{b['top_10_seen_removed'] - a['top_10_seen_removed']:+.4f} | "
                     f"{b['top_100_seen_removed'] - a['top_100_seen_removed']:+.4f} | | |")
    notes = []
    for r in rows:
        lost = "; ".join(r["caveats"]) or "nothing"
        split = "the run's own test ratings" if r["same_split"] else "NOT the run's test ratings"
        within = "" if r["within"] is None else f"; top-100 within {TOLERANCE}: {'yes' if r['within'] else 'NO'}"
        notes.append(f"- {r['preset']}: {split}; not reproduced in plain TFRS: {lost}{within}.")
    return "\n".join(lines + [""] + notes)
