"""Shared test set-up: one $RECSYS_HOME per test session, the real ML-100k loaded once."""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RECSYS_HOME", tempfile.mkdtemp(prefix="recsys-test-"))

import recsys  # noqa: E402  (sets TF_USE_LEGACY_KERAS before anything imports TensorFlow)
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ml100k():
    """The real ML-100k through the default `auto` loader."""
    from recsys import train

    return train.load_dataset("100k")


@pytest.fixture(scope="session")
def tiny_run(ml100k):
    """A tiny trained and saved run (dim 8, 1 epoch): enough to exercise serving code."""
    from recsys import runs
    from recsys.config import TUTORIAL

    run, _ = runs.train_or_load(TUTORIAL.with_(embedding_dim=8, epochs=1, batch_size=4096), ml100k)
    return run
