"""The Train page's Retrieval tab: the two-tower model (user -> movie), its top-K against every baseline.

Every widget is a lever of ``TrainConfig``; the settings are mirrored in the URL (a copied link
opens the same configuration) and kept while the user is on other pages. A trained or loaded
run becomes the sidebar's active run.
"""
import streamlit as st

from app_pages import cache, common, follow, levers
from recsys.config import KS, PRESET_KEYS
from recsys.errors import UserError
from recsys.notebook import writer as notebook
from recsys.store import runs
from recsys.ui import charts, links
from recsys.ui.train_views import RETRIEVAL

CONFIG_KEY = "_train_config"    # the settings, kept while the user is on other pages
NOTICES_KEY = "_train_notices"  # what was fixed in the URL the page was opened with
REFERENCES_KEY = "train_references"  # which baselines the charts draw (the multiselect above the result)
PRESETS = RETRIEVAL.presets
PRESET_NAMES = list(PRESETS)
PRESET_HELP = "Start from a known configuration: the TFRS tutorial's, or the best we found. Sets every widget."


def init_state() -> None:
    """Fill the widgets' state: from the URL on the first visit, else from the settings kept in the session."""
    ss = st.session_state
    if CONFIG_KEY not in ss:
        query = st.query_params.to_dict()
        config, notices = links.config_from_query(query)
        ss[CONFIG_KEY], ss[NOTICES_KEY] = config, notices
        named = PRESET_KEYS.get(str(query.get("preset", "")).lower(), query.get("preset"))
        ss["preset"] = links.preset_of(config) or (named if named in PRESETS else PRESET_NAMES[0])
    levers.set_widgets(ss[CONFIG_KEY], only_unset=True)
    if ss.get("preset") not in PRESETS:
        ss["preset"] = links.preset_of(ss[CONFIG_KEY]) or PRESET_NAMES[0]


def apply_preset() -> None:
    """on_change of the preset selector: set every widget to the preset's value."""
    levers.set_widgets(PRESETS[st.session_state["preset"]])
    st.session_state[NOTICES_KEY] = []


def keep(config) -> None:
    """Valid settings: kept for the next visit, mirrored in the URL, said against their preset."""
    st.session_state[CONFIG_KEY] = config
    common.mirror_in_url(links.config_to_query(config), links.KEYS + ("preset",))
    changed = links.differences(config, PRESETS[st.session_state["preset"]])
    st.caption(f"{st.session_state['preset']} preset" + (
        " with " + ", ".join(f"{n} {b!r} → {v!r}" for n, b, v in changed) if changed else ""))


def settings_column():
    """The preset, every lever, the Train button; returns ``(config or None, its dataset or None, clicked)``."""
    st.selectbox("Preset", PRESET_NAMES, key="preset", on_change=apply_preset, help=PRESET_HELP)
    config, ds, clicked = follow.settings(TAB, checked=keep)
    if config is not None:
        try:
            saved = ds is not None and runs.find(config, ds) is not None
        except UserError:  # the runs folder is unusable: the sidebar says why, training will too
            saved = False
        st.caption("This configuration was trained before: pressing the button loads it instantly." if saved else
                   "One training per session at a time; the server trains for everyone, one after another.")
    return config, ds, clicked


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


def popularity(config) -> dict:
    """The popularity baseline of the split of ``config``: the dashed lines of the live curves."""
    c = config
    return cache.popularity(c.variant, c.split, c.split_fraction, c.seed, c.validation_fraction)


def versus_live(job, history: list) -> None:
    """The top-K so far against every baseline the user keeps on the charts."""
    c, rid = job.config, job.run_id
    references = chosen({"popularity": popularity(c), **(cache.strong_baselines_if_ready(c) or {})})
    follow.live_chart("versus", history, (rid, *references),
                      lambda: charts.versus_baselines(history, references, c.epochs, width=follow.CHART_WIDTH))


