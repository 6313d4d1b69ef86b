"""Train: pick hyperparameters, watch the model learn, read its result against the baselines.

Three models, one tab each: the two-tower retrieval model (user -> movie, top-K against
popularity and the strong baselines), the item-to-item model (movie -> movie, held-out hit rate
against item-kNN and popularity) and the ranking model (the stars a user gives a movie, test RMSE
against the global mean and the user/movie bias baseline). Every widget is drawn from the lever
registries (``recsys.config.LEVERS``, ``ITEM_LEVERS``, ``RANKING_LEVERS``: label, help, range,
widget), so a new lever appears here by itself. Moving a widget only changes the settings (and,
for retrieval, the URL, so a copied link opens the same configuration); Train queues the training
on the server (or loads the saved run of a config trained before). While it trains, a fragment
(``st.fragment(run_every=…)``) redraws the progress bar and the curves every half second; the
rest of the page stays responsive, and Cancel stops waiting. The tabs share that machinery
through a key ``prefix``.
"""
import time

import pandas as pd
import streamlit as st

from app_pages import cache, common
from recsys.config import (ITEM_DEFAULT, ITEM_LEVERS, KS, LEVERS, PRESET_KEYS, PRESETS, RANKING_LEVERS, RANKING_PRESETS,
                           ItemToItemConfig, RankingConfig, TrainConfig)
from recsys.errors import UserError
from recsys.evaluation import item_to_item as i2i
from recsys.evaluation import topk
from recsys.experiments import multitask
from recsys.notebook import writer as notebook
from recsys.server import jobs
from recsys.store import runs
from recsys.ui import charts, links

CONFIG_KEY = "_train_config"    # the settings, kept while the user is on other pages
NOTICES_KEY = "_train_notices"  # what was fixed in the URL the page was opened with
RESULT_KEY = "_train_result"    # (run_id, how, seconds to get it) of the last click
JOB_KEY = "_train_job"          # the training job this session follows (recsys.server.jobs.Job), while it runs
ERROR_KEY = "_train_error"      # why the last training failed, shown until the next click
FLASH_KEY = "_train_flash"      # a one-off message (cancelled)
BUSY_KEY = "_train_busy"        # this session's other training, when a click was refused because of it
RANK = "rank_"                  # the ranking tab's prefix (widget keys "rank_epochs", ...)
ITEM = "i2i_"                   # the item-to-item tab's prefix: its widget keys and the keys above, e.g. "_i2i_train_job"
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


def key(prefix: str, name: str) -> str:
    """A tab's session-state key: ``JOB_KEY`` -> ``_i2i_train_job`` for the item-to-item tab."""
    return name if not prefix else f"_{prefix}{name.lstrip('_')}"


def lever_widget(name: str, levers: dict = LEVERS, prefix: str = "") -> None:
    """The widget ``levers[name]`` asks for, with its label, range and help (its key: ``prefix + name``)."""
    spec = levers[name]
    label = spec.label if spec.main else f"{spec.label} (`{name}`)"
    lo, hi = spec.range or (None, None)
    kw = {"key": prefix + name, "help": spec.help}
    if spec.widget == "slider":
        st.slider(label, lo, hi, step=spec.step, **kw)
    elif spec.widget == "select_slider":
        stops = tuple(sorted(set(spec.stops) | {st.session_state[prefix + name]}))  # a linked value between stops
        st.select_slider(label, stops, format_func=lambda v: f"{v:g}", **kw)
    elif spec.widget == "number":
        st.number_input(label, lo, hi, step=spec.step, format=spec.format, **kw)
    elif spec.widget == "toggle":
        st.toggle(label, **kw)
    elif spec.widget == "select":
        st.selectbox(label, spec.choices, **kw)
    else:  # text: the MLP's layer sizes
        st.text_input(label, placeholder="e.g. 64,32", **kw)


