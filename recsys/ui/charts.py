"""Altair charts the pages show, built from backend data (tests can inspect their specs)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from recsys.config import KS
from recsys.evaluation.ranking import REFERENCES
from recsys.evaluation.topk import CANDIDATES


def rating_histogram(ds) -> alt.Chart:
    """How many ratings of each star value (1-5)."""
    counts = ds.ratings["user_rating"].value_counts().sort_index().rename_axis("stars").reset_index(name="ratings")
    return alt.Chart(counts, title="Ratings by stars").mark_bar().encode(
        x=alt.X("stars:O", title="stars"), y=alt.Y("ratings:Q", title="ratings"),
        tooltip=["stars", "ratings"])


def long_tail(ds) -> alt.Chart:
    """Ratings per movie, movies sorted from most to least rated: the long tail."""
    per_movie = ds.ratings.groupby("movie_title").size().sort_values(ascending=False)
    frame = pd.DataFrame({"rank": np.arange(1, len(per_movie) + 1), "ratings": per_movie.to_numpy(),
                          "movie_title": per_movie.index})
    share = per_movie.cumsum() / per_movie.sum()
    head = int((share < 0.5).sum()) + 1
    base = alt.Chart(frame, title=f"The long tail: {head} of {len(frame)} titles get half of all ratings")
    area = base.mark_area(opacity=0.6).encode(
        x=alt.X("rank:Q", title="movies, most rated first"), y=alt.Y("ratings:Q", title="ratings per movie"),
        tooltip=["rank", "movie_title", "ratings"])
    rule = alt.Chart(pd.DataFrame({"rank": [head]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x="rank:Q")
    return area + rule


def genre_counts(ds) -> alt.Chart:
    """Ratings per genre (a movie counts once for each of its genres).

    Counted per title (its genres, weighted by its number of ratings), not per rating:
    1,664 short strings to split instead of 100,000 on every rerun of the Home page.
    """
    per_title = np.bincount(ds.ratings["title_idx"].to_numpy(), minlength=len(ds.titles))
    genres = ds.title_genres.reindex(ds.titles).fillna("").str.split("|")
    frame = pd.DataFrame({"genre": genres.to_numpy(), "ratings": per_title}).explode("genre")
    counts = (frame[frame["genre"] != ""].groupby("genre", as_index=False)["ratings"].sum()
              .sort_values("ratings", ascending=False, kind="stable"))
    return alt.Chart(counts, title="Ratings per genre").mark_bar().encode(
        x=alt.X("ratings:Q"), y=alt.Y("genre:N", sort="-x"), tooltip=["genre", "ratings"])


SYSTEMS = {"model": "model", "popularity": "popularity", "ease": "EASE", "itemknn": "item-kNN", "ials": "iALS"}
COLOURS = {"model": "#4c78a8", "popularity": "#bbbbbb", "EASE": "#e45756", "item-kNN": "#54a24b", "iALS": "#b279a2"}


def metric_frame(metrics: dict) -> pd.DataFrame:
    """Long frame of final top-K: who (model, popularity, EASE…), variant (all candidates/seen removed), K, accuracy."""
    rows = []
    for who, block in metrics.items():
        if who not in SYSTEMS or "test" not in block:  # not a top-K block (metrics.item_to_item)
            continue
        for candidates, name in CANDIDATES.items():
            for k in KS:
                rows.append({"who": SYSTEMS[who], "variant": name, "K": k, "accuracy": block[candidates][f"top_{k}"]})
    return pd.DataFrame(rows)


def metric_table(metrics: dict) -> pd.DataFrame:
    """Final top-K as a table: one row per (variant, model or popularity), one column per K."""
    df = metric_frame(metrics)
    df["variant"] = pd.Categorical(df["variant"], ["all candidates", "seen removed"])
    df["who"] = pd.Categorical(df["who"], [w for w in COLOURS if w in set(df["who"])])  # the model first
    t = df.pivot_table(index=["variant", "who"], columns="K", values="accuracy", observed=True).sort_index()
    t.columns = [f"top-{k}" for k in t.columns]
    return t.reset_index().astype({"variant": str, "who": str})


def topk_bars(metrics: dict) -> alt.Chart:
    """Grouped bars: the model and its baselines at each K, one panel per metric variant."""
    df = metric_frame(metrics)
    shown = [w for w in COLOURS if w in set(df["who"])]
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("who:N", title=None, sort=shown, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("accuracy:Q", title="top-K accuracy"),
        color=alt.Color("who:N", title=None, sort=shown, scale=alt.Scale(domain=shown,
                                                                          range=[COLOURS[w] for w in shown])),
        column=alt.Column("K:O", title="K"), row=alt.Row("variant:N", title=None),
        tooltip=["who", "variant", "K", alt.Tooltip("accuracy:Q", format=".4f")],
    ).properties(width=60, height=160)


def history_frame(history: list, candidates: str = "test", prefix: str = "top", ks=KS) -> pd.DataFrame:
    """Long frame of per-epoch metrics: epoch, K (``top-10`` / ``hit-10``), accuracy."""
    rows = []
    for rec in history:
        for k in ks:
            rows.append({"epoch": rec["epoch"], "K": f"{prefix}-{k}", "accuracy": rec[candidates][f"{prefix}_{k}"]})
    return pd.DataFrame(rows)


def _epoch_curves(history: list, reference: dict | None, epochs: int, prefix: str, ks, title: str,
                  width: int | None) -> alt.VConcatChart:
    """Loss per epoch over a metric per epoch (one line per K), with a reference's values as dashed rules."""
    x = alt.X("epoch:Q", scale=alt.Scale(domain=[1, max(epochs, 2)]), axis=alt.Axis(tickMinStep=1))
    loss = alt.Chart(pd.DataFrame([{"epoch": r["epoch"], "loss": r["loss"]} for r in history]),
                     title="Training loss").mark_line(point=True).encode(
        x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), tooltip=["epoch", alt.Tooltip("loss:Q", format=",.0f")]
    ).properties(height=180)
    color = alt.Color("K:N", sort=[f"{prefix}-{k}" for k in ks], title=None)
    lines = alt.Chart(history_frame(history, "test", prefix, ks), title=title).mark_line(point=True).encode(
        x=x, y=alt.Y("accuracy:Q", scale=alt.Scale(type="symlog", constant=0.01)), color=color,
        tooltip=["epoch", "K", alt.Tooltip("accuracy:Q", format=".4f")])
    layers = [lines]
    if reference:
        base = pd.DataFrame([{"K": f"{prefix}-{k}", "accuracy": reference[f"{prefix}_{k}"]} for k in ks])
        layers.append(alt.Chart(base).mark_rule(strokeDash=[6, 4]).encode(
            y="accuracy:Q", color=color, tooltip=["K", alt.Tooltip("accuracy:Q", format=".4f")]))
    sized = {"width": width} if width else {}
    return alt.vconcat(loss.properties(**sized), alt.layer(*layers).properties(height=260, **sized)).resolve_scale(
        color="independent")


