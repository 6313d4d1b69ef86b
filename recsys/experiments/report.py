"""``python -m recsys report``: the TFRS tutorial, our presets and the baselines, side by side.

For each split (random, temporal) and each of N seeds (42, 43, ...) it trains the presets of
``MODELS``, scores the popularity baseline and the strong baselines (EASE, item-kNN, iALS, tuned
on validation) on the same test ratings, then writes one Markdown table per split: mean ±
standard deviation over the seeds of top-K accuracy for K in 1, 5, 10, 50, 100, in both variants
(all movies as TFRS counts them; movies the user rated in training removed), and the training
seconds. ``item_to_item_markdown`` adds the "movies like this" hit rates, ``ladder()`` the steps
from the tutorial to our default, one lever at a time.

On the random split the seed changes the split itself (and with it the popularity
baseline), the initial weights and the batch order; the temporal split is fixed, so there
the seed changes only the weights and the batch order.

The report's fixed prose lives in ``docs/`` (``notes``): how the presets were chosen
(``docs/report_presets.md``) and why the tutorial loses to popularity (``docs/report_why.md``,
``explain``, with the data's numbers from ``facts``). This module computes the tables and the
sentences read from their numbers.
"""
from __future__ import annotations

import datetime
import math
import statistics
import time
from pathlib import Path

import numpy as np

from recsys import config as cfg
from recsys.config import KS, SPLITS

MODELS = {"TFRS tutorial": cfg.TUTORIAL, "Our best": cfg.BEST, "Id tower": cfg.ID_TOWER}
BASELINES = {"ease": "EASE", "itemknn": "Item-kNN", "ials": "iALS"}  # tuned on validation (training/baselines.py)
POPULARITY = "Popularity"
CANDIDATES = {"test": "all movies", "test_filtered": "seen removed"}  # the metric variants, as the report names them
SPLIT_TITLES = {"random": "Random split (80 / 20, the tutorial's shuffle)",
                "temporal": "Temporal split (the earliest 80 % of ratings train, the latest 20 % test)"}

DOCS = Path(__file__).resolve().parents[2] / "docs"


def notes(name: str) -> str:
    """The fixed text of a report section: ``docs/<name>`` without its leading HTML comment."""
    text = (DOCS / name).read_text()
    if text.startswith("<!--"):
        text = text.split("-->", 1)[1]
    return text.strip()


# ----------------------------------------------------------------------------- collect


def seeds(n: int, first: int = 42) -> list[int]:
    """The seeds of a report: ``first``, ``first + 1``, ... (42 is the tutorial's)."""
    return list(range(first, first + n))


ITEM_MODEL = "Item-to-item model"


def collect(n_seeds: int = 3, splits=SPLITS, models: dict | None = None, ds=None, first_seed: int = 42,
            progress=None, item_model=cfg.ITEM_DEFAULT, strong: bool = True) -> list[dict]:
    """Train every model on every split and seed; one row per (system, split, seed).

    A row: ``{"system", "split", "seed", "metrics": {"test": {...}, "test_filtered": {...}},
    "seconds", "best_epoch", "epochs", "item_to_item": {...}}``. Popularity rows come from the
    same runs' test ratings; its "training" is counting ratings, timed here.
    ``models``: name -> TrainConfig (default: tutorial and our best; tests pass tiny ones).
    ``item_model``: an ``ItemToItemConfig`` trained on the same split and seed (None: skip it),
    its row's ``item_to_item`` beside the retrieval models' movie towers (``item_to_item_markdown``).
    ``strong``: also a row per strong baseline (EASE, item-kNN, iALS, tuned on the validation
    slice of the same training ratings; its "training" is the tuning and the final fit).
    """
    from recsys.evaluation import baselines
    from recsys.training import baselines as strong_baselines
    from recsys.training import item_to_item as fit_i2i
    from recsys.data import prepared
    from recsys.training import train

    models = models or MODELS
    ds = ds or prepared.load_dataset("100k")
    progress = progress or (lambda text: None)
    rows = []
    for split in splits:
        for seed in seeds(n_seeds, first_seed):
            popularity = None
            for name, preset in models.items():
                config = preset.with_(split=split, seed=seed)
                progress(f"{split} seed {seed}: {name} ...")
                result = train.fit(config, ds)
                rows.append({"system": name, "split": split, "seed": seed, "metrics": result.metrics["model"],
                             "seconds": result.seconds, "best_epoch": result.best_epoch, "epochs": config.epochs,
                             "item_to_item": result.metrics["item_to_item"]})
                popularity = result.metrics["popularity"]
            p = prepared.prepare(ds, config)
            started = time.perf_counter()
            baselines.popularity_scores(p.train_movies, len(ds.titles))
            rows.append({"system": POPULARITY, "split": split, "seed": seed, "metrics": popularity,
                         "seconds": time.perf_counter() - started, "best_epoch": None, "epochs": None})
            if strong:
                progress(f"{split} seed {seed}: EASE, item-kNN, iALS ...")
                for key, r in strong_baselines.for_split(ds, split, config.split_fraction, seed).items():
                    rows.append({"system": BASELINES[key], "split": split, "seed": seed,
                                 "metrics": {"test": r["test"], "test_filtered": r["test_filtered"]},
                                 "seconds": r["seconds"], "best_epoch": None, "epochs": None, "params": r["params"]})
            for row in rows:
                row.setdefault("n_test", int(len(p.test_users)))
            if item_model is not None:
                progress(f"{split} seed {seed}: {ITEM_MODEL} ...")
                item = fit_i2i.fit(item_model.with_(split=split, seed=seed), ds)
                rows.append({"system": ITEM_MODEL, "split": split, "seed": seed, "metrics": None,
                             "seconds": item.seconds, "best_epoch": item.best_epoch, "epochs": item.config.epochs,
                             "item_to_item": item.metrics["item_to_item"], "n_test": int(len(p.test_users))})
    return rows


