"""Recommend: top-k movies for a user (user tower) or a movie (item-to-item), BruteForce vs ScaNN.

Per user, a second section runs both stages: the run retrieves N candidates, a ranking run of the
same split re-orders them by predicted stars (``recsys/serving/two_stage.py``).

A link opens a given query: ``?mode=user&user_id=42&k=10&exclude_seen=true`` or
``?mode=movie&movie_title=Star Wars (1977)&k=5``; a bad value gets a notice and the default
(recsys/ui/links.py), and the URL follows the widgets, so a copied link opens the same query.
"""
import pandas as pd
import streamlit as st

from app_pages import cache, common, levers
from recsys.errors import UserError
from recsys.evaluation import item_to_item as i2i
from recsys.evaluation import two_stage as measure
from recsys.serving import index as idx
from recsys.serving import for_me as for_me_mod
from recsys.serving import two_stage
from recsys.serving.recommend import side_by_side
from recsys.store import kinds
from recsys.ui import charts, links

MODES = ["Per user", "Per movie", "For me"]
DEFAULT_USER, DEFAULT_MOVIE = "42", "Star Wars (1977)"
URL_KEY = "_recommend_link"  # set on the page's first visit in a session: (settings, what the link got wrong)
USER_KEY = "recommend_user"  # the user picker's key: "user_id" is a lever's on the Train page (a toggle)
MODE_OF = dict(zip(links.RECOMMEND_MODES, MODES))  # "user" -> "Per user"


def init_state(ds) -> None:
    """On the first visit in this session, take the settings from the link (fixing what is wrong in it)."""
    ss = st.session_state
    if URL_KEY in ss:
        return
    settings, notices = links.recommend_from_query(
        st.query_params.to_dict(), ds.user_ids, ds.titles, {"user_id": DEFAULT_USER, "movie_title": DEFAULT_MOVIE})
    ss[URL_KEY] = (settings, notices)
    ss["mode"], ss["k"] = MODE_OF[settings["mode"]], settings["k"]
    ss[USER_KEY], ss["movie_title"], ss["exclude_seen"] = (settings["user_id"], settings["movie_title"],
                                                            settings["exclude_seen"])
    ss["likes"] = list(settings["likes"])


def show_comparison(comp: idx.Comparison, k: int, scann: idx.ScannParams) -> None:
    """overlap@k and latency of each index, then both lists side by side."""
    c = st.columns(3)
    c[0].metric(f"Overlap@{k}", f"{comp.overlap:.0%}", help="Share of BruteForce's (exact) top-k that ScaNN found too.")
    now = comp.timing() if comp.timing else {}  # each index's latency for this query's shape, as measured by now
    for col, name, label, how in ((c[1], "bruteforce", "BruteForce", "scores every movie, whoever asks"),
                                  (c[2], "scann", "ScaNN", "searches a few clusters, then re-scores")):
        figure = now.get(name)
        col.metric(f"{label} latency", f"{figure.ms if figure else comp.latency_ms[name]:.2f} ms",
                   help=f"One query of this shape (k, movies left out); {label} {how}. "
                        + (figure.describe() if figure else "Median of 5 single queries, timed just now."))
    bf, sc = side_by_side(comp)
    left, right = st.columns(2)
    notes = {"bf": "scores all movies", "sc": f"{scann.num_leaves} leaves, {scann.num_leaves_to_search} searched, "
                                              f"{scann.num_reordering_candidates} re-scored"}
    for col, title, note, df in ((left, "BruteForce (exact)", notes["bf"], bf),
                                 (right, "ScaNN (approximate)", notes["sc"], sc)):
        col.markdown(f"**{title}** · {note}")
        col.dataframe(df, hide_index=True, width="stretch",
                      column_order=["rank", "movie_title", "genres", "score", "only_here"],
                      column_config={"rank": st.column_config.NumberColumn("#", width=32),
                                     "movie_title": st.column_config.TextColumn("title", width=165),
                                     "genres": st.column_config.TextColumn("genres", width=110),
                                     "score": st.column_config.NumberColumn("score", format="%.3f", width=56),
                                     "only_here": st.column_config.CheckboxColumn(
                                         "only", width=48, help="Only in this list: the other index did not return it")})
    if len(comp.scann) < k:
        st.warning(f"ScaNN found only {len(comp.scann)} movies this user has not rated among the "
                   f"{scann.num_reordering_candidates} it re-scores: they rated many of its best candidates. An "
                   "approximate index filters *after* it searches; raise *re-ordering candidates* in ScaNN's knobs "
                   "to look further.", icon="🔎")
    only = int(bf["only_here"].sum())
    st.caption(f"Ticked (*only*): movies in only one of the two lists ({only} of {k})." if only else
               "Both indexes return the same movies.")


