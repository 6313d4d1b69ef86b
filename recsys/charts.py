"""Altair charts the pages show, built from backend data (tests can inspect their specs)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .config import KS


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
    """Ratings per genre (a movie counts once for each of its genres)."""
    g = ds.ratings["movie_genres"].str.split("|").explode()
    counts = g[g != ""].value_counts().rename_axis("genre").reset_index(name="ratings")
    return alt.Chart(counts, title="Ratings per genre").mark_bar().encode(
        x=alt.X("ratings:Q"), y=alt.Y("genre:N", sort="-x"), tooltip=["genre", "ratings"])


def metric_frame(metrics: dict) -> pd.DataFrame:
    """Long frame of final top-K: who (model/popularity), variant, K, accuracy."""
    rows = []
    for who, by_variant in metrics.items():
        for variant, vals in by_variant.items():
            for k in KS:
                rows.append({"who": who, "variant": "all candidates" if variant == "test" else "seen removed",
                             "K": k, "accuracy": vals[f"top_{k}"]})
    return pd.DataFrame(rows)


def topk_bars(metrics: dict) -> alt.Chart:
    """Grouped bars: model vs popularity at each K, one panel per metric variant."""
    df = metric_frame(metrics)
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("who:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("accuracy:Q", title="top-K accuracy"),
        color=alt.Color("who:N", title=None, scale=alt.Scale(domain=["model", "popularity"],
                                                             range=["#4c78a8", "#bbbbbb"])),
        column=alt.Column("K:O", title="K"), row=alt.Row("variant:N", title=None),
        tooltip=["who", "variant", "K", alt.Tooltip("accuracy:Q", format=".4f")],
    ).properties(width=60, height=160)


def history_frame(history: list, variant: str = "test") -> pd.DataFrame:
    rows = []
    for rec in history:
        for k in KS:
            rows.append({"epoch": rec["epoch"], "K": f"top-{k}", "accuracy": rec[variant][f"top_{k}"]})
    return pd.DataFrame(rows)


def training_curves(history: list, popularity: dict | None, epochs: int, variant: str = "test") -> alt.VConcatChart:
    """Loss per epoch, and test top-K per epoch with the popularity baseline as dashed lines."""
    x = alt.X("epoch:Q", scale=alt.Scale(domain=[1, max(epochs, 2)]), axis=alt.Axis(tickMinStep=1))
    loss = alt.Chart(pd.DataFrame([{"epoch": r["epoch"], "loss": r["loss"]} for r in history]),
                     title="Training loss").mark_line(point=True).encode(
        x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), tooltip=["epoch", alt.Tooltip("loss:Q", format=",.0f")]
    ).properties(height=180)
    hist = history_frame(history, variant)
    color = alt.Color("K:N", sort=[f"top-{k}" for k in KS], title=None)
    lines = alt.Chart(hist, title="Test top-K accuracy per epoch (dashed: popularity baseline)").mark_line(
        point=True).encode(x=x, y=alt.Y("accuracy:Q", scale=alt.Scale(type="symlog", constant=0.01)),
                           color=color, tooltip=["epoch", "K", alt.Tooltip("accuracy:Q", format=".4f")])
    layers = [lines]
    if popularity:
        base = pd.DataFrame([{"K": f"top-{k}", "accuracy": popularity[variant][f"top_{k}"]} for k in KS])
        layers.append(alt.Chart(base).mark_rule(strokeDash=[6, 4]).encode(
            y="accuracy:Q", color=color, tooltip=["K", alt.Tooltip("accuracy:Q", format=".4f")]))
    return alt.vconcat(loss, alt.layer(*layers).properties(height=260)).resolve_scale(color="independent")