def lever_widgets(levers: dict = LEVERS, prefix: str = "") -> None:
    """Every lever: the main ones in view (two choices side by side), the others in "More levers"."""
    main = [name for name, spec in levers.items() if spec.main]
    i = 0
    while i < len(main):
        pair = main[i:i + 2]
        if len(pair) == 2 and all(levers[n].widget == "select" for n in pair):
            for col, name in zip(st.columns(2), pair):
                with col:
                    lever_widget(name, levers, prefix)
            i += 2
        else:
            lever_widget(main[i], levers, prefix)
            i += 1
    with st.expander("More levers"):
        for name in (n for n, spec in levers.items() if not spec.main):
            lever_widget(name, levers, prefix)


def settings_panel() -> None:
    """Every lever of a TrainConfig, under the preset selector."""
    st.selectbox("Preset", PRESET_NAMES, key="preset", on_change=apply_preset, help=PRESET_HELP)
    lever_widgets()


# ----------------------------------------------------------------------------- training


def start_training(config, ds, prefix: str = "") -> None:
    """The Train click: a saved run is shown at once; otherwise the config joins the server's queue."""
    ss = st.session_state
    ss.pop(key(prefix, ERROR_KEY), None)
    old = ss.get(key(prefix, JOB_KEY))
    if old is not None and old.config == config and not old.done:
        return  # already following this very training
    if old is not None:
        common.cancel(old)
        ss.pop(key(prefix, JOB_KEY), None)
    clicked = time.time()
    try:
        job = common.submit(config, ds)
    except jobs.Busy as e:  # this session's other training (the other tab, a sweep): say so, offer to cancel it
        ss[key(prefix, ERROR_KEY)] = str(e)
        ss[key(prefix, BUSY_KEY)] = e.job
        return
    except UserError as e:
        ss[key(prefix, ERROR_KEY)] = str(e)
        return
    if job.state == "done":  # saved before: no training, no fragment
        ss[key(prefix, RESULT_KEY)] = (job.run_id, "saved", time.time() - clicked)
        if not prefix:
            common.set_active_run(job.run_id)
        st.rerun()
    ss[key(prefix, JOB_KEY)] = job


def cancel_training(prefix: str = "") -> None:
    """on_click of Cancel: this session stops waiting; the training stops if no other session waits for it."""
    job = st.session_state.pop(key(prefix, JOB_KEY), None)
    if job is not None:
        common.cancel(job)
        st.session_state[key(prefix, FLASH_KEY)] = (
            f"Cancelled: {job.config.label()}. Other sessions waiting for the same settings still get it; otherwise "
            "it stops at the next batch.")


def cancel_other(job, prefix: str) -> None:
    """on_click: cancel this session's other training (the one that made a click wait), wherever it was shown."""
    common.cancel(job)
    for name in list(st.session_state):
        if isinstance(name, str) and name.endswith(JOB_KEY.lstrip("_")) and st.session_state[name] is job:
            del st.session_state[name]
    st.session_state.pop(key(prefix, BUSY_KEY), None)
    st.session_state.pop(key(prefix, ERROR_KEY), None)
    st.session_state[key(prefix, FLASH_KEY)] = f"Cancelled: {job.config.label()}. Press Train again."


def finish(job, snap: dict, prefix: str = "") -> None:
    """The job ended: keep its result (or why it failed) for the whole page, then rerun it."""
    ss = st.session_state
    ss.pop(key(prefix, JOB_KEY), None)
    if snap["state"] == "done":
        ss[key(prefix, RESULT_KEY)] = (job.run_id, "saved" if job.reused else "trained", time.time() - job.submitted)
        if not job.reused:
            common.record_trained(job.run_id)
        if not prefix:  # a retrieval run becomes the active run
            common.set_active_run(job.run_id)
    elif snap["state"] == "failed":
        ss[key(prefix, ERROR_KEY)] = snap["error"] or "training failed"
    else:
        ss[key(prefix, ERROR_KEY)] = "the training was cancelled"
    st.rerun()  # the whole page: the result, and the new active run in the sidebar


