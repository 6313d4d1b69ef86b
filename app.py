"""Entry point: `streamlit run app.py`. Navigation and the sidebar's active-run selector."""
import recsys  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import streamlit as st

st.set_page_config(page_title="Two-tower retrieval lab", page_icon="🎬", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("app_pages/train.py", title="Train", icon="🏋️"),
    st.Page("app_pages/recommend.py", title="Recommend", icon="🎬"),
    st.Page("app_pages/ann.py", title="ANN lab", icon="⚡"),
    st.Page("app_pages/compare.py", title="Compare runs", icon="📊"),
    st.Page("app_pages/embeddings.py", title="Embedding map", icon="🗺️"),
]

page = st.navigation(PAGES)
from app_pages import common  # noqa: E402

common.sidebar()
page.run()
