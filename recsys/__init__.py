"""recsys: the backend of the two-tower retrieval app (no Streamlit in here).

TensorFlow Recommenders is written for Keras 2 (the ``tf-keras`` package), so
``TF_USE_LEGACY_KERAS=1`` must be set before TensorFlow is imported anywhere.
Importing ``recsys`` first does that for the app, the CLI and the tests.

It also makes Python's cycle collector walk the whole heap less often. A full collection runs once
ten younger ones have passed and the heap has grown by a quarter since the last: while TensorFlow and
TFRS load (some 400k objects that all live on) that is several walks of an ever larger heap, ~15% of
the import's CPU. With a hundred instead of ten, none falls mid-import; in a process that has loaded
them, the quarter rule, not the count, still sets the pace (``benchmarks/startup.py``).
"""
import gc
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide TF C++ start-up noise (no-GPU probes, INFO)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic CPU kernels, no oneDNN banner
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
gc.set_threshold(*gc.get_threshold()[:2], 100)

__version__ = "0.1.0"
