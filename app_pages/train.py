"""Train: pick hyperparameters, watch the model learn, read its top-K against popularity.

Moving a widget only changes the settings (and the URL, so a copied link opens the same
configuration); the Train button trains, or loads the saved run of a config trained before.
"""
import time

import streamlit as st

from app_pages import _shared
from recsys import charts, evaluate, params, runs, train
from recsys.config import KS, PRESETS, RANGES, TUTORIAL, TrainConfig
from recsys.errors import UserError

CONFIG_KEY = "_train_config"    # the settings, kept while the user is on other pages
NOTICES_KEY = "_train_notices"  # what was fixed in the URL the page was opened with
RESULT_KEY = "_train_result"    # (run_id, how, seconds to get it) of the last click
JOB_KEY = "_train_job"          # the training job this session follows (recsys.jobs.Job), while it runs
ERROR_KEY = "_train_error"      # why the last training failed, shown until the next click
FLASH_KEY = "_train_flash"      # a one-off message (cancelled)
PRESET_NAMES = list(PRESETS)
CHART_WIDTH = 500  # px per panel of the training curves (stacked charts do not stretch)

HELP = {
    "preset": "Start from a known configuration: the TFRS tutorial's, or the best we found. Sets every widget.",
    "embedding_dim": "Length of the user and movie vectors: more room to describe tastes, more to overfit.",
    "epochs": "Passes over the training ratings. The chart shows whether more would help.",
    "learning_rate": "Step size of the optimizer. Too high and the loss diverges, too low and nothing is learned.",
    "batch_size": "Ratings per step. In-batch softmax uses the other rows' movies as negatives, "
                  "so larger batches mean more (and more popular) negatives.",
    "optimizer": "Adagrad (the tutorial's) adapts the step per embedding row; Adam adds momentum.",
    "split": "Random: test ratings are a random 20 %. Temporal: the test set is the most recent ratings, "
             "which is harder and closer to real use.",
    "seed": "Fixes the split, the initial weights and the batch order: the same seed gives the same run.",
    "popularity_correction": "Log-Q correction: subtract log P(movie in a batch) from each score, so popular "
                             "movies are not over-penalised for being everyone's negative.",
    "split_fraction": "Share of ratings used for training; the rest is the test set.",
    "validation_fraction": "Hold out this slice of the training ratings and keep the epoch that does best on it "
                           "(0 = keep the last epoch).",
    "l2": "Penalty on the size of the embeddings used in each batch: pulls rarely seen users and movies toward 0.",
    "user_features": "Feed age, gender, occupation and when they joined (their first rating) into the user tower "
                     "beside the user id.",
    "movie_features": "Feed genres and title words into the movie tower beside the title.",
    "deep_layers": "Hidden layer sizes of an MLP on top of each tower, e.g. 64,32 (empty: no MLP).",
    "remove_accidental_hits": "Do not count a row's own movie as a negative when another row of the batch holds it.",
    "temperature": "Divide scores by this before the softmax: below 1 sharpens it, above 1 flattens it.",
    "num_hard_negatives": "Keep only this many highest-scoring negatives per row (0 = all of the batch).",
    "movie_bias": "A learned score per movie, started at its log popularity: the model starts out as the "
                  "popularity baseline and learns how each user departs from it.",
    "user_history": "Add to each user's vector the mean of a learned vector per movie they rated in training. "
                    "While training, the row's own movie is left out of that history, so the model learns to "
                    "predict new movies from old ones rather than to repeat what the user has seen.",
    "user_id_dropout": "Share of users in each batch trained without their id vector, as if never seen: the towers "
                       "learn what to recommend from features and popularity alone, which is what a new user gets. "
                       "When serving, the id counts with weight 1 - this share (classic dropout).",
}


def widget_values(config: TrainConfig) -> dict:
    """The value each widget shows for ``config`` (widget keys are the config's field names)."""
    values = {name: getattr(config, name) for name in params.KEYS}
    values["deep_layers"] = params.format_layers(config.deep_layers)
    return values


