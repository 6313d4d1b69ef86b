"""The parsed ML-100k, fetched and parsed once per machine for the tests, copied into each run's data folder.

Every test run gets a new data folder (``tests/conftest.py``: its workers' homes, and the homes of
the tests that start a fresh server or a newcomer's first start, link to it). Without this, each
run would download the MovieLens wheel again and parse it again. The machine's copy lives in
``$RECSYS_TEST_CACHE`` (default ``~/.cache/recsys-tests``): outside the repository, never a user's
``$RECSYS_HOME``. It holds only what ``recsys data`` writes for ML-100k (the wheel, checked by its
sha256 on every load, and the parsed frames, versioned by ``movielens.CACHE_VERSION``), never runs
or tuned baselines: those must be computed by the code under test.

Tests of the download and the parse themselves (``tests/test_data.py``) use homes of their own.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

MACHINE = Path(os.environ.get("RECSYS_TEST_CACHE") or Path.home() / ".cache" / "recsys-tests").expanduser()
KEEP = ("recbole-", "ml-100k-")  # the wheel and the parsed copies of ML-100k in $RECSYS_HOME/data


def machine_data() -> Path:
    """The machine's ``data/`` folder, filled on first use (a lock makes parallel sessions wait, not race)."""
    from recsys.data import movielens

    MACHINE.mkdir(parents=True, exist_ok=True)
    with open(MACHINE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = MACHINE / "data"
        before = os.environ.get("RECSYS_HOME")
        os.environ["RECSYS_HOME"] = str(MACHINE)
        try:
            movielens.load(source="packaged", variant="100k")  # reads the parsed copy when it is there and current
        finally:
            if before is None:
                del os.environ["RECSYS_HOME"]
            else:
                os.environ["RECSYS_HOME"] = before
    return folder


def seed(home: str | Path) -> None:
    """Copy the machine's ML-100k into ``home/data`` (a copy: a test that damages it harms no other run)."""
    target = Path(home) / "data"
    target.mkdir(parents=True, exist_ok=True)
    machine = machine_data()
    with open(target / ".seed-lock", "w") as lock:  # the test workers of one run share a data folder
        fcntl.flock(lock, fcntl.LOCK_EX)
        for entry in machine.iterdir():
            if entry.name.startswith(KEEP) and not (target / entry.name).exists():
                if entry.is_dir():
                    shutil.copytree(entry, target / entry.name)
                else:
                    shutil.copy2(entry, target / entry.name)