# ----------------------------------------------------------------------------- summarize


def _mean_sd(values) -> tuple[float, float]:
    values = [float(v) for v in values]
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(rows: list[dict]) -> dict:
    """Mean and standard deviation over seeds, per split, system, variant and K.

    Returns ``{split: {system: {"test": {"top_1": (mean, sd), ...}, "test_filtered": {...},
    "seconds": (mean, sd), "best_epoch": [..]}}}`` plus, per split, ``"wins"``: for each
    model, the number of seeds where it beats popularity at every K in both variants, and
    ``"seeds"``.
    """
    out: dict = {}
    rows = [r for r in rows if r["metrics"] is not None]  # top-K rows only (the item-to-item model has none)
    for split in dict.fromkeys(r["split"] for r in rows):
        here = [r for r in rows if r["split"] == split]
        systems = list(dict.fromkeys(r["system"] for r in here))
        block = {}
        for system in systems:
            mine = [r for r in here if r["system"] == system]
            block[system] = {v: {f"top_{k}": _mean_sd(r["metrics"][v][f"top_{k}"] for r in mine) for k in KS}
                             for v in CANDIDATES}
            block[system]["seconds"] = _mean_sd(r["seconds"] for r in mine)
            block[system]["best_epoch"] = [r["best_epoch"] for r in mine]
            block[system]["epochs"] = mine[0]["epochs"]
        by_seed = {r["seed"]: r for r in here if r["system"] == POPULARITY}
        wins, losses = {}, {}
        for system in systems:
            if system == POPULARITY or system in BASELINES.values():
                continue
            mine = [r for r in here if r["system"] == system and r["seed"] in by_seed]
            wins[system] = sum(beats(r["metrics"], by_seed[r["seed"]]["metrics"]) for r in mine)
            losses[system] = {r["seed"]: lost_cells(r["metrics"], by_seed[r["seed"]]["metrics"]) for r in mine}
        block["wins"], block["losses"] = wins, losses
        block["seeds"] = sorted(by_seed)
        block["n_test"] = here[0].get("n_test", 0)
        out[split] = block
    return out


def against(block: dict, system: str, candidates: str = "test_filtered") -> str:
    """``topk.read_against`` on the seed means of one split: where ``system`` stands against every baseline."""
    from recsys.evaluation import topk

    keys = {POPULARITY: "popularity", **{name: key for key, name in BASELINES.items()}}
    means = {keys[name]: {c: {f"top_{k}": block[name][c][f"top_{k}"][0] for k in KS} for c in CANDIDATES}
             for name in keys if name in block}
    means["model"] = {c: {f"top_{k}": block[system][c][f"top_{k}"][0] for k in KS} for c in CANDIDATES}
    return topk.read_against(means, candidates).replace("the model", system, 1)


def beats(model: dict, baseline: dict) -> bool:
    """True when ``model`` is strictly better than ``baseline`` at every K in both variants."""
    return not lost_cells(model, baseline)


def lost_cells(model: dict, baseline: dict) -> list[tuple[str, int]]:
    """The (variant, K) cells where ``model`` is not strictly better than ``baseline``."""
    return [(v, k) for v in CANDIDATES for k in KS if not model[v][f"top_{k}"] > baseline[v][f"top_{k}"]]


