"""Saved training runs under ``$RECSYS_HOME/runs/<run_id>/``.

A run directory holds ``run.json`` (its kind, config, per-epoch history, final metrics of
the model and the baselines, timings, library versions), ``vectors.npz`` (every user's and
every movie's vector: all that serving and evaluation need) and ``weights/`` (the Keras
checkpoint). Three kinds of run share the store (one table of kinds: ``recsys/store/kinds.py``):
``retrieval`` (the two-tower user -> movie model of a ``TrainConfig``), ``item_to_item`` (movie ->
movie, an ``ItemToItemConfig``; its "user" vectors are each movie's query vector) and ``ranking``
(the stars a user gives a movie, a ``RankingConfig``; its ``vectors.npz`` also holds the biases
and the MLP's weights, all that ``recsys/serving/ranking.py: Ranker`` needs to predict in NumPy).
It is written to a hidden temporary folder and renamed into place, so a run is either complete
or absent, whatever kills the process.

The run id is a hash of the config and the dataset, so asking for the same settings and
seed again finds the earlier run instead of retraining.

Listing is defensive: a folder that is not a complete run (damaged, foreign, copied under
another name) is skipped with a warning. Reading never changes the folder: hidden leftovers
of killed processes older than an hour are removed when a run is saved or deleted (see
``recsys/atomic.py``).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import platform
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recsys import atomic
from recsys.config import ItemToItemConfig, RankingConfig, TrainConfig
from recsys.errors import UserError
from recsys.paths import runs_dir
from recsys.store import kinds

log = logging.getLogger(__name__)
FORMAT = 1
KINDS = {name: k.settings for name, k in kinds.KINDS.items()}  # run.json "kind" -> its settings (store/kinds.py)
VECTOR_KEYS = {name: k.query_vectors for name, k in kinds.KINDS.items()}  # the query side in vectors.npz


def kind_of(config) -> str:
    return kinds.kind_of(config).name


def run_id(config, data_tag: str, strategy: str = "") -> str:
    """Hash of (config incl. seed, dataset): equal settings on equal data share an id.

    ``strategy`` (e.g. ``"mirrored x2"``, see recsys/training/distributed.py) is part of the hash when set:
    replicas see fewer in-batch negatives, so it is a different training. Retrieval runs hash
    no kind (their ids predate the item-to-item kind and must stay the same).
    """
    key = {"config": config.identity(), "data": data_tag}
    if kind_of(config) != "retrieval":
        key["kind"] = kind_of(config)
    if strategy:
        key["strategy"] = strategy
    if getattr(config, "user_history", False):  # serving uses the whole training history now (was: fitted only)
        key["history"] = "all training ratings when serving"
    if getattr(config, "user_id_dropout", 0):  # serving scales the id by 1 - p (model/two_tower.py); runs saved before did not: other ids
        key["id_dropout"] = "scaled when serving"
    blob = json.dumps(key, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def data_tag(ds) -> str:
    return f"ml-{ds.variant}/{ds.source}"


@dataclass
class Run:
    """A saved run: what the pages and the CLI show and serve from."""

    run_id: str
    config: TrainConfig | ItemToItemConfig | RankingConfig
    history: list
    metrics: dict
    seconds: float
    best_epoch: int
    created: float
    data: str
    path: Path
    versions: dict
    strategy: str = ""
    kind: str = "retrieval"

    _vectors: tuple | None = None
    _encoder: dict | None = None
    _ranker: object = None

    @property
    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(user_vectors [U, d], movie_vectors [C, d]), read on first use.

        For an item-to-item run: (query_vectors [C, d], movie_vectors [C, d]), the two towers.
        For a ranking run: the MLP's inputs, each user's and each movie's vector (``ranker`` predicts stars).
        """
        if self._vectors is None:
            try:
                with np.load(self.path / "vectors.npz") as z:
                    self._vectors = (z[VECTOR_KEYS[self.kind]], z["movie_vectors"])
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
                raise UserError(f"run {self.run_id}: vectors.npz is damaged ({type(e).__name__}: {e})") from None
        return self._vectors

    def encoder(self) -> dict | None:
        """A ``history_encoder`` run's encoder arrays (``recsys/model/fold_in.py``), else None."""
        if self.kind != "retrieval" or not getattr(self.config, "history_encoder", False):
            return None
        from recsys.model.fold_in import PREFIX

        if self._encoder is None:
            try:
                with np.load(self.path / "vectors.npz") as z:
                    self._encoder = {k: z[k] for k in z.files if k.startswith(PREFIX)}
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                raise UserError(f"run {self.run_id}: vectors.npz is damaged ({type(e).__name__}: {e})") from None
        return self._encoder or None

    def vectors_for(self, ds) -> tuple[np.ndarray, np.ndarray]:
        """``vectors``, checked against ``ds``: one vector per user and per title of that dataset."""
        users, movies = self.vectors
        queries = len(ds.titles) if self.kind == "item_to_item" else len(ds.user_ids)
        if len(movies) != len(ds.titles) or len(users) != queries:
            raise UserError(f"run {self.run_id} was trained on other data ({self.data})")
        return users, movies

    def ranker(self):
        """A ranking run's ``serving.ranking.Ranker``: ``run.ranker().predict(user_idx, movie_idx)`` -> stars."""
        if self.kind != "ranking":
            raise UserError(f"run {self.run_id} is a {self.kind} run, not a ranking run")
        if self._ranker is None:
            from recsys.serving.ranking import Ranker

            self._ranker = Ranker.load(self.path)
        return self._ranker

    def label(self) -> str:
        """Its settings and its kind's headline number: ``… · top-100 0.389``, ``… · RMSE 0.9111``."""
        return f"{self.config.label()} · {kinds.KINDS[self.kind].headline_text(self.metrics)}"

    def summary(self) -> dict:
        out = {"run_id": self.run_id, "kind": self.kind, "config": self.config.to_dict(), "metrics": self.metrics,
               "seconds": self.seconds, "created": self.created, "data": self.data}
        if self.strategy:
            out["strategy"] = self.strategy
        return out


