"""Embedding map: the active run's movie (and user) vectors in 2-D, neighbours, and the SavedModel export."""
import streamlit as st

from app_pages import cache, common
from recsys.errors import UserError
from recsys.serving import export
from recsys.ui import charts
from recsys.ui import embedding_map as em

METHODS = {"pca": "PCA (linear, fast)", "tsne": "t-SNE (neighbourhoods, 10-20 s)"}
DEFAULT_MOVIE = "Star Wars (1977)"


def export_section(run, ds) -> None:
    st.subheader("📦 Export the serving model")
    st.caption("A TensorFlow SavedModel that takes a batch of user ids and returns the top-k scores and titles, "
               "with the index inside, as the TFRS tutorial's last cells do. Before you get it, it is reloaded in a "
               "fresh Python process and must return the same titles as the in-memory index.")
    c = st.columns([2, 1, 2])
    kind = c[0].radio("Index", export.INDEXES, horizontal=True, key="export_index",
                      format_func=lambda i: {"bruteforce": "BruteForce (exact)", "scann": "ScaNN (approximate)"}[i])
    k = int(c[1].number_input("k", 1, 100, 10, key="export_k"))
    key = (run.run_id, kind, k)
    with c[2]:
        st.space("small")
        if st.button("Build and check the SavedModel", key="export_go"):
            try:
                with st.spinner("Exporting and reloading in a fresh process…"):
                    st.session_state["export"] = (key, *export.export_zip(run, ds, kind, k))
            except UserError as e:
                common.show_error(e)
    held = st.session_state.get("export")
    if held and held[0] == key:
        _, data, report = held
        st.success(f"Reloaded in a fresh process: {report.matched}/{report.users_checked} sample users get the same "
                   f"titles as the in-memory {kind} index; unknown user ids score 0.")
        st.download_button(f"Download {report.path} ({len(data) / 1e6:.1f} MB)", data, file_name=report.path,
                           mime="application/zip", key="export_download")
        load = ("import scann  # registers the ScaNN ops: import it before loading\n" if kind == "scann" else "")
        st.code(f"{load}import tensorflow as tf\n\nmodel = tf.saved_model.load(\"{report.path[:-4]}\")\n"
                "scores, titles = model(tf.constant([\"42\", \"7\"]))  # top-k per user", language="python")
    st.caption(f"Same from the command line: `python -m recsys export --run {run.run_id} --index {kind} "
               f"--out DIR --k {k}`")


def main() -> None:
    st.title("🗺️ Embedding map")
    run, ds = common.require_run_and_data()
    user_vectors, movie_vectors = run.vectors
    movie_space = em.spaces(user_vectors, movie_vectors, run.config.movie_bias)[1]
    st.caption(f"Active run `{run.run_id}` · {run.config.label()} · {len(ds.titles):,} movies, "
               f"{movie_vectors.shape[1]} dimensions")

    c = st.columns([2, 2, 2])
    method = c[0].radio("Projection", list(METHODS), format_func=METHODS.get, key="map_method")
    colour = c[1].selectbox("Colour", ["first genre"] + sorted({g for gs in ds.title_genres for g in gs.split("|") if g}),
                            key="map_colour", help="First genre of each movie, or one genre highlighted in red.")
    with c[2]:
        show_users = st.toggle("Users on the map too", key="map_users",
                               help="PCA: users drawn in the movies' plane. t-SNE: movies and users embedded together.")
    c = st.columns([3, 1, 2])
    titles = ds.titles.tolist()
    movie = c[0].selectbox("Movie", titles, index=titles.index(DEFAULT_MOVIE) if DEFAULT_MOVIE in titles else 0,
                           key="map_movie", help="Its nearest neighbours (highest cosine) are outlined in red.")
    k = c[1].slider("Neighbours", 1, 30, 10, key="map_k")
    user = None
    if show_users:
        user = c[2].selectbox("User", [None] + ds.user_ids.tolist(), key="map_user",
                              format_func=lambda u: "(none)" if u is None else f"user {u}",
                              help="Their rated movies get black rings; the diamond is the user's own vector.")

    try:
        coords = cache.coordinates(run.run_id, method, show_users)
        movies = em.movie_map(ds, coords["movies"])
        users = em.user_map(ds, coords["users"]) if coords["users"] is not None else None
        m = titles.index(movie)
        nb = em.neighbours(movie_space, m, k)
        rated = em.rated(ds, user) if user is not None else None
    except UserError as e:
        common.show_error(e)
        st.stop()

    g = cache.genre_agreement(run.run_id)
    c = st.columns(3)
    if coords["explained"] is not None:
        c[0].metric("Variance kept by the 2 PCA axes", f"{coords['explained'].sum():.0%}",
                    help="The rest of the vectors' spread is invisible on this map.")
    c[1].metric(f"Neighbours sharing a genre (k={g['k']})", f"{g['neighbours']:.0%}",
                delta=f"{(g['neighbours'] - g['random']) * 100:+.0f} pts vs random pairs", delta_color="normal",
                help=f"Over the {g['movies']} movies rated at least 20 times: how often a movie's nearest neighbours "
                     f"share a genre with it; random pairs share one {g['random']:.0%} of the time. The model never "
                     "saw genres: any gap is learned from who watches what.")
    c[2].metric("Ratings of the chosen movie", f"{int(movies.loc[m, 'ratings']):,}")

    chart = charts.embedding_map(movies, users, selected=m, neighbours=nb["idx"].tolist(), rated=rated, user_id=user,
                                 genre=None if colour == "first genre" else colour,
                                 title=f"{METHODS[method].split(' (')[0]} of the movie vectors (size: number of ratings)")
    st.altair_chart(chart, width="stretch")
    st.caption("Scroll to zoom, drag to pan, hover for the title. Points close together are movies the same people "
               "watch. t-SNE keeps neighbourhoods but not distances between clusters.")

    st.markdown(f"**Nearest neighbours of {movie}**")
    shown = nb.merge(movies[["idx", "title", "genres", "ratings"]], on="idx")
    st.dataframe(shown, hide_index=True, width="stretch", column_order=["rank", "title", "genres", "cosine", "ratings"],
                 column_config={"rank": st.column_config.NumberColumn("#", width="small"),
                                "title": st.column_config.TextColumn(width="large"),
                                "cosine": st.column_config.NumberColumn(format="%.3f", help=(
                                    "The angle between the two movies' tower vectors (the folded popularity "
                                    "bias left out): what 'movies like this' ranks by, on the Recommend page "
                                    "too."))})
    if rated is not None:
        st.markdown(f"**User {user} rated {len(rated)} movies** (black rings on the map)")
        st.dataframe(rated.drop(columns="idx").sort_values("user_rating", ascending=False), hide_index=True,
                     width="stretch", height=300)
    st.caption(f"Same from the command line: `python -m recsys embeddings --run {run.run_id} --movie \"{movie}\" "
               f"--k {k}`")

    st.divider()
    export_section(run, ds)


main()
