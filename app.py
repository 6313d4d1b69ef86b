"""Entry point: `streamlit run app.py`. Navigation and the sidebar's active-run selector."""
import recsys  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import streamlit as st

st.set_page_config(page_title="Two-tower retrieval lab", page_icon="🎬", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/recommend.py", title="Recommend", icon="🎬"),
    st.Page("pages/ann.py", title="ANN lab", icon="⚡"),
    st.Page("pages/compare.py", title="Compare runs", icon="📊"),
    st.Page("pages/embeddings.py", title="Embedding map", icon="🗺️"),
]

page = st.navigation(PAGES)
from pages import _shared  # noqa: E402

_shared.sidebar()
page.run()