def _versions() -> dict:
    """Library versions, from the installed packages' metadata (saving needs no TensorFlow)."""
    from importlib import metadata

    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {"python": platform.python_version(), "tensorflow": version("tensorflow"),
            "tensorflow_recommenders": version("tensorflow-recommenders"), "numpy": np.__version__}


def save(result, ds, root: Path | None = None) -> Run:
    """Save a ``TrainResult`` (or an ``ItemToItemResult``, a ``RankingResult``) atomically; returns the ``Run``.

    Everything is written into a hidden ``.tmp-*`` folder, flushed, and renamed into place
    in one step, so a kill at any moment leaves either the complete run or no run. If
    another process saved the same run id meanwhile, its copy is kept and ours dropped.
    """
    root = Path(root or runs_dir())
    strategy = getattr(result, "strategy", "") or ""
    rid = run_id(result.config, data_tag(ds), strategy)
    kind = kind_of(result.config)
    final = root / rid
    meta = {
        "format": FORMAT, "run_id": rid, "kind": kind, "config": result.config.to_dict(), "history": result.history,
        "metrics": result.metrics, "seconds": result.seconds, "best_epoch": result.best_epoch,
        "created": time.time(), "data": data_tag(ds), "versions": _versions(),
    }
    if strategy:
        meta["strategy"] = strategy
    atomic.clean_leftovers(root)  # hidden folders of writers killed over an hour ago
    with atomic.staging(root, prefix=f".tmp-{rid}-") as tmp:
        if kind == "ranking":  # the towers' outputs, the biases and the MLP (RankingModel.arrays)
            np.savez(tmp / "vectors.npz", **result.arrays)
        else:
            queries = result.user_vectors if kind == "retrieval" else result.query_vectors
            np.savez(tmp / "vectors.npz", **{VECTOR_KEYS[kind]: queries, "movie_vectors": result.movie_vectors},
                     **(getattr(result, "encoder", None) or {}))  # a history encoder's layers (model/fold_in.py)
        if result.model is not None:
            result.model.save_weights(str(tmp / "weights" / "ckpt"))
        (tmp / "run.json").write_text(json.dumps(meta, indent=1))  # written last: its presence means done
    try:
        _put_in_place(tmp, final)
    except BaseException:
        atomic.discard(tmp)
        raise
    return load(rid, root)


_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def path_of(rid: str, root: Path | None = None) -> Path:
    """The folder of a saved run by id (or a unique id prefix), without reading it; ``UserError`` if none."""
    root = Path(root or runs_dir())
    rid = str(rid).strip()
    if not _RUN_ID.fullmatch(rid):
        raise UserError(f"{rid!r} is not a run id (see `python -m recsys runs`)")
    path = root / rid
    if not (path / "run.json").exists():
        matches = [p for p in root.iterdir() if p.name.startswith(rid) and p.is_dir()
                   and not p.name.startswith(".")] if root.exists() else []
        if len(matches) != 1:
            raise UserError(f"no saved run {rid!r} (see `python -m recsys runs`)")
        path = matches[0]
    return path


def load(rid: str, root: Path | None = None) -> Run:
    """Load a saved run by id (or a unique id prefix); ``UserError`` if there is none."""
    return read_dir(path_of(rid, root))


