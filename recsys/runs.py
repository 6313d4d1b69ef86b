"""Saved training runs under ``$RECSYS_HOME/runs/<run_id>/``.

A run directory holds ``run.json`` (config, per-epoch history, final metrics of the model
and the popularity baseline, timings, library versions), ``vectors.npz`` (every user's and
every movie's vector: all that serving and evaluation need) and ``weights/`` (the Keras
checkpoint). It is written to a hidden temporary folder and renamed into place, so a run
is either complete or absent, whatever kills the process.

The run id is a hash of the config and the dataset, so asking for the same settings and
seed again finds the earlier run instead of retraining.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .errors import UserError
from .home import runs_dir

log = logging.getLogger(__name__)
FORMAT = 1


def run_id(config: TrainConfig, data_tag: str) -> str:
    """Hash of (config incl. seed, dataset): equal settings on equal data share an id."""
    blob = json.dumps({"config": config.to_dict(), "data": data_tag}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def data_tag(ds) -> str:
    return f"ml-{ds.variant}/{ds.source}"


@dataclass
class Run:
    """A saved run: what the pages and the CLI show and serve from."""

    run_id: str
    config: TrainConfig
    history: list
    metrics: dict
    seconds: float
    best_epoch: int
    created: float
    data: str
    path: Path
    versions: dict

    _vectors: tuple | None = None

    @property
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(user_vectors [U, d], movie_vectors [C, d]), read on first use."""
        if self._vectors is None:
            with np.load(self.path / "vectors.npz") as z:
                self._vectors = (z["user_vectors"], z["movie_vectors"])
        return self._vectors

    def label(self) -> str:
        top = self.metrics["model"]["test"]["top_100"]
        return f"{self.config.label()} · top-100 {top:.3f}"

    def summary(self) -> dict:
        return {"run_id": self.run_id, "config": self.config.to_dict(), "metrics": self.metrics,
                "seconds": self.seconds, "created": self.created, "data": self.data}


def _versions() -> dict:
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "tensorflow_recommenders": tfrs.__version__, "numpy": np.__version__}


def save(result, ds, root: Path | None = None) -> Run:
    """Save a ``TrainResult`` atomically; returns the saved ``Run``."""
    root = Path(root or runs_dir())
    rid = run_id(result.config, data_tag(ds))
    final = root / rid
    meta = {
        "format": FORMAT, "run_id": rid, "config": result.config.to_dict(), "history": result.history,
        "metrics": result.metrics, "seconds": result.seconds, "best_epoch": result.best_epoch,
        "created": time.time(), "data": data_tag(ds), "versions": _versions(),
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{rid}-", dir=root))
    try:
        np.savez(tmp / "vectors.npz", user_vectors=result.user_vectors, movie_vectors=result.movie_vectors)
        if result.model is not None:
            result.model.save_weights(str(tmp / "weights" / "ckpt"))
        (tmp / "run.json").write_text(json.dumps(meta, indent=1))
        _fsync_dir(tmp)
        if final.exists():  # the same config was saved meanwhile: keep the one already there
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load(rid, root)


def _fsync_dir(path: Path) -> None:
    for p in list(path.iterdir()) + [path]:
        try:
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        except OSError:
            pass


def load(rid: str, root: Path | None = None) -> Run:
    """Load a saved run by id (or a unique id prefix); ``UserError`` if there is none."""
    root = Path(root or runs_dir())
    path = root / rid
    if not (path / "run.json").exists():
        matches = [p for p in root.glob(f"{rid}*") if p.is_dir() and not p.name.startswith(".")] if rid else []
        if len(matches) != 1:
            raise UserError(f"no saved run {rid!r} (see `python -m recsys runs`)")
        path = matches[0]
    try:
        meta = json.loads((path / "run.json").read_text())
        return Run(run_id=meta["run_id"], config=TrainConfig.from_dict(meta["config"]), history=meta["history"],
                   metrics=meta["metrics"], seconds=meta["seconds"], best_epoch=meta["best_epoch"],
                   created=meta["created"], data=meta["data"], path=path, versions=meta.get("versions", {}))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"run {path.name} is damaged ({type(e).__name__}: {e})")


def find(config: TrainConfig, ds, root: Path | None = None) -> Run | None:
    """The saved run with exactly these settings on this data, if any."""
    try:
        return load(run_id(config, data_tag(ds)), root)
    except UserError:
        return None


def list_runs(root: Path | None = None) -> list[Run]:
    """All complete runs, newest first; damaged or foreign folders are skipped with a warning."""
    root = Path(root or runs_dir())
    out = []
    for p in root.iterdir() if root.exists() else []:
        if not p.is_dir() or p.name.startswith("."):
            continue
        try:
            out.append(load(p.name, root))
        except UserError as e:
            log.warning("skipping %s: %s", p, e)
    return sorted(out, key=lambda r: r.created, reverse=True)


def delete(rid: str, root: Path | None = None) -> None:
    run = load(rid, root)
    trash = run.path.with_name(f".del-{run.path.name}-{os.getpid()}")
    os.rename(run.path, trash)  # disappears from listings at once, then is removed
    shutil.rmtree(trash, ignore_errors=True)


def train_or_load(config: TrainConfig, ds=None, callback=None, root: Path | None = None) -> tuple[Run, bool]:
    """The saved run for this config if there is one (reused=True), else train and save it."""
    from . import train

    config = config.validate()
    ds = ds or train.load_dataset(config.variant)
    found = find(config, ds, root)
    if found is not None:
        return found, True
    result = train.fit(config, ds, callback)
    return save(result, ds, root), False