@st.fragment(run_every=POLL_SECONDS)
def training_progress(prefix: str = "") -> None:
    """This session's training job: its place in the queue, a bar per batch, the curves per epoch.

    The job lives in the server's queue, not in this script run: moving a widget or leaving
    the page does not stop it, and coming back shows it again; the Cancel button does.
    """
    job = st.session_state.get(key(prefix, JOB_KEY))
    if job is None:  # cancelled from the button below: redraw the whole page
        st.rerun()
    snap = job.snapshot()
    if snap["state"] in ("done", "failed", "cancelled"):
        finish(job, snap, prefix)
    head, button = st.columns([4, 1], vertical_alignment="center")
    head.markdown(f"**Training** {job.config.label()}")
    button.button("Cancel", key=prefix + "cancel_training", on_click=cancel_training, args=(prefix,), width="stretch",
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
    history, rid = snap["history"], job.run_id
    if history and not prefix:
        c = job.config
        baseline = cache.popularity(c.variant, c.split, c.split_fraction, c.seed, c.validation_fraction)
        references = chosen({"popularity": baseline, **(cache.strong_baselines_if_ready(c) or {})})
        live_chart("curves", history, rid,
                   lambda: charts.training_curves(history, baseline, epochs, width=CHART_WIDTH))
        live_chart("versus", history, (rid, *references),
                   lambda: charts.versus_baselines(history, references, epochs, width=CHART_WIDTH))
    elif history and prefix == RANK:
        live_chart("ranking", history, rid,
                   lambda: charts.ranking_curves(history, None, epochs, width=CHART_WIDTH))
    elif history:
        itemknn = cache.item_to_item_baselines(*job.config.split_of())["itemknn"]
        live_chart("item_to_item", history, rid,
                   lambda: charts.item_to_item_curves(history, itemknn, epochs, width=CHART_WIDTH))


LIVE_KEY = "_train_live_specs"  # {chart name: (what it shows, when it was built, its Vega-Lite spec)}
LIVE_CHART_EVERY_S = 2.0        # short epochs: the curves are redrawn at most this often while training


def live_chart(name: str, history: list, what, make) -> None:
    """Draw a chart of the epochs so far, rebuilding it only when a new epoch came in.

    The fragment redraws twice a second, but the curves change once per epoch; turning an
    Altair chart into its Vega-Lite spec (validation included) costs ~0.1 s of server CPU each
    time, so the spec is kept per session and sent again as it is, and rebuilt at most every
    ``LIVE_CHART_EVERY_S`` when epochs are short. ``what`` names what else the chart depends on
    (the run, the baselines drawn): a change there redraws at once.
    """
    specs = st.session_state.setdefault(LIVE_KEY, {})
    stamp = (what, len(history), history[-1].get("epoch"))
    kept = specs.get(name)
    if kept is None or kept[0][0] != what or (kept[0] != stamp and time.monotonic() - kept[1] >= LIVE_CHART_EVERY_S):
        specs[name] = kept = (stamp, time.monotonic(), make().to_dict(validate=False))
    st.vega_lite_chart(kept[2], width="content")


# ----------------------------------------------------------------------------- result


REFERENCES_KEY = "train_references"  # which baselines the charts draw (the multiselect below the result)


def chosen(references: dict) -> dict:
    """The baselines the user keeps on the charts (all until they hide some)."""
    picked = st.session_state.get(REFERENCES_KEY)
    return references if picked is None else {k: v for k, v in references.items() if k in picked}


def reference_picker() -> None:
    """Which baselines the charts draw: each can be hidden."""
    st.multiselect("Baselines on the charts", list(charts.SYSTEMS)[1:], default=list(charts.SYSTEMS)[1:],
                   format_func=charts.SYSTEMS.get, key=REFERENCES_KEY,
                   help="Popularity, and the strong simple baselines tuned on the same training ratings: EASE "
                        "(a linear item-item model), item-kNN and iALS.")


def result_header(run_id: str, how: str, seconds: float, current, after: str):
    """The run of the last Train click and how it was obtained (``after``: what now holds); None if it is gone."""
    try:
        run = cache.run(run_id)
    except UserError as e:  # deleted meanwhile
        common.show_error(e)
        return None
    st.subheader("Result")
    st.caption(f"Run `{run.run_id}` · {run.config.label()}")
    if current is not None and current != run.config:
        st.caption("The settings have changed since: press Train to run the new ones.")
    if how == "trained":
        st.success(f"Trained in {run.seconds:.1f} s and saved as run {run.run_id}. {after}")
    else:
        st.info(f"Loaded a saved run in {seconds:.2f} s: this configuration was trained before "
                f"in {run.seconds:.1f} s. {after}")
    return run


def show_result(run_id: str, how: str, seconds: float, current: TrainConfig | None) -> None:
    """The outcome of the last Train click: how it was obtained, top-K against every baseline, curves."""
    run = result_header(run_id, how, seconds, current, "It is now the active run.")
    if run is None:
        return

    metrics = cache.run_metrics(run.run_id)  # with EASE, item-kNN and iALS, for runs saved before them too
    model, pop = metrics["model"], metrics["popularity"]
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    for col, k in ((c[2], 10), (c[3], 100)):
        m, p = model["test"][f"top_{k}"], pop["test"][f"top_{k}"]
        col.metric(f"Test top-{k}", f"{m:.3f}", delta=f"{m - p:+.3f} vs popularity")
    st.markdown(f"**{topk.read_against(metrics, 'test_filtered')}**")
    st.caption(f"{topk.read_against(metrics, 'test')} *Seen removed* is what a user would be shown; EASE, "
               "item-kNN and iALS rank the movies a user already rated first, so they are weak among all movies.")

    st.dataframe(charts.metric_table(metrics), hide_index=True, width="stretch",
                 column_config={f"top-{k}": st.column_config.NumberColumn(format="%.4f") for k in KS})
    st.caption("Top-K accuracy on the test ratings: the share whose movie is among the K highest-scored of the "
               "whole catalog. *All candidates* is what TFRS reports; *seen removed* leaves out movies the user "
               "rated in training. EASE, item-kNN and iALS are tuned on a validation slice of the same training "
               "ratings (`recsys/training/baselines.py`).")
    references = chosen({name: metrics[name] for name in charts.SYSTEMS if name in metrics and name != "model"})
    st.altair_chart(charts.topk_bars({"model": model, **references}), width="content")
    st.altair_chart(charts.training_curves(run.history, pop, run.config.epochs, width=CHART_WIDTH), width="content")
    st.altair_chart(charts.versus_baselines(run.history, references, run.config.epochs, width=CHART_WIDTH),
                    width="content")
    take_home(run)


def take_home(run, key: str = "train") -> None:
    """The run as a TFRS notebook or script to download, and "Show the code" with the lines it changed marked."""
    ds, _ = cache.dataset_or_problem(run.config.variant)  # without the data the notebook just cannot check its split
    config, identity = notebook.for_run(run, ds)
    st.subheader("Take it home")
    st.caption("The same model in plain TensorFlow Recommenders, in the order of the TFRS tutorial: run it in "
               "Jupyter or Colab and it trains, evaluates and exports this run.")
    left, right = st.columns(2)
    left.download_button("Download as notebook", data=lambda: notebook.notebook_text(config, identity),
                         file_name=f"run_{run.run_id}.ipynb", mime="application/x-ipynb+json", on_click="ignore",
                         key=f"{key}_notebook", icon="📓", width="stretch")
    right.download_button("Download as script", data=lambda: notebook.script(config, identity),
                          file_name=f"run_{run.run_id}.py", mime="text/x-python", on_click="ignore",
                          key=f"{key}_script", icon="🐍", width="stretch")
    with st.expander("Show the code"):
        cells = notebook.marked(config, identity)
        changed = sum(len(cell.changed) for cell in cells)
        st.caption(f"Lines ending in `{notebook.MARK}` ({changed}) differ from the *TFRS tutorial* preset: that is "
                   "where this run's settings act. Each cell's note is the help of the settings it holds.")
        for cell in cells:
            st.markdown(f"##### {cell.title}\n\n{cell.note}")
            st.code(cell.annotated(), language="python", wrap_lines=True)


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
    else:
        st.caption("One training per session at a time; the server trains for everyone, one after another.")
    return config, ds, clicked


def retrieval_tab() -> None:
    """The two-tower retrieval model: settings (mirrored in the URL), Train, progress, result."""
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
        reference_picker()
        if not outcome():
            st.info("Nothing trained in this session yet. The tutorial preset takes a few seconds; the *Our best* "
                    "preset about ten. The server trains one model at a time: other sessions queue, and the same "
                    "settings asked twice train once.")
        result = st.session_state.get(RESULT_KEY)
        if result is not None:
            show_result(*result, current=config)


def outcome(prefix: str = "") -> bool:
    """The one-off message, the error and the training in progress of a tab; whether there was any."""
    flash = st.session_state.pop(key(prefix, FLASH_KEY), None)
    if flash:
        st.info(flash, icon="🛑")
    error = st.session_state.get(key(prefix, ERROR_KEY))
    if error:
        st.error(error, icon="⚠️")
        busy = st.session_state.get(key(prefix, BUSY_KEY))
        if busy is not None and not busy.done:
            st.button("Cancel that training", key=prefix + "cancel_other", on_click=cancel_other, args=(busy, prefix))
    if key(prefix, JOB_KEY) in st.session_state:
        training_progress(prefix)
    return bool(flash or error or key(prefix, JOB_KEY) in st.session_state or key(prefix, RESULT_KEY) in
                st.session_state)


def active_config():
    """The settings of the sidebar's active retrieval run, or None."""
    rid = st.session_state.get(common.RUN_KEY)
    if rid is None:
        return None
    try:
        return cache.run(rid).config
    except UserError:
        return None


def tab_settings(levers: dict, prefix: str, from_widgets):
    """A tab's lever widgets and its Train button: (config or None, dataset or None, clicked).

    An invalid value or a dataset that cannot be loaded is an ``st.error`` here, and Train stays
    disabled while there is no dataset.
    """
    lever_widgets(levers, prefix)
    config, ds = None, None
    try:
        config = from_widgets()
    except UserError as e:
        common.show_error(e)
    if config is not None:
        ds, problem = cache.dataset_or_problem(config.variant)
        if problem:
            common.show_error(UserError(problem))
    clicked = st.button("Train", key=prefix + "train", type="primary", disabled=ds is None, width="stretch")
    return config, ds, clicked


def tab_outcome(config, ds, clicked: bool, prefix: str, show_result, nothing_yet: str) -> None:
    """A tab's right column: start the clicked training, its progress or error, then its result."""
    if clicked and config is not None:
        start_training(config, ds, prefix)
    if not outcome(prefix):
        st.info(nothing_yet)
    result = st.session_state.get(key(prefix, RESULT_KEY))
    if result is not None:
        show_result(*result, current=config)


def item_config_from_widgets() -> ItemToItemConfig:
    values = {name: st.session_state[ITEM + name] for name in ITEM_LEVERS}
    return ItemToItemConfig(**values).validate()


def show_item_result(run_id: str, how: str, seconds: float, current) -> None:
    """An item-to-item run: its held-out hit rates against item-kNN and popularity, and its curves."""
    run = result_header(run_id, how, seconds, current, "The Recommend page's *Per movie* shows its neighbours "
                        "beside the retrieval model's, for the active run's split.")
    if run is None:
        return
    m = run.metrics["item_to_item"]
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    for col, k in ((c[2], 10), (c[3], 50)):
        mine, theirs = m["item_to_item"][f"hit_{k}"], m["itemknn"][f"hit_{k}"]
        col.metric(f"Hit rate @{k}", f"{mine:.3f}", delta=f"{mine - theirs:+.3f} vs item-kNN")
    st.markdown(f"**{i2i.read_result(m, 'item_to_item')}**")
    st.dataframe(charts.hit_table(m), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in charts.hit_table(m).columns if c != "method"})
    st.caption(f"Held-out hit rate @K over {m['queries']:,} test ratings: is the rated movie among the K neighbours "
               "of the movie the same user rated just before it in training?")
    st.altair_chart(charts.item_to_item_curves(run.history, m["itemknn"], run.config.epochs, width=CHART_WIDTH),
                    width="content")


