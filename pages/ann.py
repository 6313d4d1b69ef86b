"""ann page (being built)."""
import streamlit as st

st.title("ann")
st.info("This page is under construction.")
