"""recsys: the backend of the two-tower retrieval app (no Streamlit in here).

TensorFlow Recommenders is written for Keras 2 (the ``tf-keras`` package), so
``TF_USE_LEGACY_KERAS=1`` must be set before TensorFlow is imported anywhere.
Importing ``recsys`` first does that for the app, the CLI and the tests.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide TF C++ start-up noise (no-GPU probes, INFO)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic CPU kernels, no oneDNN banner
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
