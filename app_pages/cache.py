"""Everything the app keeps in memory, in one place: Streamlit's caches, shared by all sessions.

Streamlit serves every browser session from one process, so what is cached here is cached
once for the whole server, and each cached function computes a key once even when many
sessions ask at the same moment (Streamlit holds a lock per key). Two kinds:

- ``st.cache_resource(max_entries=N)``: one shared object per key (a dataset, a saved run
  with its vectors, an index, the training queue), never copied. Full means the least
  recently used entry goes first (its store is an LRU cache; checked in tests/test_pages.py).
  The pages never replace them. Two change in place, and say so where they are made: a
  run's ``Recommender`` measures its latency again over time, and the ANN lab's workload
  refreshes its brute-force timings.
- ``st.cache_data``: values copied out to each caller (frames, coordinates), safe to change.

Keys carry what makes an entry stale: a run is keyed by its id *and* the stamp of its files,
the run list by the stamp of the runs folder, so a run deleted or trained meanwhile is never
served from memory. Reading never writes: a listing deletes nothing (leftovers of killed
writers are swept when a run is saved or deleted, ``recsys/store/runs.py``).

The backend below (``recsys/``) keeps small process-wide LRU memos of its own, for the CLI and
the training worker: the loaded dataset (``prepared.load_dataset``), and what is computed once
per split (``prepared.prepare``, the popularity baseline, the item-to-item queries, the
ranking baselines, the tuned strong baselines).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from recsys import data
from recsys.config import TrainConfig
from recsys.paths import runs_dir
from recsys.server import jobs
from recsys.store import runs
from recsys.data import prepared
from recsys.evaluation import baselines

RUNS_IN_MEMORY = 32          # loaded runs (with their vectors) kept by the server
RECOMMENDERS_IN_MEMORY = 8   # (run, ScaNN setting) pairs of BruteForce + ScaNN indexes
SCANN_BUILDS = 4             # ANN-lab indexes: at 1M candidates each holds ~150 MB
LATENCY_QUERIES = 200        # ANN lab: queries timed one at a time


# ----------------------------------------------------------------------------- data


@st.cache_resource(show_spinner="Loading MovieLens…", max_entries=4)
def dataset(variant: str = "100k") -> data.Dataset:
    """A MovieLens dataset (the auto source: parsed cache first), loaded once per server."""
    return data.load(variant=variant)


@st.cache_resource(show_spinner=False, max_entries=4)
def user_labels(variant: str) -> dict:
    """The Recommend page's user picker labels, once per dataset (not on every rerun)."""
    from recsys.serving.recommend import user_labels as labels

    return labels(dataset(variant))


def dataset_or_problem(variant: str) -> tuple:
    """``(dataset, None)``, or ``(None, why it cannot be loaded)``: a page asks without a traceback.

    A failure is remembered for half a minute (``_problem``), so a page rerun does not try every
    source again; once the files are there, the next try loads them.
    """
    problem = _problem(variant)
    return (None, problem) if problem else (dataset(variant), None)


@st.cache_data(show_spinner=False, ttl=30, max_entries=8)
def _problem(variant: str) -> str | None:
    from recsys.errors import UserError

    try:
        dataset(variant)
    except UserError as e:
        return str(e)
    return None


@st.cache_data(show_spinner=False, max_entries=16)
def popularity(variant: str, split: str, split_fraction: float, seed: int, validation_fraction: float) -> dict:
    """The popularity baseline's metrics on one split (the dashed lines of the Train page's chart)."""
    config = TrainConfig(variant=variant, split=split, split_fraction=split_fraction, seed=seed,
                         validation_fraction=validation_fraction)
    return baselines.popularity_of(prepared.prepare(dataset(variant), config))


@st.cache_data(show_spinner=False, max_entries=16)
def item_to_item_baselines(variant: str, split: str, split_fraction: float, seed: int) -> dict:
    """The popularity list's and item-kNN's held-out hit rates on one split (the item-to-item chart's references)."""
    from recsys.evaluation import item_to_item

    config = TrainConfig(variant=variant, split=split, split_fraction=split_fraction, seed=seed)
    return item_to_item.held_out(prepared.prepare(dataset(variant), config))[1]