def item_tab() -> None:
    """The item-to-item model: pairs of movies rated by one user, two movie towers; Train, progress, result."""
    st.markdown("The TFRS tutorial ends with the idea: *the same two-tower recipe, trained on pairs of movies, is an "
                "item-to-item recommender*. Here it is: each training example is two movies one user rated close "
                "together in time, and the in-batch softmax learns to find the second from the first.")
    active = active_config()
    start = ITEM_DEFAULT if active is None else ITEM_DEFAULT.with_(
        variant=active.variant, split=active.split, split_fraction=active.split_fraction, seed=active.seed)
    for name, value in start.to_dict().items():  # first visit: the active run's split, so both can be compared
        st.session_state.setdefault(ITEM + name, value)
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        config, ds, clicked = tab_settings(ITEM_LEVERS, ITEM, item_config_from_widgets)
        if config is not None and active is not None:
            same = config.split_of() == active.split_of()
            st.caption("The same split as the active run: the Recommend page's *Per movie* will show this model "
                       "beside its movie tower." if same else
                       f"Not the active run's split ({active.split}, seed {active.seed}): the Recommend page shows "
                       "item-to-item runs of the active run's split only.")
    with right:
        tab_outcome(config, ds, clicked, ITEM, show_item_result,
                    "No item-to-item run trained in this session yet (a few seconds with the defaults). Its held-out "
                    "hit rate is measured on the same test ratings as the retrieval run of the same split.")


