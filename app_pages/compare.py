"""Compare runs: every saved run of every kind in its table, curves and bars of a few, and hyperparameter sweeps."""
import streamlit as st

from app_pages import cache, common
from recsys import config as cfg
from recsys.errors import UserError
from recsys.evaluation.topk import CANDIDATES
from recsys.experiments import sweep
from recsys.notebook import writer as notebook
from recsys.store import kinds, runs
from recsys.ui import charts, tables

FLASH = "compare_flash"
TRAINING_HELP = ("Wall time of that training, measured once when it ran, on a machine that may have been doing other "
                 "work then: a fact of the run, not a benchmark (python -m recsys bench train measures speed).")


def run_table(items, k: int) -> None:
    """All saved runs, sortable by clicking a column header."""
    df = tables.retrieval_runs(items, k, {r.run_id: cache.item_to_item_metrics(r.run_id) for r in items},
                    {r.run_id: cache.strong_baselines_if_ready(r.config) for r in items})
    pct = lambda label, help=None: st.column_config.NumberColumn(label, format="%.4f", help=help)
    metrics = [f"top_{k}", f"top_{k}_seen_removed", f"popularity_top_{k}", f"popularity_top_{k}_seen_removed",
               f"ease_top_{k}_seen_removed", f"itemknn_top_{k}_seen_removed", f"ials_top_{k}_seen_removed"]
    order = ["run_id", *metrics, "item_to_item_hit_10", "itemknn_hit_10", "embedding_dim", "epochs", "optimizer",
             "learning_rate", "batch_size", "split", "seed", "best_epoch", "seconds", "created", "label"]
    st.dataframe(df, hide_index=True, width="stretch", column_order=order, column_config={
        "run_id": st.column_config.TextColumn("run"),
        "label": st.column_config.TextColumn("all settings"),
        "created": st.column_config.DatetimeColumn("trained", format="YYYY-MM-DD HH:mm"),
        "embedding_dim": "dim", "learning_rate": "lr", "batch_size": "batch",
        f"top_{k}": pct(f"top-{k}", "Test top-K accuracy, all candidates"),
        f"top_{k}_seen_removed": pct(f"top-{k} (seen removed)", "Movies the user rated in training left out"),
        f"popularity_top_{k}": pct(f"popularity top-{k}", "The baseline: recommend the most rated movies"),
        f"popularity_top_{k}_seen_removed": pct(f"popularity top-{k} (seen removed)"),
        **{f"{n}_top_{k}_seen_removed": pct(f"{label} top-{k} (seen removed)", "Tuned on the validation slice of the "
                                            "run's training ratings; empty until a run on that split has been trained")
           for n, label in (("ease", "EASE"), ("itemknn", "item-kNN"), ("ials", "iALS"))},
        "item_to_item_hit_10": pct("movies like this: hit@10", "Held-out item-to-item hit rate of the movie tower "
                                   "(cosine): is the next movie a user rated among the 10 neighbours of the one "
                                   "before?"),
        "itemknn_hit_10": pct("item-kNN hit@10", "The same measure for item-kNN on this run's split"),
        "best_epoch": "best epoch",
        "seconds": st.column_config.NumberColumn("training", format="%.1f s", help=TRAINING_HELP),
    })


def kind_table(kind: str, items) -> None:
    """The saved runs of another kind (item-to-item, ranking…): the columns its entry in ``kinds.KINDS`` names."""
    k = kinds.KINDS[kind]
    st.subheader(k.title)
    st.caption(f"{len(items)} saved. Train more on the Train page or with `python -m recsys {k.command}`."
               + (" Lower is better." if k.lower_is_better else ""))
    st.dataframe(tables.kind_runs(items, kind), hide_index=True, width="stretch", column_config={
        "run_id": st.column_config.TextColumn("run"), "label": st.column_config.TextColumn("all settings"),
        "created": st.column_config.DatetimeColumn("trained", format="YYYY-MM-DD HH:mm"),
        **{name: st.column_config.NumberColumn(label, format="%.4f", help=help)
           for name, (label, help, _) in k.columns.items()},
        "best_epoch": "best epoch", "seconds": st.column_config.NumberColumn("training", format="%.1f s",
                                                                             help=TRAINING_HELP)})