def training_curves(history: list, popularity: dict | None, epochs: int, candidates: str = "test",
                    width: int | None = None) -> alt.VConcatChart:
    """Loss per epoch, and test top-K per epoch with the popularity baseline as dashed lines.

    ``width``: pixels of each panel (a stacked chart cannot stretch to its container).
    """
    if candidates != "test":
        history = [{**r, "test": r[candidates]} for r in history]
    return _epoch_curves(history, popularity[candidates] if popularity else None, epochs, "top", KS,
                         "Test top-K accuracy per epoch (dashed: popularity baseline)", width)


def versus_baselines(history: list, references: dict, epochs: int, ks=(10, 100), candidates: str = "test_filtered",
                     width: int | None = None) -> alt.HConcatChart:
    """The model's top-K per epoch (solid) against each baseline's (dashed), one panel per K.

    ``references``: name (``SYSTEMS`` key) -> its metrics block; seen movies removed by default,
    the variant where the strong baselines are strongest.
    """
    x = alt.X("epoch:Q", scale=alt.Scale(domain=[1, max(epochs, 2)]), axis=alt.Axis(tickMinStep=1))
    shown = ["model"] + [SYSTEMS[r] for r in references]
    colour = alt.Color("system:N", title=None, sort=shown, scale=alt.Scale(domain=shown,
                                                                            range=[COLOURS[s] for s in shown]))
    panels = []
    for k in ks:
        line = pd.DataFrame([{"epoch": r["epoch"], "system": "model", "accuracy": r[candidates][f"top_{k}"]}
                             for r in history])
        rules = pd.DataFrame([{"system": SYSTEMS[name], "accuracy": block[candidates][f"top_{k}"]}
                              for name, block in references.items()], columns=["system", "accuracy"])
        layers = [alt.Chart(line).mark_line(point=True).encode(
            x=x, y=alt.Y("accuracy:Q", title=f"top-{k}", scale=alt.Scale(zero=False)), color=colour,
            tooltip=["epoch", "system", alt.Tooltip("accuracy:Q", format=".4f")])]
        if len(rules):
            layers.append(alt.Chart(rules).mark_rule(strokeDash=[6, 4], strokeWidth=2).encode(
                y="accuracy:Q", color=colour, tooltip=["system", alt.Tooltip("accuracy:Q", format=".4f")]))
        panels.append(alt.layer(*layers, title=f"Top-{k}, {CANDIDATES[candidates]}").properties(
            height=220, **({"width": width // 2} if width else {})))
    return alt.hconcat(*panels).resolve_scale(y="independent").configure_legend(orient="bottom")


def item_to_item_curves(history: list, itemknn: dict | None, epochs: int, width: int | None = None):
    """An item-to-item run's loss, and its held-out hit rate @K per epoch; dashed: item-kNN's."""
    from recsys.evaluation.item_to_item import KS as HIT_KS

    return _epoch_curves(history, itemknn, epochs, "hit", HIT_KS,
                         "Held-out hit rate @K per epoch (dashed: item-kNN)", width)


RATING_REFERENCES = REFERENCES  # published ML-100k RMSE (SVD, SVD++), recsys/evaluation/ranking.py


def ranking_curves(history: list, metrics: dict | None, epochs: int, width: int | None = None) -> alt.VConcatChart:
    """A ranking run's loss, and its RMSE per epoch (test; validation dotted) against the rating baselines.

    Dashed rules: the global mean and the user/movie bias baseline on the same split; grey
    dotted: the published matrix-factorisation results on ML-100k. Lower is better.
    """
    x = alt.X("epoch:Q", scale=alt.Scale(domain=[1, max(epochs, 2)]), axis=alt.Axis(tickMinStep=1))
    loss = alt.Chart(pd.DataFrame([{"epoch": r["epoch"], "loss": r["loss"]} for r in history]),
                     title="Training loss (mean squared error)").mark_line(point=True).encode(
        x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), tooltip=["epoch", alt.Tooltip("loss:Q", format=".4f")]
    ).properties(height=160)
    rows = [{"epoch": r["epoch"], "RMSE": r[part]["rmse"], "on": part} for r in history
            for part in ("test", "validation") if part in r]
    series = alt.Color("on:N", title=None, sort=["test", "validation"])
    lines = alt.Chart(pd.DataFrame(rows), title="RMSE per epoch (lower is better)").mark_line(point=True).encode(
        x=x, y=alt.Y("RMSE:Q", scale=alt.Scale(zero=False)), color=series,
        strokeDash=alt.StrokeDash("on:N", sort=["test", "validation"], legend=None),
        tooltip=["epoch", "on", alt.Tooltip("RMSE:Q", format=".4f")])
    refs = [{"reference": "global mean", "RMSE": metrics["global_mean"]["test"]["rmse"]},
            {"reference": "user + movie biases", "RMSE": metrics["biases"]["test"]["rmse"]}] if metrics else []
    refs += [{"reference": name, "RMSE": v} for name, v in RATING_REFERENCES.items()]
    rules = alt.Chart(pd.DataFrame(refs)).mark_rule(strokeDash=[6, 4]).encode(
        y="RMSE:Q", color=alt.Color("reference:N", title=None,
                                    scale=alt.Scale(range=["#e45756", "#54a24b", "#999999", "#cccccc"])),
        tooltip=["reference", alt.Tooltip("RMSE:Q", format=".4f")])
    sized = {"width": width} if width else {}
    return alt.vconcat(loss.properties(**sized), alt.layer(lines, rules).properties(height=260, **sized)
                       ).resolve_scale(color="independent")


def blend_curve(m: dict, chosen: float | None = None) -> alt.LayerChart:
    """NDCG@10 of stage 2 for each blend weight (0: stars only, 1: stage 1's order); dashed: stage 1 alone."""
    frame = pd.DataFrame([{"weight": float(a), "ndcg": v} for a, v in m["mix"].items()])
    x = alt.X("weight:Q", scale=alt.Scale(domain=[0, 1]), title="weight of stage 1's score in stage 2")
    y = alt.Y("ndcg:Q", scale=alt.Scale(zero=False), title="NDCG@10 (test users)")
    line = alt.Chart(frame, title="Stage 2: predicted stars blended with stage 1's score").mark_line(
        point=True).encode(x=x, y=y, tooltip=[alt.Tooltip("weight:Q", format=".2f", title="weight"),
                                              alt.Tooltip("ndcg:Q", format=".4f", title="NDCG@10")])
    alone = pd.DataFrame([{"ndcg": m["ndcg"]["retrieval"], "what": "stage 1 alone"}])
    layers = [line, alt.Chart(alone).mark_rule(strokeDash=[6, 4], color="#888888").encode(
        y="ndcg:Q", tooltip=["what", alt.Tooltip("ndcg:Q", format=".4f", title="NDCG@10")])]
    if chosen is not None:
        layers.append(alt.Chart(pd.DataFrame([{"weight": chosen}])).mark_rule(color="#e45756").encode(x="weight:Q"))
    return alt.layer(*layers).properties(height=220)


def rmse_table(metrics: dict) -> pd.DataFrame:
    """Test RMSE of the model, the two baselines and the published references, best first."""
    rows = [{"predictor": "this model", "test RMSE": metrics["model"]["test"]["rmse"]},
            {"predictor": "user + movie biases (tuned on validation)", "test RMSE": metrics["biases"]["test"]["rmse"]},
            {"predictor": "global mean", "test RMSE": metrics["global_mean"]["test"]["rmse"]}]
    rows += [{"predictor": f"{name}: published reference", "test RMSE": v} for name, v in RATING_REFERENCES.items()]
    return pd.DataFrame(rows).sort_values("test RMSE").reset_index(drop=True)


def hit_table(metrics: dict) -> pd.DataFrame:
    """``metrics.item_to_item`` as a table: one row per method, one column per K."""
    from recsys.evaluation.item_to_item import KS as HIT_KS
    from recsys.evaluation.item_to_item import METHODS

    return pd.DataFrame([{"method": label, **{f"hit@{k}": metrics[who][f"hit_{k}"] for k in HIT_KS}}
                         for who, label in METHODS.items() if who in metrics])


# --------------------------------------------------------------------------- compare runs, sweeps, embedding map


def runs_curves_frame(runs: list, k: int, candidates: str = "test") -> pd.DataFrame:
    """Per-epoch test top-K of several runs (long: run, label, epoch, accuracy)."""
    return pd.DataFrame([{"run": r.run_id, "label": r.config.label(), "epoch": rec["epoch"],
                          "accuracy": rec[candidates][f"top_{k}"]} for r in runs for rec in r.history],
                        columns=["run", "label", "epoch", "accuracy"])


def _baselines(runs: list, k: int, candidates: str) -> pd.DataFrame:
    """The popularity baseline of each distinct split among ``runs`` (one row per value)."""
    rows = {}
    for r in runs:
        v = r.metrics["popularity"][candidates][f"top_{k}"]
        rows.setdefault(round(v, 6), []).append(r.run_id)
    return pd.DataFrame([{"accuracy": v, "baseline": f"popularity ({', '.join(ids)})"} for v, ids in rows.items()])


def runs_curves(runs: list, k: int, candidates: str = "test") -> alt.LayerChart:
    """Per-epoch test top-K of the selected runs on one chart; dashed: popularity baseline(s)."""
    df = runs_curves_frame(runs, k, candidates)
    lines = alt.Chart(df, title=f"Test top-{k} per epoch ({CANDIDATES[candidates]}; dashed: popularity)").mark_line(
        point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)), y=alt.Y("accuracy:Q", title=f"top-{k} accuracy"),
        color=alt.Color("run:N", title="run"),
        tooltip=["run", "label", "epoch", alt.Tooltip("accuracy:Q", format=".4f")])
    rule = alt.Chart(_baselines(runs, k, candidates)).mark_rule(strokeDash=[6, 4], color="gray").encode(
        y="accuracy:Q", tooltip=["baseline", alt.Tooltip("accuracy:Q", format=".4f")])
    return alt.layer(lines, rule).properties(height=300)


def kind_curves(runs: list, kind: str) -> alt.Chart:
    """Runs of one kind on one chart: the per-epoch number its entry in ``recsys/store/kinds.py`` names.

    For ranking runs, test RMSE per epoch (lower is better); for item-to-item runs, the held-out hit rate @10.
    """
    from recsys.store import kinds
    from recsys.ui import tables

    k = kinds.KINDS[kind]
    df = pd.DataFrame(tables.curve_rows(runs, kind), columns=["run", "label", "epoch", "value"])
    return alt.Chart(df, title=k.curve_title).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=k.curve_label, scale=alt.Scale(zero=False)), color=alt.Color("run:N", title="run"),
        tooltip=["run", "label", "epoch", alt.Tooltip("value:Q", title=k.curve_label, format=".4f")]
    ).properties(height=300)