def ranking_config_from_widgets() -> RankingConfig:
    values = {name: st.session_state[RANK + name] for name in RANKING_LEVERS}
    values["layers"] = links.parse_layers(values["layers"])
    return RankingConfig(**values).validate()


def apply_ranking_preset() -> None:
    """on_change of the ranking preset: every ranking widget to the preset's value (on the same split)."""
    preset = RANKING_PRESETS[st.session_state[RANK + "preset"]]
    keep = {name: st.session_state[RANK + name] for name in ("variant", "split", "split_fraction", "seed")}
    for name, value in preset.with_(**keep).to_dict().items():
        st.session_state[RANK + name] = links.format_layers(tuple(value)) if name == "layers" else value


def show_ranking_result(run_id: str, how: str, seconds: float, current) -> None:
    """A ranking run: its test RMSE against the global mean, the bias baseline and the published references."""
    run = result_header(run_id, how, seconds, current, "The Recommend page's *Per user* can re-rank the active "
                        "run's candidates with it (same split).")
    if run is None:
        return
    m = run.metrics
    mine, biases = m["model"]["test"]["rmse"], m["biases"]["test"]["rmse"]
    c = st.columns(4)
    c[0].metric("Training time", f"{run.seconds:.1f} s")
    c[1].metric("Epoch kept", f"{run.best_epoch} of {run.config.epochs}")
    c[2].metric("Test RMSE", f"{mine:.4f}", delta=f"{mine - biases:+.4f} vs biases", delta_color="inverse",
                help="Root mean squared error of the predicted stars on the held-out ratings (lower is better).")
    c[3].metric("Global mean", f"{m['global_mean']['test']['rmse']:.4f}",
                help="Predicting every rating as the mean of the training ratings.")
    better = [name for name, v in charts.RATING_REFERENCES.items() if mine <= v]
    st.markdown(f"**{'Beats' if mine < biases else 'Does not beat'} the user + movie bias baseline "
                f"({biases:.4f}); {'at or below ' + ' and '.join(better) if better else 'above the published SVD'} "
                "results on ML-100k.**")
    st.dataframe(charts.rmse_table(m), hide_index=True, width="stretch",
                 column_config={"test RMSE": st.column_config.NumberColumn(format="%.4f")})
    st.caption("The published references are the `surprise` library's 5-fold results on ML-100k, not this split: "
               "read them as what good looks like, not as a same-split comparison.")
    st.altair_chart(charts.ranking_curves(run.history, m, run.config.epochs, width=CHART_WIDTH), width="content")