def file_stamp(path: Path) -> tuple:
    """Size and time of a run folder's two files: another run saved under the same name changes it."""
    try:
        return tuple((f.st_mtime_ns, f.st_size, f.st_ino) for f in ((path / "run.json").stat(),
                                                                     (path / "vectors.npz").stat()))
    except OSError:
        return ()


def read_dir(path: Path) -> Run:
    """Read one run folder, checking that it is complete: ``UserError`` says what is wrong.

    Only run.json is parsed and the zip directory of vectors.npz read; the vectors
    themselves are read on first use (``Run.vectors``).
    """
    try:
        meta = json.loads((path / "run.json").read_text())
        if not isinstance(meta, dict):
            raise TypeError("run.json does not hold an object")
        if meta["run_id"] != path.name:
            raise ValueError(f"run.json belongs to run {meta['run_id']!r}, not to this folder")
        kind = meta.get("kind", "retrieval")  # runs saved before the kind existed are retrieval runs
        if kind not in KINDS:
            raise ValueError(f"unknown kind of run {kind!r}")
        for needed in kinds.KINDS[kind].required:  # the numbers a complete run of this kind holds
            if kinds.lookup(meta["metrics"], needed) is None:
                raise KeyError(f"its metrics lack {'/'.join(needed)}")
            float(kinds.lookup(meta["metrics"], needed))
        try:
            with zipfile.ZipFile(path / "vectors.npz") as z:  # reads the zip's directory only
                missing = {f"{VECTOR_KEYS[kind]}.npy", "movie_vectors.npy"} - set(z.namelist())
        except (OSError, zipfile.BadZipFile) as e:
            raise ValueError(f"vectors.npz is unreadable ({e})") from None
        if missing:
            raise KeyError(f"vectors.npz lacks {', '.join(sorted(missing))}")
        config = KINDS[kind].from_dict(meta["config"]).validate()
        return Run(run_id=meta["run_id"], config=config, history=list(meta["history"]),
                   metrics=meta["metrics"], seconds=float(meta["seconds"]), best_epoch=int(meta["best_epoch"]),
                   created=float(meta["created"]), data=str(meta["data"]), path=path,
                   versions=meta.get("versions", {}), strategy=str(meta.get("strategy", "")), kind=kind)
    except UserError as e:
        raise UserError(f"run {path.name} is damaged ({e})") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as e:
        raise UserError(f"run {path.name} is damaged ({type(e).__name__}: {e})") from None