def scann_knobs(n_movies: int) -> idx.ScannParams:
    """The expander with ScaNN's knobs; defaults suit the catalog size."""
    d = idx.default_scann_params(n_movies)
    names = ("num_leaves", "num_leaves_to_search", "num_reordering_candidates")
    for name in names:
        st.session_state.setdefault(name, getattr(d, name))
    with st.expander("ScaNN's knobs"):
        for col, name in zip(st.columns(3), names):
            with col:
                levers.lever_widget(name, idx.SCANN_LEVERS, most=n_movies)
        st.caption(f"Defaults for {n_movies:,} movies: {d.num_leaves} leaves, {d.num_leaves_to_search} searched, "
                   f"{d.num_reordering_candidates} re-scored. Each setting builds its own index (kept in memory).")
    return idx.ScannParams(**{name: int(st.session_state[name]) for name in names})


def query_widgets(ds) -> dict:
    """Mode, k and (per user) whether seen movies are left out; the URL follows them. Returns the settings."""
    init_state(ds)
    link_notices = st.container()  # filled below the widgets, once the current settings are known
    c = st.columns([2, 3, 2])
    mode = c[0].radio("Recommend", MODES, key="mode", horizontal=True, persist_state="session")
    k = c[1].slider("k (movies to return)", *links.K_RANGE, key="k", persist_state="session")
    exclude_seen = st.session_state.get("exclude_seen", True)
    if mode == MODES[0]:
        with c[2]:
            st.space("small")
            exclude_seen = st.toggle("Leave out movies the user rated", key="exclude_seen",
                                     help="A movie the user already watched is a wasted slot.", persist_state="session")
    settings = {"mode": {v: m for m, v in MODE_OF.items()}[mode], "k": k, "exclude_seen": exclude_seen,
                "user_id": st.session_state.get(USER_KEY), "movie_title": st.session_state.get("movie_title"),
                "likes": tuple(st.session_state.get("likes", ()))}
    linked, notices = st.session_state[URL_KEY]
    if settings == linked:  # the notices hold until the user changes a setting
        for notice in notices:
            link_notices.warning(notice, icon="🔗")
    common.mirror_in_url(links.recommend_to_query(settings), links.RECOMMEND_KEYS)
    return settings


def per_user(rec, ds, k: int, exclude_seen: bool) -> idx.Comparison:
    """The user picker, the user's profile and favourite movies; their top k from both indexes."""
    labels = cache.user_labels(ds.variant)
    options = list(ds.user_ids)
    if st.session_state.get(USER_KEY) not in options:  # another dataset's user (the active run changed)
        st.session_state[USER_KEY] = DEFAULT_USER if DEFAULT_USER in options else options[0]
    user_id = st.selectbox("User (type to search)", options, key=USER_KEY,
                           format_func=lambda u: labels.get(u, u), persist_state="session")
    prof = rec.profile(user_id)
    left, right = st.columns([2, 3])
    c = left.columns(3)
    c[0].metric("Age", prof["age"])
    c[1].metric("Gender", prof["gender"])
    c[2].metric("Ratings", prof["ratings"])
    left.metric("Occupation", prof["occupation"])
    right.markdown(f"**Movies user {user_id} rated highest**")
    right.dataframe(prof["top_rated"], hide_index=True, width="stretch", height=210,
                    column_config={"movie_title": "title", "user_rating": "stars", "movie_genres": "genres"})
    st.subheader(f"Top {k} for user {user_id}")
    return rec.for_user(user_id, k, exclude_seen)