MULTITASK_KEY = "train_multitask_rows"  # the last multitask sweep of this session: its rows


def multitask_section(config: RankingConfig | None, ds) -> None:
    """The TFRS multitask tutorial's trade-off: the same model at a few (rating, retrieval) weight pairs."""
    st.subheader("Multitask: one model, two objectives")
    st.markdown("With a **retrieval weight** above 0 the ranking model also learns retrieval (the in-batch softmax on "
                "u · m) with the same towers. The sweep trains the settings on the left at "
                f"{len(multitask.WEIGHTS)} (rating, retrieval) weight pairs, from rating-only to retrieval-only, and "
                "draws each run's test RMSE against the test top-100 of its vectors.")
    if config is None or ds is None:
        return
    try:
        todo = multitask.configs(config)
    except UserError as e:
        common.show_error(e)
        return
    try:  # from the cached listing: no run folder is read on a rerun
        listed = {r.run_id for r in cache.saved_ranking_runs()}
        saved = sum(runs.run_id(c, runs.data_tag(ds)) in listed for c in todo)
        known = f"{saved} saved already (reused), {len(todo) - saved} to train"
    except UserError:  # the run store cannot be read: the sidebar says why
        known = "none can be saved now"
    st.caption(f"{len(todo)} runs: {known} (~{config.epochs} epochs each). Fewer epochs draw the curve faster: "
               "retrieval overfits early.")
    if st.button("Run the multitask sweep", key=RANK + "multitask", type="secondary"):
        try:
            st.session_state[MULTITASK_KEY] = multitask.sweep(config, ds, callback=common.PageProgress(),
                                                              trainer=common.queued_trainer)
        except UserError as e:
            common.show_error(e)
    rows = st.session_state.get(MULTITASK_KEY)
    if rows:
        st.altair_chart(charts.multitask_tradeoff(rows), width="stretch")
        st.markdown(f"**{multitask.reading(rows)}**")
        st.dataframe(pd.DataFrame(rows)[["rating_weight", "retrieval_weight", "rmse", "top_10", "top_100", "run_id"]],
                     hide_index=True, width="stretch",
                     column_config={"rmse": st.column_config.NumberColumn("test RMSE", format="%.4f"),
                                    "top_10": st.column_config.NumberColumn("top-10", format="%.4f"),
                                    "top_100": st.column_config.NumberColumn("top-100", format="%.4f")})


