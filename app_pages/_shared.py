"""What every page shares: cached backend objects and the sidebar's active-run selector.

Caching lives here, at the edge: `st.cache_resource` for the dataset, trained runs and
indexes (shared by all sessions, never copied), `st.session_state` for what one user picked.

Many sessions, one server process: training goes through one ``recsys.jobs.JobQueue`` per
server (identical settings train once, one training at a time by default, the others queue),
and what the server keeps in memory is capped (least recently used dropped first).
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict

import streamlit as st

from recsys import jobs, runs, train
from recsys.errors import UserError

RUN_KEY = "active_run"
PENDING_RUN_KEY = "_pending_active_run"  # set by a page; the sidebar selects it on the next run
WATCHER_KEY = "_watcher_id"  # this session's id in the training queue
POLL_SECONDS = 0.25          # how often a waiting page reads its training job's progress
RUNS_IN_MEMORY = 32          # loaded runs kept by the server (least recently used dropped first)
RECOMMENDERS_IN_MEMORY = 8   # (run, ScaNN setting) indexes kept by the server


@st.cache_resource(show_spinner="Loading MovieLens 100k…")
def dataset(variant: str = "100k"):
    return train.load_dataset(variant)


# st.cache_resource(max_entries=N) evicts the least recently used entry when full: its store
# is Streamlit's TTLCache, "LRU cache with a uniform per-item time-to-live", where reads and
# writes refresh recency (streamlit/runtime/caching/ttl_cache.py; checked in tests/test_app.py).
@st.cache_resource(show_spinner=False, max_entries=RECOMMENDERS_IN_MEMORY)
def recommender(run_id: str, scann_params=None):
    """A run's BruteForce + ScaNN indexes, built once per (run, ScaNN setting), shared by all sessions."""
    from recsys.recommend import Recommender

    run = load_run(run_id)
    return Recommender(run, dataset(run.config.variant), scann_params)


def saved_runs():
    return runs.list_runs()


def sidebar() -> None:
    """The active run: newest first, labelled by config and test top-100."""
    with st.sidebar:
        st.subheader("Active run")
        try:
            items = saved_runs()
        except UserError as e:  # e.g. the runs folder cannot be created
            st.error(str(e), icon="⚠️")
            st.session_state.pop(RUN_KEY, None)
            return
        if not items:
            st.info("No trained run yet.")
            st.page_link("app_pages/train.py", label="Train one", icon="🏋️")
            st.session_state.pop(RUN_KEY, None)
            return
        ids = [r.run_id for r in items]
        labels = {r.run_id: r.label() for r in items}
        pending = st.session_state.pop(PENDING_RUN_KEY, None)
        if pending in ids:
            st.session_state[RUN_KEY] = pending
        current = st.session_state.get(RUN_KEY)
        if current not in ids:
            st.session_state[RUN_KEY] = ids[0]
        st.selectbox("Run", ids, key=RUN_KEY, format_func=lambda i: labels[i], label_visibility="collapsed")
        st.caption(f"`{st.session_state[RUN_KEY]}` · {labels[st.session_state[RUN_KEY]]}")


def active_run():
    """The selected saved run, or None (after telling the user to train one)."""
    rid = st.session_state.get(RUN_KEY)
    if rid is None:
        st.info("No trained run yet: train one on the Train page first.")
        st.page_link("app_pages/train.py", label="Go to Train", icon="🏋️")
        return None
    try:
        return load_run(rid)
    except UserError as e:
        st.error(str(e))
        return None


def require_run_and_data():
    """``(run, ds)`` for a page that needs the active run and its dataset; else a message and ``st.stop()``."""
    run = active_run()
    if run is None:
        st.stop()
    try:
        ds = dataset(run.config.variant)
        run.vectors_for(ds)  # a run trained on other data is a message here, not a crash further down
    except UserError as e:
        show_error(e)
        st.stop()
    return run, ds


def show_error(e: Exception) -> None:
    st.error(str(e), icon="⚠️")


def set_active_run(run_id: str) -> None:
    """Make ``run_id`` the sidebar's active run from the next script run on (call ``st.rerun()``).

    The sidebar's selectbox has already been drawn in this run, so its value cannot be
    changed now; the sidebar picks this up before drawing it next time.
    """
    st.session_state[PENDING_RUN_KEY] = run_id


class _ServerRuns:
    """The last runs trained or loaded by any session of this server (at most ``cap``, LRU).

    Only to tell the user "from this server's memory" and to reuse the loaded ``Run`` (whose
    vectors are read once); the least recently used entry goes first, so memory stays bounded.
    """

    def __init__(self, cap: int = RUNS_IN_MEMORY):
        self.cap = cap
        self._lock = threading.Lock()
        self._runs: OrderedDict = OrderedDict()

    def get(self, run_id: str):
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                self._runs.move_to_end(run_id)
            return run

    def put(self, run) -> None:
        with self._lock:
            self._runs[run.run_id] = run
            self._runs.move_to_end(run.run_id)
            while len(self._runs) > self.cap:
                self._runs.popitem(last=False)

    def __len__(self) -> int:
        return len(self._runs)