# ----------------------------------------------------------------------------- runs


def saved_runs() -> list:
    """Every saved retrieval run, newest first; parsed again only when the runs folder changed."""
    return saved_runs_of("retrieval")


def saved_runs_of(kind: str) -> list:
    """Every saved run of ``kind`` (a ``recsys/store/kinds.py`` name), newest first."""
    return _listing(runs.folder_stamp(runs_dir()), kind=kind)


def saved_item_runs() -> list:
    """Every saved item-to-item run, newest first."""
    return saved_runs_of("item_to_item")


@st.cache_resource(show_spinner=False, max_entries=8)
def _listing(stamp: tuple, kind: str = "retrieval") -> list:
    return runs.list_runs(Path(stamp[0]), kind=kind)


def run(run_id: str) -> runs.Run:
    """A saved run, its vectors read once for the whole server; ``UserError`` if it is gone or damaged."""
    path = runs.path_of(run_id)  # UserError if there is none; a deleted or replaced run is never served from memory
    return _run(path.name, runs.file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=RUNS_IN_MEMORY)
def _run(run_id: str, stamp: tuple) -> runs.Run:
    return runs.load(run_id)


@st.cache_resource(show_spinner=False, max_entries=RECOMMENDERS_IN_MEMORY)
def recommender(run_id: str, scann_params=None):
    """A run's BruteForce + ScaNN indexes, built once per (run, ScaNN setting)."""
    from recsys.serving.recommend import Recommender

    r = run(run_id)
    return Recommender(r, dataset(r.config.variant), scann_params)


def item_runs_for(run_id: str) -> list:
    """The item-to-item runs on a retrieval run's data and split, *Our best* first, then newest first."""
    return runs.companions(run(run_id), "item_to_item", saved_item_runs())


def saved_ranking_runs() -> list:
    """Every saved ranking run, newest first."""
    return saved_runs_of("ranking")


def ranking_runs_for(run_id: str) -> list:
    """The ranking runs on a retrieval run's data and split (they can re-rank its candidates), *Our best* first."""
    return runs.companions(run(run_id), "ranking", saved_ranking_runs())


@st.cache_resource(show_spinner=False, max_entries=8)
def ranker(run_id: str):
    """A ranking run's NumPy predictor (``serving.ranking.Ranker``)."""
    return run(run_id).ranker()


@st.cache_data(show_spinner="Scoring both stages for every test user…", max_entries=64)
def two_stage_metrics(retrieval_id: str, ranking_id: str, n: int) -> dict:
    """NDCG@10 of both stages and recall@N of retrieval for a pair of runs (kept on disk as well)."""
    from recsys.serving import two_stage

    r = run(retrieval_id)
    return two_stage.metrics(r, run(ranking_id), ranker(ranking_id), dataset(r.config.variant), n)


@st.cache_resource(show_spinner=False, max_entries=RECOMMENDERS_IN_MEMORY)
def similar_movies(item_run_id: str, scann_params=None):
    """An item-to-item run's BruteForce + ScaNN indexes over its candidate tower (cosine)."""
    from recsys.evaluation import item_to_item as i2i
    from recsys.serving.recommend import SimilarMovies

    r = run(item_run_id)
    ds = dataset(r.config.variant)
    return SimilarMovies(*i2i.item_space(*r.vectors_for(ds)), ds, scann_params)


@st.cache_data(show_spinner="Tuning EASE, item-kNN and iALS on this split (once)…", max_entries=32)
def run_metrics(run_id: str) -> dict:
    """A retrieval run's metrics with the strong baselines of its split (computed once per split for older runs)."""
    r = run(run_id)
    return runs.with_baselines(r, dataset(r.config.variant))


def strong_baselines_if_ready(config) -> dict | None:
    """EASE, item-kNN and iALS of ``config``'s split if already computed (a live chart does not wait for them)."""
    from recsys.training import baselines as strong

    found = strong.cached(dataset(config.variant), config.split, config.split_fraction, config.seed)
    return None if found is None else {name: r for name, r in found.items()}


@st.cache_data(show_spinner=False, max_entries=32)
def item_to_item_metrics(run_id: str) -> dict:
    """A retrieval run's held-out item-to-item hit rates and the baselines' (computed for older runs)."""
    r = run(run_id)
    return runs.item_to_item_metrics(r, dataset(r.config.variant))


