"""Train: pick hyperparameters, watch the model learn, read its top-K against popularity.

Every widget is drawn from the lever registry (``recsys.config.LEVERS``: label, help, range,
widget), so a new lever appears here by itself. Moving a widget only changes the settings
(and the URL, so a copied link opens the same configuration); the Train button queues the
training on the server (or loads the saved run of a config trained before). While it
trains, a fragment (``st.fragment(run_every=…)``) redraws the progress bar and the curves
every half second; the rest of the page stays responsive, and Cancel stops waiting.
"""
import time

import streamlit as st

from app_pages import cache, common
from recsys.config import KS, LEVERS, PRESET_KEYS, PRESETS, TrainConfig
from recsys.errors import UserError
from recsys.evaluation import topk
from recsys.store import runs
from recsys.ui import charts, links

CONFIG_KEY = "_train_config"    # the settings, kept while the user is on other pages
NOTICES_KEY = "_train_notices"  # what was fixed in the URL the page was opened with
RESULT_KEY = "_train_result"    # (run_id, how, seconds to get it) of the last click
JOB_KEY = "_train_job"          # the training job this session follows (recsys.store.jobs.Job), while it runs
ERROR_KEY = "_train_error"      # why the last training failed, shown until the next click
FLASH_KEY = "_train_flash"      # a one-off message (cancelled)
PRESET_NAMES = list(PRESETS)
PRESET_HELP = "Start from a known configuration: the TFRS tutorial's, or the best we found. Sets every widget."
CHART_WIDTH = 500  # px per panel of the training curves (stacked charts do not stretch)
POLL_SECONDS = 0.5  # how often the training fragment redraws


# ----------------------------------------------------------------------------- settings


def widget_values(config: TrainConfig) -> dict:
    """The value each widget shows for ``config`` (widget keys are the config's field names)."""
    values = {name: getattr(config, name) for name in LEVERS}
    values["deep_layers"] = links.format_layers(config.deep_layers)
    return values


def init_state() -> None:
    """Fill the widgets' state: from the URL on the first visit, else from the settings kept in the session."""
    ss = st.session_state
    if CONFIG_KEY not in ss:
        query = st.query_params.to_dict()
        config, notices = links.config_from_query(query)
        ss[CONFIG_KEY], ss[NOTICES_KEY] = config, notices
        named = PRESET_KEYS.get(str(query.get("preset", "")).lower(), query.get("preset"))
        ss["preset"] = links.preset_of(config) or (named if named in PRESETS else PRESET_NAMES[0])
    for name, value in widget_values(ss[CONFIG_KEY]).items():
        if name not in ss:
            ss[name] = value
    if ss.get("preset") not in PRESETS:
        ss["preset"] = links.preset_of(ss[CONFIG_KEY]) or PRESET_NAMES[0]


def apply_preset() -> None:
    """on_change of the preset selector: set every widget to the preset's value."""
    for name, value in widget_values(PRESETS[st.session_state["preset"]]).items():
        st.session_state[name] = value
    st.session_state[NOTICES_KEY] = []


def config_from_widgets() -> TrainConfig:
    """The TrainConfig the widgets describe; ``UserError`` if a value is invalid."""
    values = {name: st.session_state[name] for name in LEVERS}
    values["deep_layers"] = links.parse_layers(values["deep_layers"])
    return TrainConfig(**values).validate()


def mirror_in_url(config: TrainConfig) -> None:
    """Write the settings into the URL (only the keys that change, to keep history quiet)."""
    wanted = links.config_to_query(config)
    for name in links.KEYS + ("preset",):
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]


def lever_widget(name: str) -> None:
    """The widget ``LEVERS[name]`` asks for, with its label, range and help."""
    spec = LEVERS[name]
    label = spec.label if spec.main else f"{spec.label} (`{name}`)"
    lo, hi = spec.range or (None, None)
    kw = {"key": name, "help": spec.help}
    if spec.widget == "slider":
        st.slider(label, lo, hi, step=spec.step, **kw)
    elif spec.widget == "select_slider":
        st.select_slider(label, links.stops(name, st.session_state[name]), format_func=lambda v: f"{v:g}", **kw)
    elif spec.widget == "number":
        st.number_input(label, lo, hi, step=spec.step, format=spec.format, **kw)
    elif spec.widget == "toggle":
        st.toggle(label, **kw)
    elif spec.widget == "select":
        st.selectbox(label, spec.choices, **kw)
    else:  # text: the MLP's layer sizes
        st.text_input(label, placeholder="e.g. 64,32", **kw)