def for_me(run, rec, ds, k: int) -> idx.Comparison | None:
    """"Recommend for me": pick movies you like; the run's user tower reads them as your history."""
    titles = set(map(str, ds.titles))
    st.session_state["likes"] = [t for t in st.session_state.get("likes", []) if t in titles]  # another dataset's
    st.multiselect("Movies you like (type to search)", list(ds.titles), key="likes", max_selections=for_me_mod.MAX_PICKS,
                   help="The run's user tower reads these as a new user's history, the same way it read every "
                        "training user's movies; nothing is retrained. Your picks are left out of the lists. A "
                        "training user's age, gender and occupation count too; yours are unknown here, so only your "
                        "movies do.")
    reason = for_me_mod.why_not(run)
    if reason:
        st.info(f"This run cannot recommend for a list of movies: {reason}. The TFRS tutorial's user tower is a "
                "table of user ids; a history encoder describes a user by what they watched, so it knows anyone "
                "who tells it a few movies.", icon="🧭")
        return None
    likes = st.session_state["likes"]
    if not likes:
        st.info("Pick a few movies you like above.")
        return None
    st.subheader(f"Top {k} for someone who likes {len(likes)} movie{'s' if len(likes) > 1 else ''}")
    return for_me_mod.for_likes(rec, likes, k)


def answer_table(col, rows: list, title: str, hit: float | None, note: str) -> None:
    """One answer to "movies like this": its name, its held-out hit rate, the list."""
    col.markdown(f"**{title}**" + (f" · hit rate @10 **{hit:.3f}**" if hit is not None else ""))
    col.caption(note)
    df = pd.DataFrame(rows, columns=["rank", "movie_title", "genres", "score"])
    col.dataframe(df, hide_index=True, width="stretch", column_order=["rank", "movie_title", "score"],
                  column_config={"rank": st.column_config.NumberColumn("#", width=36),
                                 "movie_title": st.column_config.TextColumn("title"),
                                 "score": st.column_config.NumberColumn("cosine", format="%.3f", width=64)})


class ItemProgress:
    """A progress bar for a training started from this page (item-to-item or ranking; a ``train.Callback``)."""

    def __init__(self, epochs: int, name: str = "Item-to-item model"):
        self.epochs, self.name = epochs, name
        self.bar = st.progress(0.0, text="Waiting for the server's training queue…")

    def on_batch(self, epoch, step, steps, loss):
        self.bar.progress(min(1.0, ((epoch - 1) * steps + step) / (self.epochs * steps)),
                          text=f"{self.name}: epoch {epoch}/{self.epochs} · step {step}/{steps}")

    def on_epoch(self, record):
        pass


def offer_run(kind: kinds.Kind, run, ds, tab: str, takes: str, key: str) -> None:
    """No run of ``kind`` on the active run's split: say how to get one, and offer to train it here."""
    c = run.config
    config = kinds.companion(kind.name, c)
    st.info(f"No {kind.noun} on this split yet ({kinds.split_words(c)}). Train one here ({takes}), on the Train "
            f"page's *{tab}* tab, or with `python -m recsys {kind.command} --split {c.split} --seed {c.seed}`.")
    if st.button("Train one now", key=key, help=config.label()):
        try:
            common.train_or_load(config, ds, ItemProgress(config.epochs, f"{tab} model"))
        except UserError as e:
            common.show_error(e)
            return
        st.rerun()