def kind_curves(kind: str, items) -> None:
    """A few runs of one other kind, their per-epoch curve overlaid (ranking: test RMSE)."""
    by_id = {r.run_id: r for r in items}
    key = f"compare_runs_{kind}"
    st.session_state[key] = [i for i in st.session_state.get(key, list(by_id)[:3]) if i in by_id]
    chosen = st.multiselect(kinds.KINDS[kind].title, list(by_id), key=key,
                            format_func=lambda i: f"{i} · {by_id[i].label()}")
    if chosen:
        st.altair_chart(charts.kind_curves([by_id[i] for i in chosen], kind), width="stretch")


def delete_box(items) -> None:
    """Delete one run this session may delete (its own, or any for the teacher), only after ticking a box."""
    allowed = common.deletable(items)
    labels = {r.run_id: r.label() for r in allowed}
    with st.expander("🗑️ Delete a run"):
        if common.is_teacher():
            st.caption("Teacher: you may delete any run.")
        else:
            st.caption(f"On a shared server a session deletes only the runs it trained: {len(allowed)} of "
                       f"{len(items)} here. The teacher's token (the server's `$RECSYS_ADMIN_TOKEN`) unlocks all; "
                       "on the machine itself, `python -m recsys runs --delete RUN` deletes any.")
        if not allowed:
            return
        rid = st.selectbox("Run to delete", list(labels), format_func=lambda i: f"{i} · {labels[i]}",
                           key="delete_run")
        sure = st.checkbox(f"Yes, delete run {rid} and its files for good", key=f"delete_sure_{rid}")
        if st.button("Delete run", type="primary", disabled=not sure, key="delete_button"):
            try:
                runs.delete(rid)
            except UserError as e:
                common.show_error(e)
                return
            st.session_state[FLASH] = f"Deleted run {rid}."
            st.rerun()


def sweep_section() -> None:
    st.subheader("Sweep two settings")
    st.caption("Every combination is an ordinary saved run; combinations trained before are reused, not "
               "retrained, so widening a sweep only trains what is new.")
    start = st.radio("Start from", ["TFRS tutorial", "Our best", "Active run"], horizontal=True, key="sweep_base")
    if start == "Active run":
        active = common.active_run()
        if active is None:
            return
        base = active.config
    else:
        base = cfg.PRESETS[start]
    c = st.columns(2)
    names = list(sweep.SWEEPABLE)
    axes = {}
    for col, n, default, values in ((c[0], 1, "embedding_dim", [16, 32, 64]), (c[1], 2, "epochs", [1, 3, 10])):
        options = names if n == 1 else ["(none)"] + names
        name = col.selectbox(f"Setting {n}", options, index=options.index(default), key=f"sweep_axis{n}",
                             format_func=lambda s: sweep.LABELS.get(s, s))
        if name == "(none)":
            continue
        choices = sweep.CHOICES[name]
        picked = col.multiselect(f"Values of {sweep.LABELS[name]}", choices, key=f"sweep_values{n}_{name}",
                                 default=[v for v in values if v in choices] or choices[:2])
        if name in axes:
            col.warning("Pick two different settings.")
            return
        axes[name] = sorted(picked)
    st.caption(f"Other settings: {base.label()}")
    try:
        ds = cache.dataset(base.variant)
        planned = sweep.plan(base, axes, ds)
    except UserError as e:
        common.show_error(e)
        return
    saved = sum(s for _, s in planned)
    st.write(f"**{len(planned)} runs**: {saved} saved already (reused), {len(planned) - saved} to train.")
    if st.button("Run the sweep", type="primary", key="sweep_go"):
        try:
            st.session_state["sweep_result"] = sweep.run_sweep(base, axes, ds, common.PageProgress(),
                                                                 trainer=common.queued_trainer)
        except UserError as e:
            common.show_error(e)
    result = st.session_state.get("sweep_result")
    if result is None:
        return
    c = st.columns([1, 2, 3])
    k = c[0].selectbox("K", cfg.KS, index=cfg.KS.index(100), key="sweep_k")
    candidates = c[1].radio("Candidates", list(CANDIDATES), format_func=CANDIDATES.get, horizontal=True,
                            key="sweep_variant")
    frame = result.frame(k, candidates)
    st.altair_chart(charts.sweep_heatmap(frame, list(result.axes), k, candidates), width="stretch")
    best = result.best(k, candidates)
    st.write(f"Best: run `{best['run_id']}` ({', '.join(f'{sweep.LABELS[a]} {best[a]}' for a in result.axes)}), "
             f"test top-{k} **{best['accuracy']:.4f}** vs popularity {best['popularity']:.4f}. "
             f"{result.trained} trained, {len(result.cells) - result.trained} reused.")
    st.button("Make the best run active", key="sweep_activate", on_click=common.set_active_run,
              args=(best["run_id"],), help="Then look at it on the Recommend or Embedding map page.")