def runs_final_bars(runs: list, candidates: str = "test") -> alt.FacetChart:
    """Final top-K of each run at every K (one panel per K); the black tick is the run's popularity baseline."""
    rows = []
    for r in runs:
        for k in KS:
            rows.append({"run": r.run_id, "label": r.config.label(), "K": f"top-{k}",
                         "accuracy": r.metrics["model"][candidates][f"top_{k}"],
                         "popularity": r.metrics["popularity"][candidates][f"top_{k}"]})
    df = pd.DataFrame(rows)
    base = alt.Chart().encode(x=alt.X("run:N", title=None, axis=alt.Axis(labels=False, ticks=False)))
    bars = base.mark_bar().encode(
        y=alt.Y("accuracy:Q", title="top-K accuracy"), color=alt.Color("run:N", title="run"),
        tooltip=["run", "label", "K", alt.Tooltip("accuracy:Q", format=".4f"),
                 alt.Tooltip("popularity:Q", format=".4f")])
    ticks = base.mark_tick(color="black", thickness=2).encode(
        y="popularity:Q", tooltip=["run", "K", alt.Tooltip("popularity:Q", title="popularity", format=".4f")])
    return alt.layer(bars, ticks, data=df).properties(width=90, height=220).facet(
        column=alt.Column("K:N", sort=[f"top-{k}" for k in KS], title=None),
        title=f"Final test top-K ({CANDIDATES[candidates]}; black tick: popularity baseline)",
    ).resolve_scale(y="independent")


