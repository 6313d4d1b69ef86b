"""Follow a training on the Train page: start it, watch it in the queue and epoch by epoch, cancel it, keep its outcome.

Each tab is a ``Tab``: what it shows of its kind of run (``recsys.ui.train_views``), the prefix of
its keys, and how it draws its curves and its result. The training runs in the server's queue
(``recsys.server.jobs``), not in this script run: a fragment (``st.fragment(run_every=…)``) redraws
the progress every half second while the rest of the page stays responsive, and moving a widget or
leaving the page does not stop it; Cancel does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from app_pages import cache, common, levers
from recsys.errors import UserError
from recsys.server import jobs
from recsys.store import kinds
from recsys.ui.train_views import TrainView

CHART_WIDTH = 500  # px per panel of the training curves (stacked charts do not stretch)
POLL_SECONDS = 0.5  # how often the training fragment redraws
LIVE_KEY = "_train_live_specs"  # {chart name: (what it shows, when it was built, its Vega-Lite spec)}
LIVE_CHART_EVERY_S = 2.0        # short epochs: the curves are redrawn at most this often while training
TABS: list = []  # every Tab, so that cancelling a training clears it from whichever tab follows it


@dataclass(frozen=True, eq=False)
class Tab:
    """One Train tab: what it shows of its kind of run, where it keeps its state, how it draws its result."""

    view: TrainView                    # the kind of run (settings, presets), its curves, its verdict
    prefix: str                        # widget keys ("i2i_epochs"), session keys ("_i2i_train_job", see ``key``)
    result: Callable                   # (run_id, how, seconds, current settings or None) -> the last click's result
    nothing_yet: str                   # what the tab says before its first training
    reference: Callable | None = None  # settings -> what the live curves draw dashed (None: nothing)
    also_live: Callable | None = None  # (job, history) -> more live charts, each through ``live_chart``
    activates: bool = False            # its runs become the sidebar's active run (retrieval)

    def __post_init__(self):
        TABS.append(self)

    def key(self, name: str) -> str:
        """This tab's session key ``name``: "job" (the job it follows), "result", "error", "flash", "busy"."""
        return f"_{self.prefix}train_{name}"


def start(tab: Tab, config, ds) -> None:
    """The Train click: a saved run is shown at once; otherwise the config joins the server's queue."""
    ss = st.session_state
    ss.pop(tab.key("error"), None)
    old = ss.get(tab.key("job"))
    if old is not None and old.config == config and not old.done:
        return  # already following this very training
    if old is not None:
        common.cancel(old)
        ss.pop(tab.key("job"), None)
    clicked = time.time()
    try:
        job = common.submit(config, ds)
    except jobs.Busy as e:  # this session's other training (another tab, a sweep): say so, offer to cancel it
        ss[tab.key("error")] = str(e)
        ss[tab.key("busy")] = e.job
        return
    except UserError as e:
        ss[tab.key("error")] = str(e)
        return
    if job.state == "done":  # saved before: no training, no fragment
        ss[tab.key("result")] = (job.run_id, "saved", time.time() - clicked)
        if tab.activates:
            common.set_active_run(job.run_id)
        st.rerun()
    ss[tab.key("job")] = job


def cancel(tab: Tab) -> None:
    """on_click of Cancel: this session stops waiting; the training stops if no other session waits for it."""
    job = st.session_state.pop(tab.key("job"), None)
    if job is not None:
        common.cancel(job)
        st.session_state[tab.key("flash")] = (
            f"Cancelled: {job.config.label()}. Other sessions waiting for the same settings still get it; otherwise "
            "it stops at the next batch.")


def cancel_other(job, tab: Tab) -> None:
    """on_click: cancel this session's other training (the one that made a click wait), wherever it was shown."""
    common.cancel(job)
    for other in TABS:
        if st.session_state.get(other.key("job")) is job:
            del st.session_state[other.key("job")]
    st.session_state.pop(tab.key("busy"), None)
    st.session_state.pop(tab.key("error"), None)
    st.session_state[tab.key("flash")] = f"Cancelled: {job.config.label()}. Press Train again."


def finish(tab: Tab, job, snap: dict) -> None:
    """The job ended: keep its result (or why it failed) for the whole page, then rerun it."""
    ss = st.session_state
    ss.pop(tab.key("job"), None)
    if snap["state"] == "done":
        ss[tab.key("result")] = (job.run_id, "saved" if job.reused else "trained", time.time() - job.submitted)
        if not job.reused:
            common.record_trained(job.run_id)
        if tab.activates:
            common.set_active_run(job.run_id)
    elif snap["state"] == "failed":
        ss[tab.key("error")] = snap["error"] or "training failed"
    else:
        ss[tab.key("error")] = "the training was cancelled"
    st.rerun()  # the whole page: the result, and the new active run in the sidebar


@st.fragment(run_every=POLL_SECONDS)
def progress(tab: Tab) -> None:
    """The tab's training job: its place in the queue, a bar per batch, the curves per epoch."""
    job = st.session_state.get(tab.key("job"))
    if job is None:  # cancelled from the button below: redraw the whole page
        st.rerun()
    snap = job.snapshot()
    if snap["state"] in ("done", "failed", "cancelled"):
        finish(tab, job, snap)
    head, button = st.columns([4, 1], vertical_alignment="center")
    head.markdown(f"**Training** {job.config.label()}")
    button.button("Cancel", key=tab.prefix + "cancel_training", on_click=cancel, args=(tab,), width="stretch",
                  help="Stop waiting for this training. It stops unless another session waits for the same settings.")
    if snap["state"] == "queued":
        at_once = cache.job_queue().max_concurrent
        st.info(f"Waiting: {cache.job_queue().ahead(job)} ahead in the queue ({time.time() - job.submitted:.0f} s). "
                f"The server trains {'one model' if at_once == 1 else f'{at_once} models'} at a time; yours starts "
                "when its turn comes.", icon="⏳")
    epochs = job.config.epochs
    if snap["steps"]:
        done = ((snap["epoch"] - 1) * snap["steps"] + snap["step"]) / (epochs * snap["steps"])
        st.progress(min(done, 1.0), text=f"Epoch {snap['epoch']}/{epochs} · step {snap['step']}/{snap['steps']} · "
                                         f"batch loss {snap['loss']:,.0f}")
    else:
        st.progress(0.0, text="Preparing the data and building the model…")
    history = snap["history"]
    if history:
        reference = tab.reference(job.config) if tab.reference else None
        live_chart(tab.view.kind.name, history, job.run_id,
                   lambda: tab.view.curves(history, reference, epochs, width=CHART_WIDTH))
        if tab.also_live:
            tab.also_live(job, history)