def settings_panel() -> None:
    """Every lever of a TrainConfig: the main ones in view (two choices side by side), the others in "More levers"."""
    st.selectbox("Preset", PRESET_NAMES, key="preset", on_change=apply_preset, help=PRESET_HELP)
    main = [name for name, spec in LEVERS.items() if spec.main]
    i = 0
    while i < len(main):
        pair = main[i:i + 2]
        if len(pair) == 2 and all(LEVERS[n].widget == "select" for n in pair):
            for col, name in zip(st.columns(2), pair):
                with col:
                    lever_widget(name)
            i += 2
        else:
            lever_widget(main[i])
            i += 1
    with st.expander("More levers"):
        for name in links.LEVER_KEYS:
            lever_widget(name)


# ----------------------------------------------------------------------------- training


def start_training(config: TrainConfig, ds) -> None:
    """The Train click: a saved run is shown at once; otherwise the config joins the server's queue."""
    ss = st.session_state
    ss.pop(ERROR_KEY, None)
    old = ss.get(JOB_KEY)
    if old is not None and old.config == config and not old.done:
        return  # already following this very training
    if old is not None:
        common.cancel(old)
        ss.pop(JOB_KEY, None)
    clicked = time.time()
    try:
        job = common.submit(config, ds)
    except UserError as e:
        ss[ERROR_KEY] = str(e)
        return
    if job.state == "done":  # saved before: no training, no fragment
        ss[RESULT_KEY] = (job.run_id, "saved", time.time() - clicked)
        common.set_active_run(job.run_id)
        st.rerun()
    ss[JOB_KEY] = job


def cancel_training() -> None:
    """on_click of Cancel: this session stops waiting; the training stops if no other session waits for it."""
    job = st.session_state.pop(JOB_KEY, None)
    if job is not None:
        common.cancel(job)
        st.session_state[FLASH_KEY] = (f"Cancelled: {job.config.label()}. Other sessions waiting for the same "
                                       "settings still get it; otherwise it stops at the next batch.")


def finish(job, snap: dict) -> None:
    """The job ended: keep its result (or why it failed) for the whole page, then rerun it."""
    ss = st.session_state
    ss.pop(JOB_KEY, None)
    if snap["state"] == "done":
        ss[RESULT_KEY] = (job.run_id, "saved" if job.reused else "trained", time.time() - job.submitted)
        common.set_active_run(job.run_id)
    elif snap["state"] == "failed":
        ss[ERROR_KEY] = snap["error"] or "training failed"
    else:
        ss[ERROR_KEY] = "the training was cancelled"
    st.rerun()  # the whole page: the result, and the new active run in the sidebar