def sweep_heatmap(frame: pd.DataFrame, axes: list, k: int, candidates: str = "test") -> alt.LayerChart:
    """Test top-K of every sweep cell as a heatmap; the best cell is outlined and starred.

    ``frame``: ``SweepResult.frame(k, candidates)`` (columns: the axes, accuracy, popularity, run_id, reused).
    """
    df = frame.copy()
    best = df["accuracy"].idxmax()
    df["best"] = df.index == best
    df["text"] = [f"{'★ ' if b else ''}{a:.4f}" for a, b in zip(df["accuracy"], df["best"])]
    df["beats_popularity"] = df["accuracy"] > df["popularity"]
    lo, hi = df["accuracy"].min(), df["accuracy"].max()
    # Text colour: red on the best cell, black on the light (high) end of viridis, white elsewhere.
    df["ink"] = np.where(df["best"], "red", np.where(df["accuracy"] > lo + 0.55 * (hi - lo), "black", "white"))
    x_name = axes[-1]
    y_name = axes[0] if len(axes) == 2 else None
    enc = {"x": alt.X(f"{x_name}:O", title=x_name.replace("_", " "), sort=sorted(df[x_name].unique().tolist()),
                      axis=alt.Axis(labelAngle=0))}
    if y_name:
        enc["y"] = alt.Y(f"{y_name}:O", title=y_name.replace("_", " "), sort=sorted(df[y_name].unique().tolist()))
    tooltip = [*axes, "run_id", alt.Tooltip("accuracy:Q", format=".4f", title=f"top-{k}"),
               alt.Tooltip("popularity:Q", format=".4f"), "beats_popularity", "reused"]
    pop = df["popularity"].unique()
    title = (f"Test top-{k} ({CANDIDATES[candidates]}); ★ best" +
             (f"; popularity baseline {pop[0]:.4f}" if len(pop) == 1 else ""))
    base = alt.Chart(df, title=title).encode(**enc)
    rect = base.mark_rect().encode(color=alt.Color("accuracy:Q", title=f"top-{k}", scale=alt.Scale(scheme="viridis")),
                                   tooltip=tooltip)
    outline = base.transform_filter("datum.best").mark_rect(fill=None, stroke="red", strokeWidth=3)
    # One text layer per ink colour: a colour *encoding* here would share the heatmap's colour scale.
    texts = [base.transform_filter(f"datum.ink == '{ink}'").mark_text(fontSize=13, color=ink).encode(
        text="text:N", tooltip=tooltip) for ink in ("white", "black", "red")]
    return alt.layer(rect, outline, *texts).properties(height=70 * (df[y_name].nunique() if y_name else 1) + 40)