@st.cache_resource(show_spinner=False)
def _server_runs() -> _ServerRuns:
    return _ServerRuns()


@st.cache_resource(show_spinner=False)
def job_queue() -> jobs.JobQueue:
    """The server's one training queue (``$RECSYS_MAX_TRAININGS`` trainings at a time, default 1)."""
    return jobs.JobQueue()


def watcher_id() -> str:
    """This browser session's id in the training queue (a random id kept in its session state)."""
    if WATCHER_KEY not in st.session_state:
        st.session_state[WATCHER_KEY] = uuid.uuid4().hex
    return st.session_state[WATCHER_KEY]


def submit(config, ds) -> jobs.Job:
    """Queue ``config`` for training (or join the same config already queued, or load it if saved)."""
    return job_queue().submit(config, ds, watcher=watcher_id())


def cancel(job: jobs.Job) -> None:
    """This session stops waiting for ``job``; the job is cancelled if no other session waits for it."""
    job_queue().cancel(job, watcher_id())


def follow(job: jobs.Job, callback=None, on_wait=None, poll: float = POLL_SECONDS):
    """Wait for ``job``, replaying its progress to ``callback``; ``(run, how)`` once it is done.

    Every ``poll`` seconds the job's snapshot is read: the latest batch goes to
    ``callback.on_batch``, each new epoch record to ``callback.on_epoch``. While the job is
    queued, ``on_wait(ahead, seconds)`` is called each time (``ahead``: jobs that train before
    it). ``how`` is "server" (this server
    had it in memory), "disk" (saved before) or "trained". A failed or cancelled job raises
    ``UserError`` with its message.

    Streamlit interrupts a script only when it draws something, so ``callback`` or ``on_wait``
    should draw on every call: then a click (Cancel, a widget) stops this wait at once; the
    job itself keeps training for the other sessions that watch it.
    """
    queue = job_queue()
    server = _server_runs()
    if job.state == "done" and job.reused:
        known = server.get(job.run_id)
        if known is not None and (known.path / "run.json").exists():
            return known, "server"
        server.put(job.run)
        return job.run, "disk"
    began, epochs_seen, last_step = time.monotonic(), 0, None
    while True:
        snap = job.snapshot()
        if callback is not None:
            for record in snap["history"][epochs_seen:]:
                callback.on_epoch(record)
            epochs_seen = len(snap["history"])
            step = (snap["epoch"], snap["step"])
            if snap["steps"] and step != last_step:
                last_step = step
                callback.on_batch(snap["epoch"], snap["step"], snap["steps"], snap["loss"])
        if snap["state"] == "queued" and on_wait is not None:
            on_wait(queue.ahead(job), time.monotonic() - began)
        if snap["state"] in ("done", "failed", "cancelled"):
            break
        time.sleep(poll)
    if snap["state"] == "failed":
        raise UserError(snap["error"] or "training failed")
    if snap["state"] == "cancelled":
        raise UserError("the training was cancelled")
    server.put(job.run)
    return job.run, "disk" if job.reused else "trained"


def load_run(run_id: str):
    """A saved run, from this server's memory when a session loaded it before (vectors read once)."""
    known = _server_runs().get(run_id)
    if known is not None and (known.path / "run.json").exists():
        return known
    run = runs.load(run_id)
    _server_runs().put(run)
    return run


def in_memory(config, ds):
    """The saved run of ``config`` if this server holds it in memory (and it is still on disk), else None."""
    known = _server_runs().get(runs.run_id(config.validate(), runs.data_tag(ds)))
    return known if known is not None and (known.path / "run.json").exists() else None


def train_or_load(config, ds, callback=None, on_wait=None):
    """``(run, how)``: ``how`` is "server" (in this server's memory), "disk" (saved before) or "trained".

    Goes through the server's training queue: a config another session is training is
    joined (trained once, both get the run), a new one waits for its turn. ``callback``
    receives the progress (``train.Callback``), ``on_wait(ahead, seconds)`` is called while
    queued (see ``follow``). If this script run is interrupted (the user clicked elsewhere),
    this session stops watching; the job goes on only if another session still watches it.
    """
    known = in_memory(config, ds)
    if known is not None:
        return known, "server"
    job = submit(config, ds)
    done = False
    try:
        result = follow(job, callback, on_wait)
        done = True
        return result
    finally:
        if not done:
            cancel(job)