def standard_error(p: float, n: int) -> float:
    """Binomial standard error of an accuracy p measured on n test ratings: sqrt(p (1 - p) / n).

    It is the noise of one number in the table: with 20,000 test ratings and top-1 accuracy
    near 0.006, about ±0.0005, so a difference smaller than ~0.001 between two systems on one
    seed is within chance.
    """
    return math.sqrt(p * (1 - p) / n) if n else float("nan")


# ----------------------------------------------------------------------------- markdown


def _cell(mean: float, sd: float, bold: bool = False) -> str:
    text = f"{mean:.4f} ± {sd:.4f}"
    return f"**{text}**" if bold else text


def to_markdown(summary: dict, command: str, date: str | None = None, note: str = "") -> str:
    """The report as Markdown: one table per split, the verdict, and how the default was chosen."""
    date = date or datetime.date.today().isoformat()
    first = next(iter(summary.values()))
    n = len(first["seeds"])
    lines = [
        "## Our best vs the TFRS tutorial vs the baselines",
        "",
        f"Generated by `{command}` on {date}: MovieLens 100k, seeds {', '.join(map(str, first['seeds']))}. "
        f"Each cell is top-K accuracy on the test ratings (the share of test ratings whose movie is among "
        f"the user's K highest-scoring movies), mean ± standard deviation over {n} seed{'s' if n != 1 else ''}; "
        "**bold** is the best system in that column. *All movies* ranks every movie, as TFRS's "
        "`FactorizedTopK` does; *seen removed* first drops the movies the user rated in training."
        + (f" {note}" if note else ""),
    ]
    header = "| System | Variant | " + " | ".join(f"top-{k}" for k in KS) + " | Training (s) |"
    rule = "|---|---|" + "---:|" * len(KS) + "---:|"
    for split, block in summary.items():
        systems = [s for s in block if s not in ("wins", "losses", "seeds", "n_test")]
        lines += ["", f"### {SPLIT_TITLES.get(split, split)}", "", header, rule]
        for variant, vname in CANDIDATES.items():
            best = {k: max(block[s][variant][f"top_{k}"][0] for s in systems) for k in KS}
            for system in systems:
                cells = [_cell(*block[system][variant][f"top_{k}"], bold=block[system][variant][f"top_{k}"][0] == best[k])
                         for k in KS]
                secs = block[system]["seconds"]
                seconds = ("< 0.01" if secs[0] < 0.01 else f"{secs[0]:.2f}" if secs[0] < 0.1
                           else f"{secs[0]:.1f} ± {secs[1]:.1f}")
                lines.append(f"| {system} | {vname} | " + " | ".join(cells) + f" | {seconds} |")
        lines.append("")
        for system, won in block["wins"].items():
            epochs = block[system]["best_epoch"]
            chosen = (f" (epoch kept: {', '.join(map(str, epochs))} of {block[system]['epochs']})"
                      if block[system]["epochs"] else "")
            lost = {seed: cells for seed, cells in block["losses"][system].items() if cells}
            detail = ""
            if lost and len(lost) < len(block["seeds"]):
                detail = "; it does not beat it " + "; ".join(
                    f"with seed {seed} at " + ", ".join(f"top-{k} ({CANDIDATES[v]})" for v, k in cells)
                    for seed, cells in lost.items())
            lines.append(f"- {system} beats popularity at every K in both variants in {won} of "
                         f"{len(block['seeds'])} seeds{chosen}{detail}.")
        for system in block["wins"]:
            if any(b in block for b in BASELINES.values()):
                lines.append(f"- {system}, mean over the seeds: {against(block, system)}")
        if block["n_test"] and POPULARITY in block:
            p1 = block[POPULARITY]["test"]["top_1"][0]
            lines.append(f"- Noise: with {block['n_test']:,} test ratings, one top-1 accuracy near {p1:.4f} "
                         f"carries a standard error of about ±{standard_error(p1, block['n_test']):.4f} "
                         "(binomial), so smaller differences on one seed are within chance.")
    lines += ["", "Settings:", ""]
    for name, preset in MODELS.items():
        lines.append(f"- {name}: {describe(preset)}")
    lines += ["", notes("report_presets.md"), ""]
    return "\n".join(lines)