def init_state() -> None:
    """Fill the widgets' state: from the URL on the first visit, else from the settings kept in the session."""
    ss = st.session_state
    if CONFIG_KEY not in ss:
        query = st.query_params.to_dict()
        config, notices = params.config_from_query(query)
        ss[CONFIG_KEY], ss[NOTICES_KEY] = config, notices
        named = params.PRESET_KEYS.get(str(query.get("preset", "")).lower(), query.get("preset"))
        ss["preset"] = params.preset_of(config) or (named if named in PRESETS else PRESET_NAMES[0])
    for name, value in widget_values(ss[CONFIG_KEY]).items():
        if name not in ss:
            ss[name] = value
    if ss.get("preset") not in PRESETS:
        ss["preset"] = params.preset_of(ss[CONFIG_KEY]) or PRESET_NAMES[0]


def apply_preset() -> None:
    """on_change of the preset selector: set every widget to the preset's value."""
    for name, value in widget_values(PRESETS[st.session_state["preset"]]).items():
        st.session_state[name] = value
    st.session_state[NOTICES_KEY] = []


def config_from_widgets() -> TrainConfig:
    """The TrainConfig the widgets describe; ``UserError`` if a value is invalid."""
    ss = st.session_state
    values = {name: ss[name] for name in params.KEYS}
    values["deep_layers"] = params.parse_layers(values["deep_layers"])
    return TrainConfig(**values).validate()


def mirror_in_url(config: TrainConfig) -> None:
    """Write the settings into the URL (only the keys that change, to keep history quiet)."""
    wanted = params.config_to_query(config)
    for name in params.KEYS + ("preset",):
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]


def settings_panel() -> None:
    """Every lever of a TrainConfig: the main ones in view, the others in "More levers"."""
    st.selectbox("Preset", PRESET_NAMES, key="preset", on_change=apply_preset, help=HELP["preset"])
    st.slider("Embedding dimension", RANGES["embedding_dim"][0], RANGES["embedding_dim"][1], key="embedding_dim",
              help=HELP["embedding_dim"])
    st.slider("Epochs", RANGES["epochs"][0], RANGES["epochs"][1], key="epochs", help=HELP["epochs"])
    ss = st.session_state
    st.select_slider("Learning rate", params.stops("learning_rate", ss["learning_rate"]), key="learning_rate",
                     format_func=lambda v: f"{v:g}", help=HELP["learning_rate"])
    st.select_slider("Batch size", params.stops("batch_size", ss["batch_size"]), key="batch_size",
                     help=HELP["batch_size"])
    c1, c2 = st.columns(2)
    c1.selectbox("Optimizer", params.CHOICES["optimizer"], key="optimizer", help=HELP["optimizer"])
    c2.selectbox("Split", params.CHOICES["split"], key="split", help=HELP["split"])
    st.number_input("Seed", min_value=RANGES["seed"][0], max_value=RANGES["seed"][1], step=1, key="seed",
                    help=HELP["seed"])
    st.toggle("Popularity correction (log-Q)", key="popularity_correction", help=HELP["popularity_correction"])
    with st.expander("More levers"):
        for name in params.LEVERS:
            lever_widget(name)


LABELS = {
    "split_fraction": "Training share", "validation_fraction": "Validation slice", "l2": "L2 penalty",
    "user_features": "User features", "movie_features": "Movie features", "deep_layers": "MLP layers",
    "remove_accidental_hits": "Remove accidental hits", "temperature": "Temperature",
    "num_hard_negatives": "Hard negatives", "movie_bias": "Movie bias", "user_id_dropout": "User-id dropout",
    "user_history": "User history",
}


def lever_widget(name: str) -> None:
    """One widget for a lever of TrainConfig, chosen by its type (levers added later get one too)."""
    label = f"{LABELS.get(name, name.replace('_', ' ').capitalize())} (`{name}`)"
    help_ = HELP.get(name, f"TrainConfig.{name}: see `python -m recsys train --help`.")
    value = widget_values(TUTORIAL)[name]
    lo, hi = RANGES.get(name, (None, None))
    if isinstance(value, bool):
        st.toggle(label, key=name, help=help_)
    elif isinstance(value, str):
        st.text_input(label, key=name, placeholder="e.g. 64,32", help=help_)
    elif name in ("split_fraction", "validation_fraction"):
        st.slider(label, lo, hi, step=0.05, key=name, help=help_)
    elif name == "l2":
        st.number_input(label, lo, hi, step=1e-4, format="%.5f", key=name, help=help_)
    elif isinstance(value, int):
        st.number_input(label, lo, hi, step=64 if name == "num_hard_negatives" else 1, key=name, help=help_)
    else:
        st.number_input(label, lo, hi, step=0.05, key=name, help=help_)