def embedding_map(movies: pd.DataFrame, users: pd.DataFrame | None = None, selected: int | None = None,
                  neighbours: list | None = None, rated: pd.DataFrame | None = None, user_id: str | None = None,
                  genre: str | None = None, title: str = "") -> alt.LayerChart:
    """Movies as points (colour: first genre, or one genre highlighted; size: ratings), with optional layers.

    ``movies``: ``embedding_map.movie_map`` (x, y, idx, title, genres, genre, ratings). ``users``:
    ``embedding_map.user_map`` (grey crosses). ``selected``/``neighbours``: a movie and its
    neighbours (outlined, labelled). ``rated`` (idx, user_rating) and ``user_id``: a user's
    rated movies (black rings) and the user's own point.
    """
    tooltip = ["title", "genres", alt.Tooltip("ratings:Q", title="ratings"),
               alt.Tooltip("mean_rating:Q", title="mean stars")]
    size = alt.Size("ratings:Q", scale=alt.Scale(range=[8, 300]), legend=None)
    xy = {"x": alt.X("x:Q", axis=None), "y": alt.Y("y:Q", axis=None)}
    layers = []
    if users is not None:
        layers.append(alt.Chart(users).mark_point(shape="cross", color="#999999", size=18, opacity=0.35).encode(
            **xy, tooltip=["user_id"]))
    if genre:
        df = movies.assign(has=movies["genres"].str.split(", ").apply(lambda g: genre in g))
        color = alt.condition("datum.has", alt.value("#d62728"), alt.value("#cfcfcf"))
        layers.append(alt.Chart(df).mark_circle(opacity=0.7).encode(
            **xy, size=size, color=color, order=alt.Order("has:O"), tooltip=tooltip))
    else:
        layers.append(alt.Chart(movies).mark_circle(opacity=0.65).encode(
            **xy, size=size, color=alt.Color("genre:N", title="first genre", scale=alt.Scale(scheme="category20")),
            tooltip=tooltip))
    if rated is not None and len(rated):
        mine = movies.merge(rated[["idx", "user_rating"]], on="idx")
        layers.append(alt.Chart(mine).mark_point(color="black", size=90, strokeWidth=1.5).encode(
            **xy, tooltip=tooltip + [alt.Tooltip("user_rating:Q", title="user's stars")]))
        if users is not None and user_id is not None:
            me = users[users["user_id"] == str(user_id)]
            layers.append(alt.Chart(me).mark_point(shape="diamond", filled=True, color="black", size=260).encode(
                **xy, tooltip=["user_id"]))
    if selected is not None:
        nb = movies[movies["idx"].isin(neighbours or [])]
        me = movies[movies["idx"] == selected]
        layers.append(alt.Chart(nb).mark_point(color="#e41a1c", size=160, strokeWidth=2.5).encode(
            **xy, tooltip=tooltip))
        layers.append(alt.Chart(pd.concat([me, nb])).mark_text(align="left", dx=8, dy=-6, fontSize=11).encode(
            **xy, text="title:N"))
        layers.append(alt.Chart(me).mark_point(shape="diamond", filled=True, color="#e41a1c", size=350).encode(
            **xy, tooltip=tooltip))
    return alt.layer(*layers, title=title).properties(height=600).interactive()