@st.fragment(run_every=POLL_SECONDS)
def training_progress() -> None:
    """This session's training job: its place in the queue, a bar per batch, the curves per epoch.

    The job lives in the server's queue, not in this script run: moving a widget or leaving
    the page does not stop it, and coming back shows it again; the Cancel button does.
    """
    job = st.session_state.get(JOB_KEY)
    if job is None:  # cancelled from the button below: redraw the whole page
        st.rerun()
    snap = job.snapshot()
    if snap["state"] in ("done", "failed", "cancelled"):
        finish(job, snap)
    head, button = st.columns([4, 1], vertical_alignment="center")
    head.markdown(f"**Training** {job.config.label()}")
    button.button("Cancel", key="cancel_training", on_click=cancel_training, width="stretch",
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
    if snap["history"]:
        c = job.config
        baseline = cache.popularity(c.variant, c.split, c.split_fraction, c.seed, c.validation_fraction)
        st.altair_chart(charts.training_curves(snap["history"], baseline, epochs, width=CHART_WIDTH), width="content")


# ----------------------------------------------------------------------------- result


def show_result(run_id: str, how: str, seconds: float, current: TrainConfig | None) -> None:
    """The outcome of the last Train click: how it was obtained, top-K against popularity, curves."""
    try:
        run = cache.run(run_id)
    except UserError as e:  # deleted meanwhile
        common.show_error(e)
        return
    st.subheader("Result")
    st.caption(f"Run `{run.run_id}` · {run.config.label()}")
    if current is not None and current != run.config:
        st.caption("The settings have changed since: press Train to run the new ones.")
    if how == "trained":
        st.success(f"Trained in {run.seconds:.1f} s and saved as run {run.run_id}; it is now the active run.")
    else:
        st.info(f"Loaded a saved run in {seconds:.2f} s: this configuration was trained before "
                f"in {run.seconds:.1f} s. It is now the active run.")

    model, pop = run.metrics["model"], run.metrics["popularity"]
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    for col, k in ((c[2], 10), (c[3], 100)):
        m, p = model["test"][f"top_{k}"], pop["test"][f"top_{k}"]
        col.metric(f"Test top-{k}", f"{m:.3f}", delta=f"{m - p:+.3f} vs popularity")
    st.markdown(f"**{topk.read_result(model, pop, 'test')}**")
    st.caption(f"With the movies each user already rated removed: {topk.read_result(model, pop, 'test_filtered')}")

    st.dataframe(charts.metric_table(run.metrics), hide_index=True, width="stretch",
                 column_config={f"top-{k}": st.column_config.NumberColumn(format="%.4f") for k in KS})
    st.caption("Top-K accuracy on the test ratings: the share whose movie is among the K highest-scored of the "
               "whole catalog. *All candidates* is what TFRS reports; *seen removed* leaves out movies the user "
               "rated in training.")
    st.altair_chart(charts.topk_bars(run.metrics), width="content")
    st.altair_chart(charts.training_curves(run.history, pop, run.config.epochs, width=CHART_WIDTH), width="content")


# ----------------------------------------------------------------------------- page


def settings_column():
    """The left column: every setting, the Train button; returns ``(config or None, its dataset or None, clicked)``."""
    settings_panel()
    try:
        config = config_from_widgets()
    except UserError as e:
        common.show_error(e)
        return None, None, st.button("Train", key="train", type="primary", disabled=True, width="stretch")
    st.session_state[CONFIG_KEY] = config
    mirror_in_url(config)
    changed = links.differences(config, PRESETS[st.session_state["preset"]])
    st.caption(f"{st.session_state['preset']} preset" + (
        " with " + ", ".join(f"{n} {b!r} → {v!r}" for n, b, v in changed) if changed else ""))
    ds, problem = cache.dataset_or_problem(config.variant)
    if problem:
        common.show_error(UserError(problem))
    try:
        saved = ds is not None and runs.find(config, ds) is not None
    except UserError:  # the runs folder is unusable: the sidebar says why, training will too
        saved = False
    clicked = st.button("Train", key="train", type="primary", disabled=ds is None, width="stretch")
    if saved:
        st.caption("This configuration was trained before: pressing the button loads it instantly.")
    return config, ds, clicked


def main() -> None:
    st.title("🏋️ Train a two-tower model")
    st.caption("Pick the settings (a copied link keeps them), press **Train**, and watch the test top-K grow "
               "against the popularity baseline (dashed).")
    init_state()
    for notice in st.session_state.get(NOTICES_KEY, []):
        st.warning(notice, icon="🔗")

    left, right = st.columns([1, 2.2], gap="large")
    with left:
        config, ds, clicked = settings_column()
    with right:
        if clicked and config is not None:
            st.session_state[NOTICES_KEY] = []
            start_training(config, ds)
        flash = st.session_state.pop(FLASH_KEY, None)
        if flash:
            st.info(flash, icon="🛑")
        if st.session_state.get(ERROR_KEY):
            st.error(st.session_state[ERROR_KEY], icon="⚠️")
        if JOB_KEY in st.session_state:
            training_progress()
        result = st.session_state.get(RESULT_KEY)
        if result is not None:
            show_result(*result, current=config)
        elif JOB_KEY not in st.session_state and not flash and not st.session_state.get(ERROR_KEY):
            st.info("Nothing trained in this session yet. The tutorial preset takes a few seconds; the *Our best* "
                    "preset about ten. The server trains one model at a time: other sessions queue, and the same "
                    "settings asked twice train once.")


main()