def _put_in_place(tmp: Path, final: Path) -> None:
    """Rename a finished run folder to its name; what to do when the name is taken."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final.exists() or final.is_symlink()):
            raise
        if _complete(final):
            atomic.discard(tmp)  # the same config was saved meanwhile: keep the one already there
        else:  # something foreign or damaged holds the name: keep it, aside, and put the run in place
            aside = final.with_name(f".foreign-{final.name}-{time.time_ns()}")
            log.warning("moved %s aside to %s: it is not a complete run and the new run needs its name",
                        final, aside.name)
            os.rename(final, aside)
            os.rename(tmp, final)


def _complete(path: Path) -> bool:
    """Whether ``path`` is a complete, readable run folder."""
    try:
        read_dir(path)
        return True
    except UserError:
        return False


def find(config, ds, root: Path | None = None, strategy: str = "") -> Run | None:
    """The saved run with exactly these settings on this data, if any."""
    root = Path(root or runs_dir())
    path = root / run_id(config, data_tag(ds), strategy)
    if not path.is_dir():
        return None
    try:
        return read_dir(path)
    except UserError as e:
        log.warning("ignoring %s: %s", path, e)
        return None


def list_runs(root: Path | None = None, kind: str | None = "retrieval") -> list[Run]:
    """All complete runs of ``kind`` (None: every kind), newest first; damaged or foreign folders are skipped.

    Hidden folders are never runs: ``.tmp-*`` are being written (or were, by a killed
    process: ``save`` removes those older than an hour) and ``.del-*`` are being deleted.
    """
    root = Path(root or runs_dir())
    out = []
    for p in root.iterdir() if root.exists() else []:
        if p.name.startswith("."):
            continue
        if not p.is_dir():
            log.warning("skipping %s: not a run folder", p)
            continue
        try:
            run = read_dir(p)
        except UserError as e:
            log.warning("skipping %s: %s", p, e)
            continue
        if kind is None or run.kind == kind:
            out.append(run)
    return sorted(out, key=lambda r: r.created, reverse=True)


def item_runs_for(run: Run, root: Path | None = None, among: list | None = None) -> list[Run]:
    """The item-to-item runs on ``run``'s data and split: scored on the same held-out ratings.

    ``among``: the item-to-item runs to choose from (default: every saved one). Ordered as ``companions``.
    """
    return companions(run, "item_to_item", list_runs(root, kind="item_to_item") if among is None else among)


def companions(run: Run, kind: str, among: list[Run]) -> list[Run]:
    """The runs of ``among`` on ``run``'s data and split; *Our best* of ``kind`` first, then newest first.

    What the Recommend page shows beside a retrieval run (its item-to-item column, its second
    stage): by default the run ``python -m recsys ready`` trains (``kinds.companion``), else the newest.
    """
    same = [r for r in among if r.data == run.data and r.config.split_of() == run.config.split_of()]
    best = run_id(kinds.companion(kind, run.config), run.data)
    return sorted(same, key=lambda r: (r.run_id != best, -r.created))


def delete(rid: str, root: Path | None = None) -> None:
    run = load(rid, root)
    atomic.discard(run.path)  # renamed away first: it disappears from listings at once
    atomic.clean_leftovers(run.path.parent)


def item_to_item_metrics(run: Run, ds) -> dict:
    """``run.metrics["item_to_item"]``: the held-out hit rates of its movie tower beside the baselines'.

    Runs saved before item-to-item was measured get them computed here from their vectors
    (a fraction of a second; nothing is written: reading never changes a run).
    """
    if "item_to_item" in run.metrics:
        return run.metrics["item_to_item"]
    from recsys.evaluation import item_to_item as i2i
    from recsys.data import prepared

    space = i2i.similarity_space(run.vectors_for(ds)[1], run.config.movie_bias, run.encoder())
    return i2i.evaluate(prepared.prepare(ds, run.config), i2i.embedding_scores(space), "two_tower")


def folder_stamp(root: Path | None = None) -> tuple:
    """What the runs folder looks like now, cheaply: changes whenever a run is added or removed.

    Saving and deleting rename entries of the folder, which changes its modification time;
    a run's own files never change once it is in place. The app keys its listing on this.
    """
    root = Path(root or runs_dir())
    try:
        st = root.stat()
    except OSError:
        return (str(root), None)
    return (str(root), st.st_mtime_ns, st.st_ino)


def train_or_load(config, ds=None, callback=None, root: Path | None = None,
                  strategy=None) -> tuple[Run, bool]:
    """The saved run for this config if there is one (reused=True), else train and save it.

    ``config``: a ``TrainConfig`` (a retrieval run), an ``ItemToItemConfig`` (an item-to-item run) or a
    ``RankingConfig`` (a ranking run).

    ``strategy``: a ``tf.distribute`` strategy (see recsys/training/distributed.py). With several workers
    every worker must train (they run each step together), so nothing is reused; only the
    chief saves into ``root``, the other workers into a throwaway folder, as TensorFlow's
    multi-worker checkpointing does.
    """
    from recsys.data import prepared
    from recsys.training import train

    config = config.validate()
    ds = ds or prepared.load_dataset(config.variant)
    tag = ""
    if strategy is not None:
        from recsys.training import distributed

        tag = distributed.describe(strategy)
        if distributed.is_multiworker(strategy):
            result = train.fit(config, ds, callback, strategy=strategy)
            if not distributed.is_chief(strategy):
                root = Path(tempfile.mkdtemp(prefix="recsys-worker-"))
            return save(result, ds, root), False
    found = find(config, ds, root, tag)
    if found is not None:
        return found, True
    kind = kinds.kind_of(config)
    if kind.name != "retrieval":  # only the retrieval model has a tf.distribute path
        if strategy is not None:
            raise UserError(f"the {kind.noun.removesuffix(' run')} model trains on one device (no --strategy)")
        return save(importlib.import_module(kind.trainer).fit(config, ds, callback), ds, root), False
    strong = split_baselines(config, ds)  # first, so that a page can draw them while the model trains
    result = train.fit(config, ds, callback, strategy=strategy)
    result.metrics.update(strong)
    return save(result, ds, root), False


def split_baselines(config, ds) -> dict:
    """EASE, item-kNN and iALS on ``config``'s split (``recsys/training/baselines.py``: tuned once, kept on disk)."""
    from recsys.training import baselines

    found = baselines.for_split(ds, config.split, config.split_fraction, config.seed)
    return {name: {"test": r["test"], "test_filtered": r["test_filtered"], "params": r["params"]}
            for name, r in found.items()}


def with_baselines(run: Run, ds) -> dict:
    """``run.metrics`` with the strong baselines of its split (computed for runs saved before they were stored)."""
    if run.kind != "retrieval" or all(name in run.metrics for name in ("ease", "itemknn", "ials")):
        return run.metrics
    return {**run.metrics, **split_baselines(run.config, ds)}