@st.cache_data(show_spinner=False, max_entries=64)
def itemknn_neighbours(run_id: str, title: str, k: int) -> list:
    """Item-kNN's neighbours of ``title`` on a run's training ratings."""
    from recsys.serving.recommend import itemknn_neighbours as neighbours

    r = run(run_id)
    ds = dataset(r.config.variant)
    return neighbours(ds, prepared.prepare(ds, r.config), title, k)


# ----------------------------------------------------------------------------- training


@st.cache_resource(show_spinner=False)
def job_queue() -> jobs.JobQueue:
    """The server's one training queue (``$RECSYS_MAX_TRAININGS`` trainings at a time, default 1)."""
    return jobs.JobQueue()


# ----------------------------------------------------------------------------- ANN lab


# The ANN lab's code loads TensorFlow and ScaNN: imported when the lab first needs it, not at start-up.


@st.cache_resource(show_spinner="Building the catalog…", max_entries=3)
def catalog(run_id: str, kind: str, size: int):
    from recsys.bench import catalogs

    users, movies = run(run_id).vectors
    return catalogs.make(kind, size, movie_vectors=movies, user_vectors=users, seed=0)


@st.cache_resource(show_spinner="Measuring brute force…", max_entries=4)
def workload(run_id: str, kind: str, size: int, k: int, n_queries: int):
    """Queries, their exact answers and both brute forces measured, for one catalog and k (``ann.Workload``)."""
    from recsys.bench import ann

    return ann.prepare(catalog(run_id, kind, size), k, n_queries, LATENCY_QUERIES)


def scann_index(run_id: str, kind: str, size: int, params, k: int):
    """A ScaNN index of one catalog, shared by every session and by the sweep, per build setting.

    Only the build-time settings make an index: how many leaves are searched and how many
    candidates are re-scored are chosen per query (``ann.ScannIndex``), so they are not part
    of the key (arguments named ``_x`` are not hashed by Streamlit).
    """
    return _scann_index(run_id, kind, size, k, params.num_leaves, params.dimensions_per_block,
                        params.anisotropic_threshold, params.training_iterations, _params=params)


@st.cache_resource(show_spinner="Building ScaNN…", max_entries=SCANN_BUILDS)
def _scann_index(run_id, kind, size, k, leaves, dims_per_block, threshold, iterations, _params):
    from recsys.bench import ann

    return ann.ScannIndex(catalog(run_id, kind, size).vectors, _params, k, keep_layer=False)


@st.cache_data(show_spinner=False, max_entries=64)
def frontier_rows(run_id: str, kind: str, size: int, k: int, n_queries: int, library: str) -> list:
    """One library's frontier on one catalog (``field.library_frontier``): built, swept, its index dropped after."""
    from recsys.bench import field

    return field.library_frontier(workload(run_id, kind, size, k, n_queries), library, LATENCY_QUERIES)


# ----------------------------------------------------------------------------- embedding map


@st.cache_data(show_spinner="Projecting the vectors to 2-D…", max_entries=16)
def coordinates(run_id: str, method: str, with_users: bool) -> dict:
    """The run's vectors projected to 2-D (per run, method and whether users are included)."""
    from recsys.ui import embedding_map

    r = run(run_id)
    users, movies = embedding_map.spaces(*r.vectors, r.config.movie_bias, r.encoder())
    return embedding_map.project(movies, users if with_users else None, method)


@st.cache_data(show_spinner=False, max_entries=16)
def genre_agreement(run_id: str, k: int = 10) -> dict:
    """How often a movie's nearest neighbours share a genre with it (``embedding_map.genre_agreement``)."""
    from recsys.ui import embedding_map

    r = run(run_id)
    ds = dataset(r.config.variant)
    table = embedding_map.movie_table(ds)
    genres = ds.title_genres.reindex(ds.titles).fillna("").tolist()
    space = embedding_map.spaces(*r.vectors, r.config.movie_bias, r.encoder())[1]
    return embedding_map.genre_agreement(space, genres, k, 20, table["ratings"].to_numpy())