class LiveProgress(train.Callback):
    """Training progress on the page: a progress bar per batch, a chart that grows per epoch.

    Fed from the training job's snapshots (the job trains in the server's worker thread).
    """

    def __init__(self, config: TrainConfig, ds, area, status=None):
        self.config, self.ds, self.status = config, ds, status
        self.bar, self.chart = area.empty(), area.empty()
        self.bar.progress(0.0, text="Preparing the data and building the model…")
        self.history: list = []
        self.popularity = None
        self._last = 0.0

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        if self.status is not None:  # the wait in the queue is over
            self.status.empty()
            self.status = None
        now = time.monotonic()
        if step < steps and now - self._last < 0.1:  # at most ~10 updates a second
            return
        self._last = now
        done = ((epoch - 1) * steps + step) / (self.config.epochs * steps)
        self.bar.progress(min(done, 1.0), text=f"Epoch {epoch}/{self.config.epochs} · step {step}/{steps} · "
                                               f"batch loss {loss:,.0f}")

    def on_epoch(self, record: dict) -> None:
        self.history.append(record)
        if self.popularity is None:  # already computed by fit (cached), so this is free
            self.popularity = train.prepare(self.ds, self.config).popularity
        self.chart.altair_chart(charts.training_curves(self.history, self.popularity, self.config.epochs,
                                                       width=CHART_WIDTH), width="content")


def start_training(config: TrainConfig, ds) -> None:
    """The Train click: a run this server holds is shown at once; otherwise the config joins the queue."""
    ss = st.session_state
    ss.pop(ERROR_KEY, None)
    old = ss.get(JOB_KEY)
    if old is not None and old.config == config and not old.done:
        return  # already following this very training
    if old is not None:
        _shared.cancel(old)
        ss.pop(JOB_KEY, None)
    try:
        known = _shared.in_memory(config, ds)
        if known is not None:
            ss[RESULT_KEY] = (known.run_id, "server", 0.0)
            _shared.set_active_run(known.run_id)
            st.rerun()
        ss[JOB_KEY] = _shared.submit(config, ds)
    except UserError as e:
        ss[ERROR_KEY] = str(e)


def cancel_training() -> None:
    """on_click of Cancel: this session stops waiting; the training stops if no other session waits for it."""
    job = st.session_state.pop(JOB_KEY, None)
    if job is not None:
        _shared.cancel(job)
        st.session_state[FLASH_KEY] = (f"Cancelled: {job.config.label()}. Other sessions waiting for the same "
                                       "settings still get it; otherwise it stops at the next batch.")


def follow_training(ds) -> None:
    """Draw this session's training job until it ends, then rerun to show the result as the active run.

    The job lives in the server's queue, not in this script run: moving a widget or leaving
    the page does not stop it, and coming back shows it again; the Cancel button does.
    """
    job = st.session_state[JOB_KEY]
    head, button = st.columns([4, 1], vertical_alignment="center")
    head.markdown(f"**Training** {job.config.label()}")
    button.button("Cancel", key="cancel_training", on_click=cancel_training, width="stretch",
                  help="Stop waiting for this training. It stops unless another session waits for the same settings.")
    status = st.empty()
    progress = LiveProgress(job.config, ds, st.container(), status)
    at_once = _shared.job_queue().max_concurrent

    def waiting(ahead: int, seconds: float) -> None:
        status.info(f"Waiting: {ahead} ahead in the queue ({seconds:.0f} s). The server trains "
                    f"{'one model' if at_once == 1 else f'{at_once} models'} at a time; yours starts when its "
                    "turn comes.", icon="⏳")

    try:
        run, how = _shared.follow(job, progress, on_wait=waiting)
    except UserError as e:
        st.session_state.pop(JOB_KEY, None)
        st.session_state[ERROR_KEY] = str(e)
        st.rerun()
    st.session_state.pop(JOB_KEY, None)
    st.session_state[RESULT_KEY] = (run.run_id, how, time.time() - job.submitted)
    _shared.set_active_run(run.run_id)
    st.rerun()


