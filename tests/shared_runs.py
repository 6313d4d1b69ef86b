"""Runs that the processes of one test run train once and share: the workers of ``pytest -n 2``.

``get(config, ds)`` is ``runs.train_or_load(config, ds)`` for a fixture that needs *a* trained run (the tiny run,
the tutorial's, the tiny ranking run): the first process that asks trains it, with the code under test, into
``$RECSYS_TEST_DATA/runs`` (the run's own folder, made per test run: ``tests/conftest.py``), under a lock per run
so that a second process waits instead of training it too; every process then copies it into its own home, where
the tests may change or delete it. ``publish(run)`` offers a run a test trained for its own reasons (``ready``'s
first start). Nothing here outlives the test run: the machine's cache (``tests/data_cache.py``) never holds runs.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path


def folder() -> Path:
    path = Path(os.environ["RECSYS_TEST_DATA"]) / "runs"
    path.mkdir(exist_ok=True)
    return path


def get(config, ds):
    """The run for ``config`` in this process's home: found there, copied from the test run's folder, or trained."""
    from recsys.store import runs

    found = runs.find(config, ds)
    if found is not None:
        return found
    shared = folder()
    rid = runs.run_id(config.validate(), runs.data_tag(ds))
    with open(shared / f".{rid}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run, _ = runs.train_or_load(config, ds, root=shared)
    return copy(run.path)


def copy(src: Path, root: Path | None = None):
    """Copy a saved run's folder into ``root`` (default: this home's runs) whole, then read it from there."""
    from recsys import atomic, paths
    from recsys.store import runs

    root = Path(root or paths.runs_dir())
    with atomic.staging(root) as tmp:  # whole or not at all, as the run store writes
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    os.rename(tmp, root / src.name)
    return runs.load(src.name, root)


def publish(run) -> None:
    """Offer ``run`` (trained by a test in its own home) to the other processes of this test run."""
    shared = folder()
    with open(shared / f".{run.run_id}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / run.run_id).exists():
            copy(run.path, shared)