def multitask_tradeoff(rows: list) -> alt.LayerChart:
    """The multitask sweep (``recsys/experiments/multitask.py: sweep``): test RMSE across, test top-100 up.

    One point per (rating_weight, retrieval_weight) pair, labelled with it, joined in the sweep's
    order (rating-only at one end, retrieval-only at the other). Lower RMSE is better, higher top-100
    too: the best models sit top left.
    """
    df = pd.DataFrame(rows)
    df = df.assign(order=range(len(df)),
                   weights=[f"({r:g}, {t:g})" for r, t in zip(df["rating_weight"], df["retrieval_weight"])])
    enc = {"x": alt.X("rmse:Q", title="test RMSE (lower is better)", scale=alt.Scale(zero=False)),
           "y": alt.Y("top_100:Q", title="test top-100 of the vectors (higher is better)", scale=alt.Scale(zero=False))}
    tooltip = [alt.Tooltip("weights:N", title="(rating, retrieval)"), alt.Tooltip("rmse:Q", format=".4f"),
               alt.Tooltip("top_10:Q", format=".4f"), alt.Tooltip("top_100:Q", format=".4f"), "run_id"]
    base = alt.Chart(df, title="Multitask trade-off: one point per (rating weight, retrieval weight)").encode(**enc)
    line = base.mark_line(color="#999999").encode(order="order:Q")
    points = base.mark_circle(size=90).encode(color=alt.value("#1f77b4"), tooltip=tooltip)
    labels = base.mark_text(align="left", dx=7, dy=-7, fontSize=11).encode(text="weights:N")
    return alt.layer(line, points, labels).properties(height=360)