def item_to_item_markdown(rows: list[dict]) -> str:
    """"Movies like this": held-out hit rates per split, mean ± sd over seeds, every model and both baselines.

    The retrieval models' rows are their movie towers (cosine, bias left out), the
    item-to-item model's its own towers; item-kNN and the popularity list are scored on the
    same held-out ratings (``recsys/evaluation/item_to_item.py``).
    """
    from recsys.evaluation import item_to_item as i2i

    lines = ["## Movies like this: item-to-item hit rates", "",
             "For each test rating, the query is the movie the same user rated just before it in training; a hit "
             "at K means the rated movie is among the query's K neighbours. Mean ± standard deviation over the same "
             "seeds as above; the retrieval models are their movie towers (cosine, the popularity bias left out)."]
    header = "| System | " + " | ".join(f"hit@{k}" for k in i2i.KS) + " |"
    rule = "|---|" + "---:|" * len(i2i.KS)
    for split in dict.fromkeys(r["split"] for r in rows):
        here = [r for r in rows if r["split"] == split and r.get("item_to_item")]
        if not here:
            continue
        table = {}
        for r in here:
            key = "two_tower" if r["system"] != ITEM_MODEL else "item_to_item"
            table.setdefault(f"{r['system']} ({'movie tower' if key == 'two_tower' else 'its towers'})", []).append(
                r["item_to_item"][key])
        per_seed = {}  # the baselines depend on the split and seed only
        for r in here:
            per_seed.setdefault(r["seed"], r["item_to_item"])
        table["Item-kNN"] = [m["itemknn"] for m in per_seed.values()]
        table["Popularity (the most rated)"] = [m["popularity"] for m in per_seed.values()]
        best = {k: max(statistics.fmean(v[f"hit_{k}"] for v in vals) for vals in table.values()) for k in i2i.KS}
        lines += ["", f"### {SPLIT_TITLES.get(split, split)}", "", header, rule]
        for name, vals in table.items():
            cells = []
            for k in i2i.KS:
                mean, sd = _mean_sd(v[f"hit_{k}"] for v in vals)
                cells.append(_cell(mean, sd, bold=mean == best[k]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def describe(config: cfg.TrainConfig) -> str:
    """Every setting of ``config`` that differs from the tutorial, as ``name=value`` (or "the defaults")."""
    base = cfg.TUTORIAL.to_dict()
    changed = [f"`{k}={v}`" for k, v in config.to_dict().items()
               if v != base[k] and k not in ("split", "seed")]
    return ", ".join(changed) if changed else "the TFRS tutorial's settings"


# ----------------------------------------------------------------------------- why


def facts(ds=None) -> dict:
    """The numbers ``explain`` quotes, computed from the data (no training, well under a second).

    - ``top100_negative_share``: share of in-batch negatives that are the 100 most-rated movies
      (random split, training ratings): in-batch softmax picks negatives by popularity;
    - ``top100_catalog_share``: what those 100 movies are of the catalog (100 / number of titles);
    - ``seen_per_user``: median number of training ratings per user (movies that crowd the
      all-movies list but can never be a test movie);
    - ``cold_share``: share of temporal test ratings whose user has no training rating.
    """
    from recsys.data import prepared

    ds = ds or prepared.load_dataset("100k")
    rand = prepared.prepare(ds, cfg.TUTORIAL)
    temp = prepared.prepare(ds, cfg.TUTORIAL.with_(split="temporal"))
    counts = np.bincount(rand.train_movies, minlength=len(ds.titles))
    warm = np.zeros(len(ds.user_ids), dtype=bool)
    warm[temp.train_users] = True
    return {
        "top100_negative_share": float(np.sort(counts)[::-1][:100].sum() / counts.sum()),
        "top100_catalog_share": 100 / len(ds.titles),
        "seen_per_user": float(np.median(np.bincount(rand.train_users)[np.unique(rand.train_users)])),
        "cold_share": float(np.mean(~warm[temp.test_users])),
        "titles": len(ds.titles),
    }


def explain(f: dict | None = None) -> str:
    """Markdown: why the tutorial's model loses to popularity, and what each lever does about it.

    The text is ``docs/report_why.md``; ``f = facts(ds)`` puts the data's numbers in place of
    its three general statements (without ``f`` the text names no numbers).
    """
    text = notes("report_why.md") + "\n"
    if not f:
        return text
    measured = {
        "the few most-rated movies are a large share of all negatives":
            f"the 100 most-rated movies, {f['top100_catalog_share']:.0%} of the catalog, are "
            f"{f['top100_negative_share']:.0%} of all negatives",
        "Every user has dozens of training ratings": f"A typical user has {f['seen_per_user']:.0f} training ratings",
        "Most of the temporal split's test ratings come from users":
            f"{f['cold_share']:.0%} of the temporal split's test ratings come from users",
    }
    for general, numbers in measured.items():
        if general not in text:
            raise ValueError(f"docs/report_why.md no longer says {general!r}: update report.explain with it")
        text = text.replace(general, numbers)
    return text


# ----------------------------------------------------------------------------- ladder


def ladder() -> list[tuple[str, str, cfg.TrainConfig]]:
    """The steps from the tutorial to our default, one idea at a time: (name, why, config)."""
    b, best = cfg.ID_TOWER, cfg.BEST
    steps = [("TFRS tutorial", "the starting point", cfg.TUTORIAL)]
    c = cfg.TUTORIAL.with_(popularity_correction=True)
    steps.append(("+ log-Q correction", "popular movies stop being punished for being everyone's negative", c))
    c = c.with_(optimizer=b.optimizer, learning_rate=b.learning_rate, batch_size=b.batch_size,
                embedding_dim=b.embedding_dim, epochs=b.epochs)
    steps.append((f"+ {b.optimizer.capitalize()} {b.learning_rate:g}, batch {b.batch_size}, dim {b.embedding_dim}, "
                  f"{b.epochs} epochs", "more steps: learns faster, and memorises faster", c))
    c = c.with_(validation_fraction=b.validation_fraction, l2=b.l2)
    steps.append((f"+ best epoch on a {b.validation_fraction:.0%} validation slice, L2 {b.l2:g}",
                  "stop before the user's own movies crowd the list", c))
    c = c.with_(movie_bias=b.movie_bias, user_id_dropout=b.user_id_dropout)
    steps.append((f"+ movie bias, user-id dropout {b.user_id_dropout:g}", "a stranger gets the popular movies, not noise", c))
    c = c.with_(user_features=b.user_features, movie_features=b.movie_features, deep_layers=b.deep_layers)
    steps.append(("+ user and movie features = Id tower", "a stranger gets what people like them watch", c))
    c = best.with_(multinomial=False, popularity_correction=True, epochs=b.epochs, batch_size=b.batch_size,
                   validation_fraction=b.validation_fraction)
    steps.append((f"user tower reads the history instead of the id (linear, {best.embedding_dim}-d, "
                  f"{best.history_dropout:.0%} dropped)", "a user is what they watched: EASE's user vector, learned", c))
    steps.append((f"+ multinomial loss, {best.epochs} epochs on all training ratings = Our best",
                  "all of a user's movies against the whole catalog at once: the step that catches up with EASE "
                  "with seen movies removed, and gives up the list among all movies", best))
    return steps


def collect_ladder(splits=SPLITS, seed: int = 42, ds=None, progress=None) -> list[dict]:
    """Train every ``ladder()`` step on each split (one seed): rows like ``collect``'s."""
    from recsys.data import prepared
    from recsys.training import train

    ds = ds or prepared.load_dataset("100k")
    progress = progress or (lambda text: None)
    rows = []
    for split in splits:
        for name, why, config in ladder():
            progress(f"ladder {split}: {name} ...")
            result = train.fit(config.with_(split=split, seed=seed), ds)
            rows.append({"step": name, "why": why, "split": split, "metrics": result.metrics["model"],
                         "popularity": result.metrics["popularity"], "seconds": result.seconds,
                         "best_epoch": result.best_epoch})
    return rows


def ladder_markdown(rows: list[dict]) -> str:
    """One table per split: top-1, 10 and 100 of each step, both variants, and popularity's."""
    lines = ["### Step by step: one lever at a time (seed 42)", "",
             "Each row adds one idea to the row above; the last row is our default. "
             "A ✓ marks a step that beats popularity at every K in both variants."]
    cols = [(v, k) for v in CANDIDATES for k in (1, 10, 100)]
    head = "| Step | " + " | ".join(f"top-{k} ({CANDIDATES[v]})" for v, k in cols) + " | Training (s) | Beats popularity |"
    for split in dict.fromkeys(r["split"] for r in rows):
        here = [r for r in rows if r["split"] == split]
        pop = here[0]["popularity"]
        lines += ["", f"**{SPLIT_TITLES.get(split, split)}**", "", head, "|---|" + "---:|" * (len(cols) + 2)]
        lines.append("| Popularity | " + " | ".join(f"{pop[v][f'top_{k}']:.4f}" for v, k in cols) + " | < 0.01 | |")
        for r in here:
            cells = " | ".join(f"{r['metrics'][v][f'top_{k}']:.4f}" for v, k in cols)
            lines.append(f"| {r['step']} — {r['why']} | {cells} | {r['seconds']:.1f} | "
                         f"{'✓' if beats(r['metrics'], pop) else ''} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- CLI
