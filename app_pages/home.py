"""Home: the dataset at a glance, and how two-tower retrieval works."""
import streamlit as st

from app_pages import cache, common
from recsys.config import TUTORIAL
from recsys.errors import UserError
from recsys.ui import charts, diagrams

st.title("🎬 Two-tower movie retrieval, hands on")
st.caption("Train the TensorFlow Recommenders retrieval model on MovieLens, tune it with sliders, "
           "and see why it works (or does not).")

try:
    ds = cache.dataset()
except UserError as e:  # listing the sources tried
    common.show_error(e)
    st.stop()

s = ds.summary()
c = st.columns(5)
c[0].metric("Ratings", f"{s['ratings']:,}")
c[1].metric("Users", f"{s['users']:,}")
c[2].metric("Movies", f"{s['movies']:,}")
c[3].metric("Distinct titles", f"{s['titles']:,}")
c[4].metric("Source", s["source"])

st.header("How a recommender finds ten movies among thousands")
st.markdown(
    "Real recommenders work in **two stages**. *Retrieval* cheaply narrows the whole catalog to a few hundred "
    "candidates; *ranking* then spends a heavier model on those few. This app builds both: retrieval as in the "
    "[TFRS retrieval tutorial](https://www.tensorflow.org/recommenders/examples/basic_retrieval), ranking as in "
    "the [ranking tutorial](https://www.tensorflow.org/recommenders/examples/basic_ranking) (a model that predicts "
    "the stars a user gives a movie: the tutorial's MLP, or our biased matrix factorisation, RMSE 0.906).")
st.graphviz_chart(diagrams.two_stage(n_movies=s["titles"]), width="stretch")
st.markdown(
    "**What ranking adds, and when it pays.** Retrieval is trained to tell the movies a user *watched* from the rest "
    "of the catalog, with one dot product per movie so that it can scan millions. A ranking model sees only the "
    "candidates, so it can afford more per movie (an MLP over both vectors, their features, biases) and learn another "
    "target: *how much* the user likes a movie. It pays when the candidates are already likely watches and the "
    "order among them matters; it cannot bring back a movie retrieval missed (recall@N bounds it). *Recommend → Per "
    "user* shows both lists side by side with NDCG@10 of each over all test users.")
st.page_link("app_pages/recommend.py", label="Both stages on the Recommend page", icon="🎬")

st.markdown(
    "The retrieval model has **two towers**. The *user tower* turns a user into a vector *u*, the *movie tower* "
    "turns a movie into a vector *m* of the same length; their **dot product** *u · m* is the score. "
    "Because movie vectors do not depend on the user, they are computed once and put in a nearest-neighbour "
    "index: serving a user is one vector and one index lookup.\n\n"
    "Training uses **in-batch softmax**: in a batch of rated (user, movie) pairs, each user's own movie must "
    "score higher than the *other* movies of the batch, which serve as negatives. Popular movies appear in "
    "many batches, so they are pushed down often — the *popularity correction* lever undoes that bias.")
run = None
rid = st.session_state.get(common.RUN_KEY)
if rid is not None:
    try:
        run = cache.run(rid)
    except UserError:
        run = None
config = run.config if run is not None else TUTORIAL
st.graphviz_chart(diagrams.two_tower(config), width="stretch")
st.caption(f"Drawn for {'the active run: ' + config.label() if run else 'the tutorial preset: ' + config.label()}.")

st.header("The data")
left, right = st.columns(2)
left.altair_chart(charts.rating_histogram(ds), width="stretch")
right.altair_chart(charts.genre_counts(ds), width="stretch")
st.altair_chart(charts.long_tail(ds), width="stretch")
st.caption("A few blockbusters collect most ratings. A model that learns only *popularity* already scores well "
           "on top-K metrics: that is the baseline every page compares against.")

st.header("Where to go next")
if run is None:
    st.info("No trained run yet: start on the Train page (the tutorial preset is selected for you).")
c = st.columns(3)
c[0].page_link("app_pages/train.py", label="**Train** a model and watch it learn", icon="🏋️")
c[0].caption("Sliders for every hyperparameter; top-K against the popularity baseline.")
c[1].page_link("app_pages/recommend.py", label="**Recommend** for a user or a movie", icon="🎬")
c[1].caption("BruteForce and ScaNN side by side, e.g. for user 42 or *Star Wars (1977)*.")
c[2].page_link("app_pages/compare.py", label="**Compare** runs", icon="📊")
c[2].caption("Which levers matter: runs side by side.")
c = st.columns(3)
c[0].page_link("app_pages/ann.py", label="**ANN lab**: ScaNN vs BruteForce", icon="⚡")
c[0].caption("Recall and latency as ScaNN's knobs change.")
c[1].page_link("app_pages/embeddings.py", label="**Embedding map**", icon="🗺️")
c[1].caption("The movie vectors in 2-D: what did the model learn?")