def ranking_tab() -> None:
    """The second stage: a model that predicts a user's stars for a movie; Train, progress, result."""
    st.markdown("Stage 2 of a two-stage recommender, as in TFRS's *basic ranking* tutorial: a user vector and a movie "
                "vector go through an MLP that predicts the **stars** (1-5) the user gives the movie, trained with the "
                "mean squared error. Retrieval finds a few hundred candidates out of the catalog; this model orders "
                "them. Trained on the same split as the retrieval run, it can re-rank its candidates on *Recommend*.")
    active = active_config()
    start = RANKING_PRESETS["Our best"] if active is None else RANKING_PRESETS["Our best"].with_(
        variant=active.variant, split=active.split, split_fraction=active.split_fraction, seed=active.seed)
    st.session_state.setdefault(RANK + "preset", "Our best")
    for name, value in start.to_dict().items():  # first visit: the active run's split, so the two stages can meet
        st.session_state.setdefault(RANK + name, links.format_layers(tuple(value)) if name == "layers" else value)
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        st.selectbox("Preset", list(RANKING_PRESETS), key=RANK + "preset", on_change=apply_ranking_preset,
                     help="*TFRS tutorial*: the basic ranking tutorial's settings. *Our best*: chosen on a validation "
                          "slice (docs/ranking.md).")
        config, ds, clicked = tab_settings(RANKING_LEVERS, RANK, ranking_config_from_widgets)
        if config is not None and active is not None:
            st.caption("The same split as the active run: *Recommend* can re-rank its candidates with this model."
                       if config.split_of() == active.split_of() else
                       f"Not the active run's split ({active.split}, seed {active.seed}): *Recommend* re-ranks with "
                       "ranking runs of the active run's split only.")
    with right:
        tab_outcome(config, ds, clicked, RANK, show_ranking_result,
                    "No ranking run trained in this session yet (seconds with either preset). Its RMSE is measured on "
                    "the same held-out ratings as the retrieval run of the same split.")
    multitask_section(config, ds)


def main() -> None:
    st.title("🏋️ Train a two-tower model")
    st.caption("Pick the settings (a copied link keeps them), press **Train**, and watch the test top-K grow "
               "against the popularity baseline (dashed).")
    retrieval, item, ranking = st.tabs(["Retrieval: user → movie", "Item-to-item: movie → movie",
                                        "Ranking: predicted stars"])
    with retrieval:
        retrieval_tab()
    with item:
        item_tab()
    with ranking:
        ranking_tab()


main()