def per_movie(run, rec, ds, k: int, params: idx.ScannParams) -> idx.Comparison:
    """The movie picker and its facts; its k neighbours by three models side by side, each with its hit rate.

    Returns the BruteForce/ScaNN comparison of the model picked below them.
    """
    options = list(ds.titles)
    if st.session_state.get("movie_title") not in options:
        st.session_state["movie_title"] = DEFAULT_MOVIE if DEFAULT_MOVIE in options else options[0]
    title = st.selectbox("Movie (type to search)", options, key="movie_title", persist_state="session")
    info = rec.movie_profile(title)
    c = st.columns([1, 1, 3])
    c[0].metric("Ratings", f"{info['ratings']:,}")
    c[1].metric("Mean rating", f"{info['mean_rating']:.2f} ★")
    c[2].markdown(f"**Genres**  \n{info['genres'] or '—'}")
    st.subheader(f"Top {k} movies like {title}")
    hits = cache.item_to_item_metrics(run.run_id)
    tower = rec.for_movie(title, k)
    items = cache.item_runs_for(run.run_id)
    item = cache.similar_movies(items[0].run_id, params).for_movie(title, k) if items else None
    cols = st.columns(3)
    answer_table(cols[0], tower.bruteforce, "Two-tower movie tower", hits["two_tower"]["hit_10"],
                 f"Run `{run.run_id}`: the angle between the movie tower's vectors (the popularity bias left out).")
    if item is not None:
        answer_table(cols[1], item.bruteforce, "Item-to-item model",
                     items[0].metrics["item_to_item"]["item_to_item"]["hit_10"],
                     f"Run `{items[0].run_id}`: two towers trained on pairs of movies rated by one user.")
    else:
        with cols[1]:
            st.markdown("**Item-to-item model**")
            offer_run(kinds.KINDS["item_to_item"], run, ds, "Item-to-item", "a few seconds", "train_item_run")
    answer_table(cols[2], cache.itemknn_neighbours(run.run_id, title, k), "Item-kNN", hits["itemknn"]["hit_10"],
                 "The classic baseline: the cosine between the two movies' sets of raters in training.")
    st.caption(f"**Hit rate @10**: for each rating held out of training, is that movie among the 10 neighbours of "
               f"the movie the same user rated just before it? Recommending the 10 most popular movies scores "
               f"{hits['popularity']['hit_10']:.3f} ({hits['queries']:,} held-out ratings). "
               + i2i.read_result(hits, "two_tower"))
    if item is None:
        return tower
    which = st.radio("BruteForce vs ScaNN for", ["Two-tower movie tower", "Item-to-item model"], horizontal=True,
                     key="movie_index_model")
    return tower if which == "Two-tower movie tower" else item


def moved(row: dict) -> str:
    """How far stage 2 moved a movie: "▲ 12", "▼ 3" or "=" (from its place in stage 1's list)."""
    d = row["retrieval_rank"] - row["rank"]
    return f"▲ {d}" if d > 0 else f"▼ {-d}" if d < 0 else "="


