"""The Train page's Ranking tab: stage 2, the stars a user gives a movie, its test RMSE against the baselines.

Its widgets start from *Our best* on the active run's split, so it can re-rank that run's
candidates on the Recommend page. Below it, the multitask sweep (``recsys/experiments/multitask.py``).
"""
import pandas as pd
import streamlit as st

from app_pages import cache, common, follow, levers
from recsys.errors import UserError
from recsys.experiments import multitask
from recsys.ui import charts
from recsys.ui.train_views import RANKING

PREFIX = "rank_"
MULTITASK_KEY = "train_multitask_rows"  # the last multitask sweep of this session: its rows


def apply_preset() -> None:
    """on_change of the ranking preset: every ranking widget to the preset's value (on the same split)."""
    preset = RANKING.presets[st.session_state[PREFIX + "preset"]]
    keep = {name: st.session_state[PREFIX + name] for name in ("variant", "split", "split_fraction", "seed")}
    levers.set_widgets(preset.with_(**keep), PREFIX)


def show_result(run_id: str, how: str, seconds: float, current) -> None:
    """A ranking run: its test RMSE against the global mean, the bias baseline and the published references."""
    run, c = follow.result_header(run_id, how, seconds, current, "The Recommend page's *Per user* can re-rank the "
                                  "active run's candidates with it (same split).")
    if run is None:
        return
    m = run.metrics
    mine, biases = m["model"]["test"]["rmse"], m["biases"]["test"]["rmse"]
    c[0].metric("Test RMSE", f"{mine:.4f}", delta=f"{mine - biases:+.4f} vs biases", delta_color="inverse",
                help="Root mean squared error of the predicted stars on the held-out ratings (lower is better).")
    c[1].metric("Global mean", f"{m['global_mean']['test']['rmse']:.4f}",
                help="Predicting every rating as the mean of the training ratings.")
    st.markdown(f"**{RANKING.verdict(m)}**")
    st.dataframe(charts.rmse_table(m), hide_index=True, width="stretch",
                 column_config={"test RMSE": st.column_config.NumberColumn(format="%.4f")})
    st.caption("The published references are the `surprise` library's 5-fold results on ML-100k, not this split: "
               "read them as what good looks like, not as a same-split comparison.")
    st.altair_chart(RANKING.curves(run.history, m, run.config.epochs, width=follow.CHART_WIDTH), width="content")


def multitask_section(config, ds) -> None:
    """The TFRS multitask tutorial's trade-off: the same model at a few (rating, retrieval) weight pairs."""
    st.subheader("Multitask: one model, two objectives")
    st.markdown("With a **retrieval weight** above 0 the ranking model also learns retrieval (the in-batch softmax on "
                "u · m) with the same towers. The sweep trains the settings on the left at "
                f"{len(multitask.WEIGHTS)} (rating, retrieval) weight pairs, from rating-only to retrieval-only, and "
                "draws each run's test RMSE against the test top-100 of its vectors.")
    if config is None or ds is None:
        return
    try:
        todo = multitask.configs(config)
    except UserError as e:
        common.show_error(e)
        return
    try:  # from the cached listing: no run folder is read on a rerun
        saved = multitask.already_saved(todo, ds, {r.run_id for r in cache.saved_ranking_runs()})
        known = f"{saved} saved already (reused), {len(todo) - saved} to train"
    except UserError:  # the run store cannot be read: the sidebar says why
        known = "none can be saved now"
    st.caption(f"{len(todo)} runs: {known} (~{config.epochs} epochs each). Fewer epochs draw the curve faster: "
               "retrieval overfits early.")
    if st.button("Run the multitask sweep", key=PREFIX + "multitask", type="secondary"):
        try:
            st.session_state[MULTITASK_KEY] = multitask.sweep(config, ds, callback=common.PageProgress(),
                                                              trainer=common.queued_trainer)
        except UserError as e:
            common.show_error(e)
    rows = st.session_state.get(MULTITASK_KEY)
    if rows:
        st.altair_chart(charts.multitask_tradeoff(rows), width="stretch")
        st.markdown(f"**{multitask.reading(rows)}**")
        st.dataframe(pd.DataFrame(rows)[["rating_weight", "retrieval_weight", "rmse", "top_10", "top_100", "run_id"]],
                     hide_index=True, width="stretch",
                     column_config={"rmse": st.column_config.NumberColumn("test RMSE", format="%.4f"),
                                    "top_10": st.column_config.NumberColumn("top-10", format="%.4f"),
                                    "top_100": st.column_config.NumberColumn("top-100", format="%.4f")})


TAB = follow.Tab(RANKING, PREFIX, show_result, nothing_yet=(
    "No ranking run trained in this session yet (seconds with either preset). Its RMSE is measured on the same "
    "held-out ratings as the retrieval run of the same split."))


def draw() -> None:
    """A model that predicts a user's stars for a movie: preset and settings; Train, progress, result; the sweep."""
    st.markdown("Stage 2 of a two-stage recommender, as in TFRS's *basic ranking* tutorial: a user vector and a movie "
                "vector go through an MLP that predicts the **stars** (1-5) the user gives the movie, trained with the "
                "mean squared error. Retrieval finds a few hundred candidates out of the catalog; this model orders "
                "them. Trained on the same split as the retrieval run, it can re-rank its candidates on *Recommend*.")
    st.session_state.setdefault(PREFIX + "preset", "Our best")
    active = follow.on_active_split(TAB)
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        st.selectbox("Preset", list(RANKING.presets), key=PREFIX + "preset", on_change=apply_preset,
                     help="*TFRS tutorial*: the basic ranking tutorial's settings. *Our best*: chosen on a validation "
                          "slice (docs/ranking.md).")
        config, ds, clicked = follow.settings(TAB)
        follow.split_note(config, active, "*Recommend* can re-rank its candidates with this model.",
                          "*Recommend* re-ranks with ranking runs of the active run's split only.")
    with right:
        follow.column(TAB, config, ds, clicked)
    multitask_section(config, ds)
