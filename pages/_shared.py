"""What every page shares: cached backend objects and the sidebar's active-run selector.

Caching lives here, at the edge: `st.cache_resource` for the dataset, trained runs and
indexes (shared by all sessions, never copied), `st.session_state` for what one user picked.
"""
from __future__ import annotations

import streamlit as st

from recsys import runs, train
from recsys.errors import UserError

RUN_KEY = "active_run"


@st.cache_resource(show_spinner="Loading MovieLens 100k…")
def dataset(variant: str = "100k"):
    return train.load_dataset(variant)


@st.cache_resource(show_spinner=False, max_entries=16)
def recommender(run_id: str, scann_params=None):
    """A run's BruteForce + ScaNN indexes, built once per (run, ScaNN setting)."""
    from recsys.recommend import Recommender

    run = runs.load(run_id)
    return Recommender(run, dataset(run.config.variant), scann_params)


def saved_runs():
    return runs.list_runs()


def sidebar() -> None:
    """The active run: newest first, labelled by config and test top-100."""
    items = saved_runs()
    with st.sidebar:
        st.subheader("Active run")
        if not items:
            st.info("No trained run yet.")
            st.page_link("pages/train.py", label="Train one", icon="🏋️")
            st.session_state.pop(RUN_KEY, None)
            return
        ids = [r.run_id for r in items]
        labels = {r.run_id: r.label() for r in items}
        current = st.session_state.get(RUN_KEY)
        if current not in ids:
            st.session_state[RUN_KEY] = ids[0]
        st.selectbox("Run", ids, key=RUN_KEY, format_func=lambda i: labels[i], label_visibility="collapsed")


def active_run():
    """The selected saved run, or None (after telling the user to train one)."""
    rid = st.session_state.get(RUN_KEY)
    if rid is None:
        st.info("No trained run yet: train one on the Train page first.")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return None
    try:
        return runs.load(rid)
    except UserError as e:
        st.error(str(e))
        return None


def show_error(e: Exception) -> None:
    st.error(str(e), icon="⚠️")