def two_stages(run, rec, ds, user_id, k: int, exclude_seen: bool) -> None:
    """Stage 1 retrieves N candidates, stage 2 re-orders them by a ranking run's predicted stars."""
    st.subheader("Two stages: retrieve, then rank")
    st.caption("Stage 1 (this run) retrieves the user's top **N** out of the whole catalog; stage 2 (a ranking run) "
               "predicts the user's stars for those N only and sorts them. The final list can only hold movies "
               "stage 1 found.")
    found = cache.ranking_runs_for(run.run_id)
    if not found:
        offer_run(kinds.KINDS["ranking"], run, ds, "Ranking", "seconds", "train_ranking_run")
        return
    c = st.columns([3, 2, 2])
    labels = {r.run_id: r.label() for r in found}
    ranking_id = c[0].selectbox("Ranking run", list(labels), format_func=labels.get, key="ranking_run")
    index = c[2].radio("Stage 1 index", ["bruteforce", "scann"], horizontal=True, key="two_stage_index",
                       format_func={"bruteforce": "BruteForce", "scann": "ScaNN"}.get)
    top = rec.scann_params.num_reordering_candidates if index == "scann" else min(500, len(ds.titles))
    if top > k:
        # first visit: 100; after a change of k or index, the last value brought into the new range
        st.session_state["two_stage_n"] = min(max(st.session_state.get("two_stage_n", 100), k), top)
        n = c[1].slider("Candidates N", k, top, key="two_stage_n",
                        help="How many movies stage 1 hands to stage 2. More candidates: a higher recall@N, more "
                             "for the ranking model to reorder (and more cost). ScaNN returns at most what it "
                             "re-scores.")
    else:
        n = k
        c[1].caption(f"N = k = {k}: ScaNN re-scores only {top} candidates, so stage 2 can only reorder them.")
    if not exclude_seen:
        st.caption("Seen movies are left out of both stages here (the ranking model would rate them too).")
    mix = st.select_slider("Stage 2 blend: weight of stage 1's score", options=list(measure.MIXES), value=0.0,
                           key="two_stage_mix", format_func=lambda a: f"{a:g}",
                    help="0: order the candidates by predicted stars only (the TFRS tutorial's second stage). 1: keep "
                         "stage 1's order. Between: (1 - w) x standardised stars + w x standardised retrieval score.")
    try:
        answer = two_stage.for_user(rec, cache.ranker(ranking_id), user_id, n, k, index, exclude_seen=True,
                                    mix=mix)
        m = cache.two_stage_metrics(run.run_id, ranking_id, n)
    except UserError as e:
        common.show_error(e)
        return
    g = st.columns(3)
    g[0].metric("NDCG@10, stage 1 alone", f"{m['ndcg']['retrieval']:.4f}",
                help="Retrieval's own top 10, graded by the held-out stars (2^stars - 1, discounted by position), "
                     f"averaged over all {m['users']} test users.")
    after = m["mix"][f"{mix:g}"]
    g[1].metric("NDCG@10, after stage 2", f"{after:.4f}", delta=f"{after - m['ndcg']['retrieval']:+.4f}",
                help="The same N candidates ordered by stage 2's score (the blend above), scored the same way.")
    g[2].metric(f"Recall@{n} of stage 1", f"{m['recall_at_n']:.3f}",
                help="Share of held-out ratings whose movie is among the user's N candidates: all that stage 2 "
                     "can ever find.")
    st.caption(two_stage.read_metrics(m))
    st.altair_chart(charts.blend_curve(m, mix), width="stretch")
    final = pd.DataFrame([{**r, "moved": moved(r)} for r in answer.ranked])
    first = pd.DataFrame(answer.retrieved)
    left, right = st.columns(2)
    left.markdown(f"**Stage 1 alone** · {index}'s top {k}")
    left.dataframe(first, hide_index=True, width="stretch", column_order=["rank", "movie_title", "genres", "stars"],
                   column_config={"rank": st.column_config.NumberColumn("#", width=32),
                                  "movie_title": st.column_config.TextColumn("title", width=190),
                                  "genres": st.column_config.TextColumn("genres", width=120),
                                  "stars": st.column_config.NumberColumn("pred. ★", format="%.2f", width=60)})
    right.markdown(f"**After stage 2** · the {answer.n} candidates by predicted stars")
    right.dataframe(final, hide_index=True, width="stretch",
                    column_order=["rank", "movie_title", "stars", "retrieval_rank", "moved"],
                    column_config={"rank": st.column_config.NumberColumn("#", width=32),
                                   "movie_title": st.column_config.TextColumn("title", width=190),
                                   "stars": st.column_config.NumberColumn("pred. ★", format="%.2f", width=60),
                                   "retrieval_rank": st.column_config.NumberColumn("stage 1 #", width=64),
                                   "moved": st.column_config.TextColumn("moved", width=56)})


def main() -> None:
    st.title("🎬 Recommendations: BruteForce vs ScaNN")
    run, ds = common.require_run_and_data()
    st.caption(f"Active run `{run.run_id}` · {run.config.label()}")
    settings = query_widgets(ds)
    k = settings["k"]
    params = scann_knobs(len(ds.titles))
    try:
        params.validate(len(ds.titles), k)
        rec = cache.recommender(run.run_id, params)
        if settings["mode"] == "user":
            comp = per_user(rec, ds, k, settings["exclude_seen"])
        elif settings["mode"] == "me":
            comp = for_me(run, rec, ds, k)
        else:
            comp = per_movie(run, rec, ds, k, params)
    except UserError as e:
        common.show_error(e)
        st.stop()
    if comp is None:
        return
    show_comparison(comp, k, rec.scann_params)
    if settings["mode"] == "user":
        two_stages(run, rec, ds, st.session_state[USER_KEY], k, settings["exclude_seen"])


main()
