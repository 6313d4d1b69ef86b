"""The ANN lab's charts: recall@k against queries per second, as ann-benchmarks plots it (no Streamlit).

``frontier_chart`` draws one ScaNN sweep (``recsys.bench.ann.sweep``), ``field_chart`` every
library's frontier (``recsys.bench.field.field_frame``); both mark brute force at recall 1.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from recsys.bench import peers


def frontier_chart(frame, brute: dict | None = None, current: dict | None = None, k: int = 10):
    """ann-benchmarks' plot: recall@k (x) against single-query QPS (y, log scale).

    Grey dots: every swept ScaNN setting; the line: the frontier (best QPS at each recall);
    red: brute force (recall 1); orange diamond: the current setting.
    """
    tips = ["num_leaves", "num_leaves_to_search", "num_reordering_candidates", "dimensions_per_block",
            alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("qps:Q", format=",.0f"),
            alt.Tooltip("latency_ms_mean:Q", format=".3f", title="ms/query")]
    x = alt.X("recall:Q", title=f"recall@{k}", scale=alt.Scale(zero=False))
    y = alt.Y("qps:Q", title="queries per second (one at a time, log scale)", scale=alt.Scale(type="log"))
    base = alt.Chart(frame)
    layers = [base.mark_circle(size=35, color="#bbbbbb").encode(x=x, y=y, tooltip=tips),
              base.transform_filter("datum.frontier").mark_line(point=True, color="#4c78a8").encode(
                  x=x, y=y, order="recall:Q", tooltip=tips)]
    if brute:
        names = {"bruteforce_matmul": "BruteForce (numpy)", "bruteforce_tfrs": "BruteForce (TFRS layer)"}
        bf = pd.DataFrame([{"index": names.get(n, n), "recall": 1.0, "qps": 1000.0 / max(b["latency_ms_mean"], 1e-9),
                            "latency_ms_mean": b["latency_ms_mean"]} for n, b in brute.items()])
        layers.append(alt.Chart(bf).mark_point(shape="square", size=90, filled=True, color="#e45756").encode(
            x=x, y=y, tooltip=["index", alt.Tooltip("qps:Q", format=",.0f"),
                               alt.Tooltip("latency_ms_mean:Q", format=".3f", title="ms/query")]))
        for i in range(len(bf)):  # labels one above the other: both sit near recall 1
            layers.append(alt.Chart(bf.iloc[[i]]).mark_text(align="right", dx=-10, dy=-10 + 14 * i,
                                                             color="#e45756").encode(x=x, y=y, text="index"))
    if current:
        cur = pd.DataFrame([{"setting": "current setting", "recall": current["recall"],
                             "qps": 1000.0 / max(current["latency_ms_mean"], 1e-9)}])
        layers.append(alt.Chart(cur).mark_point(shape="diamond", size=220, filled=True, color="#f58518").encode(
            x=x, y=y, tooltip=["setting", alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("qps:Q", format=",.0f")]))
    return alt.layer(*layers).properties(title="ScaNN: recall against speed (up and right is better)", height=380)


def field_chart(frame, brute: dict | None = None, k: int = 10, min_recall: float = 0.5):
    """ann-benchmarks' plot for several libraries: recall@k (x) against single-query QPS (y, log), Pareto lines.

    Settings below ``min_recall`` are left out of the picture (they are in the table).
    """
    frame = frame[frame["recall"] >= min_recall].assign(index=frame["library"].map(peers.LABELS))
    order = [peers.LABELS[lib] for lib in peers.LIBRARIES if lib in set(frame["library"])]
    colour = alt.Color("index:N", title=None, sort=order, scale=alt.Scale(
        domain=order, range=["#4c78a8", "#f58518", "#54a24b", "#b279a2"][:len(order)]))
    tips = ["index", "build", "search", alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("qps:Q", format=",.0f"),
            alt.Tooltip("latency_ms_mean:Q", format=".3f", title="ms/query"),
            alt.Tooltip("qps_batched:Q", format=",.0f", title="QPS batched")]
    x = alt.X("recall:Q", title=f"recall@{k}", scale=alt.Scale(domain=[min_recall, 1.0]))
    y = alt.Y("qps:Q", title="queries per second (one at a time, log scale)", scale=alt.Scale(type="log"))
    base = alt.Chart(frame)
    layers = [base.mark_circle(size=28, opacity=0.35).encode(x=x, y=y, color=colour, tooltip=tips),
              base.transform_filter("datum.frontier").mark_line(point=True).encode(
                  x=x, y=y, color=colour, order="recall:Q", tooltip=tips)]
    if brute:
        b = brute["bruteforce_matmul"]
        bf = pd.DataFrame([{"index": "brute force (numpy)", "recall": 1.0, "qps": 1000.0 / max(b["latency_ms_mean"],
                                                                                              1e-9)}])
        layers.append(alt.Chart(bf).mark_point(shape="square", size=90, filled=True, color="#e45756").encode(
            x=x, y=y, tooltip=["index", alt.Tooltip("qps:Q", format=",.0f")]))
        layers.append(alt.Chart(bf).mark_text(align="right", dx=-10, dy=-10, color="#e45756").encode(
            x=x, y=y, text="index"))
    return alt.layer(*layers).properties(title="Recall against speed, every library (up and right is better)",
                                         height=420)
