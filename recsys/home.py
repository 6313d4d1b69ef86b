"""Where the app keeps what it computes: ``$RECSYS_HOME`` (default ``~/.cache/recsys``).

``data/`` holds parsed datasets and the downloaded wheel, ``runs/`` trained runs.
"""
import os
from pathlib import Path


def home() -> Path:
    """The root folder for caches and runs, created on first use."""
    root = Path(os.environ.get("RECSYS_HOME") or Path.home() / ".cache" / "recsys").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def data_dir() -> Path:
    d = home() / "data"
    d.mkdir(parents=True, exist_ok=True)
    return d


def runs_dir() -> Path:
    d = home() / "runs"
    d.mkdir(parents=True, exist_ok=True)
    return d
