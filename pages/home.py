"""Home: the dataset at a glance, and how two-tower retrieval works."""
import streamlit as st

from pages import _shared
from recsys import charts

st.title("🎬 Two-tower movie retrieval, hands on")
st.caption("Train the TensorFlow Recommenders retrieval model on MovieLens, tune it with sliders, "
           "and see why it works (or does not).")

try:
    ds = _shared.dataset()
except Exception as e:  # a UserError listing the sources tried
    _shared.show_error(e)
    st.stop()

s = ds.summary()
c = st.columns(5)
c[0].metric("Ratings", f"{s['ratings']:,}")
c[1].metric("Users", f"{s['users']:,}")
c[2].metric("Movies", f"{s['movies']:,}")
c[3].metric("Distinct titles", f"{s['titles']:,}")
c[4].metric("Source", s["source"])

left, right = st.columns(2)
left.altair_chart(charts.rating_histogram(ds), use_container_width=True)
right.altair_chart(charts.genre_counts(ds), use_container_width=True)
st.altair_chart(charts.long_tail(ds), use_container_width=True)
st.caption("A few blockbusters collect most ratings. A model that learns only *popularity* already scores well "
           "on top-K metrics: that is the baseline every page compares against.")