def show_result(run_id: str, how: str, seconds: float, current) -> None:
    """The outcome of the last Train click: how it was obtained, top-K against every baseline, curves."""
    run, cols = follow.result_header(run_id, how, seconds, current, "It is now the active run.")
    if run is None:
        return
    metrics = cache.run_metrics(run.run_id)  # with EASE, item-kNN and iALS, for runs saved before them too
    model, pop = metrics["model"], metrics["popularity"]
    for col, k in zip(cols, (10, 100)):
        m, p = model["test"][f"top_{k}"], pop["test"][f"top_{k}"]
        col.metric(f"Test top-{k}", f"{m:.3f}", delta=f"{m - p:+.3f} vs popularity")
    st.markdown(f"**{RETRIEVAL.verdict(metrics)}**")
    st.caption(f"{RETRIEVAL.verdict(metrics, candidates='test')} *Seen removed* is what a user would be shown; EASE, "
               "item-kNN and iALS rank the movies a user already rated first, so they are weak among all movies.")
    st.dataframe(charts.metric_table(metrics), hide_index=True, width="stretch",
                 column_config={f"top-{k}": st.column_config.NumberColumn(format="%.4f") for k in KS})
    st.caption("Top-K accuracy on the test ratings: the share whose movie is among the K highest-scored of the "
               "whole catalog. *All candidates* is what TFRS reports; *seen removed* leaves out movies the user "
               "rated in training. EASE, item-kNN and iALS are tuned on a validation slice of the same training "
               "ratings (`recsys/training/baselines.py`).")
    references = chosen({name: metrics[name] for name in charts.SYSTEMS if name in metrics and name != "model"})
    width = follow.CHART_WIDTH
    st.altair_chart(charts.topk_bars({"model": model, **references}), width="content")
    st.altair_chart(RETRIEVAL.curves(run.history, pop, run.config.epochs, width=width), width="content")
    st.altair_chart(charts.versus_baselines(run.history, references, run.config.epochs, width=width), width="content")
    take_home(run)


def take_home(run) -> None:
    """The run as a TFRS notebook or script to download, and "Show the code" with the lines it changed marked."""
    ds, _ = cache.dataset_or_problem(run.config.variant)  # without the data the notebook just cannot check its split
    config, identity = notebook.for_run(run, ds)
    st.subheader("Take it home")
    st.caption("The same model in plain TensorFlow Recommenders, in the order of the TFRS tutorial: run it in "
               "Jupyter or Colab and it trains, evaluates and exports this run.")
    left, right = st.columns(2)
    left.download_button("Download as notebook", data=lambda: notebook.notebook_text(config, identity),
                         file_name=f"run_{run.run_id}.ipynb", mime="application/x-ipynb+json", on_click="ignore",
                         key="train_notebook", icon="📓", width="stretch")
    right.download_button("Download as script", data=lambda: notebook.script(config, identity),
                          file_name=f"run_{run.run_id}.py", mime="text/x-python", on_click="ignore",
                          key="train_script", icon="🐍", width="stretch")
    with st.expander("Show the code"):
        cells = notebook.marked(config, identity)
        changed = sum(len(cell.changed) for cell in cells)
        st.caption(f"Lines ending in `{notebook.MARK}` ({changed}) differ from the *TFRS tutorial* preset: that is "
                   "where this run's settings act. Each cell's note is the help of the settings it holds.")
        for cell in cells:
            st.markdown(f"##### {cell.title}\n\n{cell.note}")
            st.code(cell.annotated(), language="python", wrap_lines=True)


TAB = follow.Tab(RETRIEVAL, "", show_result, reference=popularity, also_live=versus_live, activates=True,
                 nothing_yet="Nothing trained in this session yet. The tutorial preset takes a few seconds; the *Our "
                             "best* preset about ten. "
                             "The server trains one model at a time: other sessions queue, and the same settings "
                             "asked twice train once.")


def draw() -> None:
    """Settings (mirrored in the URL) on the left; Train's progress and result on the right."""
    init_state()
    for notice in st.session_state.get(NOTICES_KEY, []):
        st.warning(notice, icon="🔗")
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        config, ds, clicked = settings_column()
    with right:
        if clicked:
            st.session_state[NOTICES_KEY] = []
        follow.column(TAB, config, ds, clicked, above=reference_picker)
