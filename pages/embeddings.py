"""embeddings page (being built)."""
import streamlit as st

st.title("embeddings")
st.info("This page is under construction.")
