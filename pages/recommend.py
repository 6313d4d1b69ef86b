"""recommend page (being built)."""
import streamlit as st

st.title("recommend")
st.info("This page is under construction.")