def show_result(run_id: str, how: str, seconds: float, current: TrainConfig | None) -> None:
    """The outcome of the last Train click: how it was obtained, top-K against popularity, curves."""
    try:
        run = _shared.load_run(run_id)
    except UserError as e:  # deleted meanwhile
        _shared.show_error(e)
        return
    st.subheader("Result")
    st.caption(f"Run `{run.run_id}` · {run.config.label()}")
    if current is not None and current != run.config:
        st.caption("The settings have changed since: press Train to run the new ones.")
    if how == "trained":
        st.success(f"Trained in {run.seconds:.1f} s and saved as run {run.run_id}; it is now the active run.")
    else:
        where = "from this server's memory" if how == "server" else "from disk"
        st.info(f"Loaded a saved run {where} in {seconds:.2f} s: this configuration was trained before "
                f"in {run.seconds:.1f} s. It is now the active run.")

    model, pop = run.metrics["model"], run.metrics["popularity"]
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    for col, k in ((c[2], 10), (c[3], 100)):
        m, p = model["test"][f"top_{k}"], pop["test"][f"top_{k}"]
        col.metric(f"Test top-{k}", f"{m:.3f}", delta=f"{m - p:+.3f} vs popularity")
    st.markdown(f"**{evaluate.read_result(model, pop, 'test')}**")
    st.caption(f"With the movies each user already rated removed: {evaluate.read_result(model, pop, 'test_filtered')}")

    st.dataframe(charts.metric_table(run.metrics), hide_index=True, width="stretch",
                 column_config={f"top-{k}": st.column_config.NumberColumn(format="%.4f") for k in KS})
    st.caption("Top-K accuracy on the test ratings: the share whose movie is among the K highest-scored of the "
               "whole catalog. *All candidates* is what TFRS reports; *seen removed* leaves out movies the user "
               "rated in training.")
    st.altair_chart(charts.topk_bars(run.metrics), width="content")
    st.altair_chart(charts.training_curves(run.history, pop, run.config.epochs, width=CHART_WIDTH), width="content")


st.title("🏋️ Train a two-tower model")
st.caption("Pick the settings (a copied link keeps them), press **Train**, and watch the test top-K grow "
           "against the popularity baseline (dashed).")

try:
    ds = _shared.dataset()
except UserError as e:
    _shared.show_error(e)
    st.stop()

init_state()
for notice in st.session_state.get(NOTICES_KEY, []):
    st.warning(notice, icon="🔗")

left, right = st.columns([1, 2.2], gap="large")
with left:
    settings_panel()
    try:
        config = config_from_widgets()
        error = None
    except UserError as e:
        config, error = None, e
    if error is not None:
        _shared.show_error(error)
    else:
        st.session_state[CONFIG_KEY] = config
        mirror_in_url(config)
        preset = PRESETS[st.session_state["preset"]]
        changed = params.differences(config, preset)
        st.caption(f"{st.session_state['preset']} preset" + (
            " with " + ", ".join(f"{n} {b!r} → {v!r}" for n, b, v in changed) if changed else ""))
    try:
        saved = config is not None and runs.find(config, ds) is not None
    except UserError:  # the runs folder is unusable: the sidebar says why, training will too
        saved = False
    clicked = st.button("Train", key="train", type="primary",
                        disabled=config is None, width="stretch")
    if saved:
        st.caption("This configuration was trained before: pressing the button loads it instantly.")

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
        follow_training(ds)
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        show_result(*result, current=config)
    elif not clicked and not flash and not st.session_state.get(ERROR_KEY):
        st.info("Nothing trained in this session yet. The tutorial preset takes about half a minute on a laptop; "
                "a tiny one (dimension 8, 1 epoch, batch 4096) a few seconds. The server trains one model at "
                "a time: other sessions queue, and the same settings asked twice train once.")