def live_chart(name: str, history: list, what, make) -> None:
    """Draw a chart of the epochs so far, rebuilding it only when a new epoch came in.

    The fragment redraws twice a second, but the curves change once per epoch; turning an
    Altair chart into its Vega-Lite spec costs ~0.1 s of server CPU, so the spec is kept per
    session and rebuilt at most every ``LIVE_CHART_EVERY_S``. ``what`` names what else the
    chart depends on (the run, the baselines drawn): a change there redraws at once.
    """
    specs = st.session_state.setdefault(LIVE_KEY, {})
    stamp = (what, len(history), history[-1].get("epoch"))
    kept = specs.get(name)
    if kept is None or kept[0][0] != what or (kept[0] != stamp and time.monotonic() - kept[1] >= LIVE_CHART_EVERY_S):
        specs[name] = kept = (stamp, time.monotonic(), make().to_dict(validate=False))
    st.vega_lite_chart(kept[2], width="content")


def outcome(tab: Tab) -> bool:
    """The one-off message, the error and the training in progress of a tab; whether there was any."""
    flash = st.session_state.pop(tab.key("flash"), None)
    if flash:
        st.info(flash, icon="🛑")
    error = st.session_state.get(tab.key("error"))
    if error:
        st.error(error, icon="⚠️")
        busy = st.session_state.get(tab.key("busy"))
        if busy is not None and not busy.done:
            st.button("Cancel that training", key=tab.prefix + "cancel_other", on_click=cancel_other, args=(busy, tab))
    if tab.key("job") in st.session_state:
        progress(tab)
    return bool(flash or error or tab.key("job") in st.session_state or tab.key("result") in st.session_state)


def settings(tab: Tab, checked: Callable | None = None):
    """A tab's lever widgets and its Train button: ``(config or None, dataset or None, clicked)``.

    An invalid value or a dataset that cannot be loaded is an ``st.error`` here, and Train stays
    disabled while there is no dataset; ``checked(config)`` draws what follows valid settings.
    """
    levers.lever_widgets(tab.view.settings.levers(), tab.prefix)
    config, ds = None, None
    try:
        config = levers.config_of(tab.view.settings, tab.prefix)
    except UserError as e:
        common.show_error(e)
    if config is not None:
        if checked is not None:
            checked(config)
        ds, problem = cache.dataset_or_problem(config.variant)
        if problem:
            common.show_error(UserError(problem))
    clicked = st.button("Train", key=tab.prefix + "train", type="primary", disabled=ds is None, width="stretch")
    return config, ds, clicked


def column(tab: Tab, config, ds, clicked: bool, above: Callable | None = None) -> None:
    """A tab's right column: start the clicked training, ``above()``, its progress or error, then its result."""
    if clicked and config is not None:
        start(tab, config, ds)
    if above is not None:
        above()
    if not outcome(tab):
        st.info(tab.nothing_yet)
    result = st.session_state.get(tab.key("result"))
    if result is not None:
        tab.result(*result, current=config)


def result_header(run_id: str, how: str, seconds: float, current, after: str):
    """The run of the last Train click, how it was obtained (``after``: what now holds), its training time and epoch
    kept: ``(run, two columns for the tab's own figures)``, or ``(None, None)`` if the run is gone."""
    try:
        run = cache.run(run_id)
    except UserError as e:  # deleted meanwhile
        common.show_error(e)
        return None, None
    st.subheader("Result")
    st.caption(f"Run `{run.run_id}` · {run.config.label()}")
    if current is not None and current != run.config:
        st.caption("The settings have changed since: press Train to run the new ones.")
    if how == "trained":
        st.success(f"Trained in {run.seconds:.1f} s and saved as run {run.run_id}. {after}")
    else:
        st.info(f"Loaded a saved run in {seconds:.2f} s: this configuration was trained before "
                f"in {run.seconds:.1f} s. {after}")
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    return run, c[2:]


def active_config():
    """The settings of the sidebar's active retrieval run, or None."""
    rid = st.session_state.get(common.RUN_KEY)
    if rid is None:
        return None
    try:
        return cache.run(rid).config
    except UserError:
        return None


def on_active_split(tab: Tab):
    """First visit: the tab's widgets start from *Our best* on the active run's split, so both can be compared.

    Returns the active run's settings (None without one).
    """
    active = active_config()
    kind = tab.view.kind
    levers.set_widgets(kind.default if active is None else kinds.companion(kind.name, active), tab.prefix,
                       only_unset=True)
    return active


def split_note(config, active, same: str, other: str) -> None:
    """Under a tab's settings: ``same`` if they share the active run's split, else ``other`` with that split."""
    if config is not None and active is not None:
        st.caption(f"The same split as the active run: {same}" if kinds.same_split(config, active) else
                   f"Not the active run's split ({kinds.split_words(active)}): {other}")