def saved_runs_tab(items) -> None:
    """The table of every saved run of every kind, delete, and a few runs' curves and bars side by side."""
    others = {kind: cache.saved_runs_of(kind) for kind in kinds.KINDS if kind != "retrieval"}
    others = {kind: found for kind, found in others.items() if found}
    if not items and not others:
        st.info("No saved runs yet: train one on the Train page, or launch a sweep.")
        return
    if items:
        c = st.columns([1, 3])
        k = c[0].selectbox("K", cfg.KS, index=cfg.KS.index(100), key="compare_k",
                           help="The K of top-K accuracy in the table and the curves.")
        candidates = c[1].radio("Candidates", list(CANDIDATES), format_func=CANDIDATES.get, horizontal=True,
                                key="compare_variant", help="Seen movies removed: what a user would be shown.")
        st.caption(f"{len(items)} saved retrieval runs. Click a column header to sort.")
        run_table(items, k)
    for kind, found in others.items():
        kind_table(kind, found)
    delete_box(items + [r for found in others.values() for r in found])

    st.subheader("Side by side")
    if items:
        retrieval_curves(items, k, candidates)
    for kind, found in others.items():
        kind_curves(kind, found)
    if items:
        take_home(items)


def retrieval_curves(items, k: int, candidates: str) -> None:
    """A few retrieval runs: top-K per epoch and final top-K at every K, against popularity."""
    by_id = {r.run_id: r for r in items}
    # Newest three at first; later, what was picked minus runs deleted since.
    picked_before = st.session_state.get("compare_runs", list(by_id)[:3])
    st.session_state["compare_runs"] = [i for i in picked_before if i in by_id]
    chosen = st.multiselect("Retrieval runs", list(by_id), key="compare_runs",
                            format_func=lambda i: f"{i} · {by_id[i].config.label()}")
    if chosen:
        picked = [by_id[i] for i in chosen]
        st.altair_chart(charts.runs_curves(picked, k, candidates), width="stretch")
        st.altair_chart(charts.runs_final_bars(picked, candidates))
    else:
        st.info("Pick one or more runs to plot.")


def take_home(items) -> None:
    """One run as a runnable TFRS notebook or script, to download (``recsys/notebook/writer.py``)."""
    st.subheader("Take a run home")
    by_id = {r.run_id: r for r in items}
    ids, active = list(by_id), st.session_state.get(common.RUN_KEY)  # first offered: the run this session works on
    rid = st.selectbox("Run", ids, index=ids.index(active) if active in by_id else 0, key="take_home_run",
                       format_func=lambda i: f"{i} · {by_id[i].label()}",
                       help="The run in plain TensorFlow Recommenders, in the order of the TFRS tutorial.")
    ds, _ = cache.dataset_or_problem(by_id[rid].config.variant)
    config, identity = notebook.for_run(by_id[rid], ds)
    left, right = st.columns(2)
    left.download_button("Download as notebook", data=lambda: notebook.notebook_text(config, identity),
                         file_name=f"run_{rid}.ipynb", mime="application/x-ipynb+json", on_click="ignore",
                         key="compare_notebook", icon="📓", width="stretch")
    right.download_button("Download as script", data=lambda: notebook.script(config, identity),
                          file_name=f"run_{rid}.py", mime="text/x-python", on_click="ignore", key="compare_script",
                          icon="🐍", width="stretch")


def main() -> None:
    st.title("📊 Compare runs")
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH))
    try:
        items = cache.saved_runs()
    except UserError:  # the runs folder is unusable: the sidebar says why
        st.stop()
    tab_runs, tab_sweep = st.tabs(["Saved runs", "Sweep"])
    with tab_runs:
        saved_runs_tab(items)
    with tab_sweep:
        sweep_section()


main()
