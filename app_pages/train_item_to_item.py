"""The Train page's Item-to-item tab: movie -> movie, its held-out hit rate against item-kNN and popularity.

Its widgets start on the active run's split, so the Recommend page can show it beside that
run's movie tower.
"""
import streamlit as st

from app_pages import cache, follow
from recsys.ui import charts
from recsys.ui.train_views import ITEM_TO_ITEM


def show_result(run_id: str, how: str, seconds: float, current) -> None:
    """An item-to-item run: its held-out hit rates against item-kNN and popularity, and its curves."""
    run, cols = follow.result_header(run_id, how, seconds, current, "The Recommend page's *Per movie* shows its "
                                     "neighbours beside the retrieval model's, for the active run's split.")
    if run is None:
        return
    m = run.metrics["item_to_item"]
    for col, k in zip(cols, (10, 50)):
        mine, theirs = m["item_to_item"][f"hit_{k}"], m["itemknn"][f"hit_{k}"]
        col.metric(f"Hit rate @{k}", f"{mine:.3f}", delta=f"{mine - theirs:+.3f} vs item-kNN")
    st.markdown(f"**{ITEM_TO_ITEM.verdict(m)}**")
    table = charts.hit_table(m)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns[1:]})
    st.caption(f"Held-out hit rate @K over {m['queries']:,} test ratings: is the rated movie among the K neighbours "
               "of the movie the same user rated just before it in training?")
    st.altair_chart(ITEM_TO_ITEM.curves(run.history, m["itemknn"], run.config.epochs, width=follow.CHART_WIDTH),
                    width="content")


def itemknn(config) -> dict:
    """Item-kNN's hit rates on the split of ``config``: the dashed lines of the live curves."""
    return cache.item_to_item_baselines(*config.split_of())["itemknn"]


TAB = follow.Tab(ITEM_TO_ITEM, "i2i_", show_result, reference=itemknn, nothing_yet=(
    "No item-to-item run trained in this session yet (a few seconds with the defaults). Its held-out hit rate is "
    "measured on the same test ratings as the retrieval run of the same split."))


def draw() -> None:
    """Pairs of movies rated by one user, two movie towers: settings on the left; Train, progress, result."""
    st.markdown("The TFRS tutorial ends with the idea: *the same two-tower recipe, trained on pairs of movies, is an "
                "item-to-item recommender*. Here it is: each training example is two movies one user rated close "
                "together in time, and the in-batch softmax learns to find the second from the first.")
    active = follow.on_active_split(TAB)
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        config, ds, clicked = follow.settings(TAB)
        follow.split_note(config, active, "the Recommend page's *Per movie* will show this model beside its movie "
                          "tower.", "the Recommend page shows item-to-item runs of the active run's split only.")
    with right:
        follow.column(TAB, config, ds, clicked)
