"""What every page shares: the sidebar's active run, messages, and this session's place in the training queue.

What the server keeps in memory is ``app_pages/cache.py``; what one user picked lives in
``st.session_state`` (keys named here). Training goes through the server's one queue
(``recsys.server.jobs``): identical settings train once, one training at a time by default,
the others wait their turn.
"""
from __future__ import annotations

import uuid

import streamlit as st

from app_pages import cache
from recsys.errors import UserError
from recsys.experiments import sweep
from recsys.server import jobs
from recsys.store import runs

RUN_KEY = "active_run"
PENDING_RUN_KEY = "_pending_active_run"  # set by a page; the sidebar selects it on the next run
WATCHER_KEY = "_watcher_id"              # this session's id in the training queue
MINE_KEY = "_my_runs"                    # run ids this session trained (it may delete those)
ADMIN_KEY = "teacher_token"              # the sidebar's token field, when the server has one
TRAIN_PAGE = "app_pages/train.py"


def sidebar() -> None:
    """The active run: newest first, labelled by config and test top-100; the teacher's token, if the server has one."""
    with st.sidebar:
        teacher_field()
        st.subheader("Active run")
        try:
            items = cache.saved_runs()
        except UserError as e:  # e.g. the runs folder cannot be created
            st.error(str(e), icon="⚠️")
            st.session_state.pop(RUN_KEY, None)
            return
        if not items:
            st.info("No trained run yet.")
            st.page_link(TRAIN_PAGE, label="Train one", icon="🏋️")
            st.session_state.pop(RUN_KEY, None)
            return
        ids = [r.run_id for r in items]
        labels = {r.run_id: r.label() for r in items}
        pending = st.session_state.pop(PENDING_RUN_KEY, None)
        if pending in ids:
            st.session_state[RUN_KEY] = pending
        if st.session_state.get(RUN_KEY) not in ids:
            st.session_state[RUN_KEY] = ids[0]
        st.selectbox("Run", ids, key=RUN_KEY, format_func=lambda i: labels[i], label_visibility="collapsed")
        st.caption(f"`{st.session_state[RUN_KEY]}` · {labels[st.session_state[RUN_KEY]]}")


def teacher_field() -> None:
    """``$RECSYS_ADMIN_TOKEN`` set on the server: a field where the teacher types it once per session."""
    import os

    if os.environ.get("RECSYS_ADMIN_TOKEN"):
        with st.expander("Teacher", expanded=False):
            st.text_input("Teacher's token", type="password", key=ADMIN_KEY,
                          help="With the token the server was started with ($RECSYS_ADMIN_TOKEN), this session may "
                               "delete any run, not only the ones it trained.")
            if is_teacher():
                st.caption("Teacher: every run can be deleted from this session.")


def is_teacher() -> bool:
    """Whether this session typed the server's ``$RECSYS_ADMIN_TOKEN`` (never true when the server has none)."""
    import hmac
    import os

    token = os.environ.get("RECSYS_ADMIN_TOKEN", "")
    return bool(token) and hmac.compare_digest(str(st.session_state.get(ADMIN_KEY, "")), token)


def record_trained(run_id: str) -> None:
    """Remember that this session trained ``run_id``: it may delete it."""
    st.session_state.setdefault(MINE_KEY, set()).add(run_id)


def deletable(items: list) -> list:
    """The runs this session may delete: the ones it trained, or all of them for the teacher."""
    mine = st.session_state.get(MINE_KEY, set())
    return list(items) if is_teacher() else [r for r in items if r.run_id in mine]


def active_run():
    """The selected saved run, or None (after telling the user to train one)."""
    rid = st.session_state.get(RUN_KEY)
    if rid is None:
        st.info("No trained run yet: train one on the Train page first.")
        st.page_link(TRAIN_PAGE, label="Go to Train", icon="🏋️")
        return None
    try:
        return cache.run(rid)
    except UserError as e:
        st.error(str(e))
        return None


def require_run_and_data():
    """``(run, ds)`` for a page that needs the active run and its dataset; else a message and ``st.stop()``."""
    run = active_run()
    if run is None:
        st.stop()
    try:
        ds = cache.dataset(run.config.variant)
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


def mirror_in_url(wanted: dict, keys) -> None:
    """Write ``wanted`` into the URL's ``keys`` and drop those it lacks; only keys that change (history stays quiet)."""
    for name in keys:
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]


def watcher_id() -> str:
    """This browser session's id in the training queue (a random id kept in its session state)."""
    if WATCHER_KEY not in st.session_state:
        st.session_state[WATCHER_KEY] = uuid.uuid4().hex
    return st.session_state[WATCHER_KEY]


def submit(config, ds) -> jobs.Job:
    """Queue ``config`` for training (or join the same config already queued, or load it if saved)."""
    return cache.job_queue().submit(config, ds, watcher=watcher_id())


def cancel(job: jobs.Job) -> None:
    """This session stops waiting for ``job``; the job is cancelled if no other session waits for it."""
    cache.job_queue().cancel(job, watcher_id())


def train_or_load(config, ds, callback=None, on_wait=None) -> tuple[runs.Run, bool]:
    """``(run, reused)``, waiting here while the server's queue trains ``config`` (a sweep's cells).

    A config another session is training is joined (trained once, both get the run), a new
    one waits for its turn; ``callback`` gets the progress, ``on_wait(ahead, seconds)`` is
    called while queued. If this script run is interrupted (the user clicked elsewhere), this
    session stops watching; the job goes on only if another session still watches it.
    """
    job = submit(config, ds)
    done = False
    try:
        run, reused = cache.job_queue().follow(job, callback, on_wait)
        done = True
        if not reused:
            record_trained(run.run_id)
        return run, reused
    finally:
        if not done:
            cancel(job)


class PageProgress(sweep.SweepCallback):
    """A sweep's two bars (Compare's grid, the Ranking tab's multitask weights): the whole sweep, and the run
    being trained (batches of all its epochs)."""

    def __init__(self):
        self.overall = st.progress(0.0, text="Sweep")
        self.current = st.progress(0.0, text="Run")
        self.epochs = 1

    def on_run_start(self, i, n, config):
        self.i, self.n, self.epochs = i, n, config.epochs
        self.overall.progress(i / n, text=f"Sweep: run {i + 1} of {n}")
        self.current.progress(0.0, text=f"{config.label()}: looking for a saved run…")

    def on_batch(self, epoch, step, steps, loss):
        done = ((epoch - 1) * steps + step) / (self.epochs * steps)
        self.current.progress(min(done, 1.0), text=f"Training: epoch {epoch}/{self.epochs}, batch {step}/{steps}")

    def on_run_end(self, i, n, cell):
        how = "reused the saved run" if cell["reused"] else f"trained in {cell['seconds']:.1f} s"
        self.current.progress(1.0, text=f"Run {i + 1}: {how}")
        self.overall.progress((i + 1) / n, text=f"Sweep: {i + 1} of {n} runs done")


def queued_trainer(config, ds, callback):
    """A sweep's cells go through the server's training queue, behind other sessions' trainings."""
    status = st.empty()  # one line, rewritten while this cell waits for other sessions' training
    result = train_or_load(
        config, ds, callback,
        on_wait=lambda ahead, seconds: status.info(f"Other sessions are training: {ahead} ahead in the queue "
                                                   f"(waiting {seconds:.0f} s)…"))
    status.empty()
    return result
