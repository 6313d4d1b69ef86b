"""compare page (being built)."""
import streamlit as st

st.title("compare")
st.info("This page is under construction.")
