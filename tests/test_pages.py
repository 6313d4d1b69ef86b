"""The Streamlit pages through ``streamlit.testing.v1.AppTest``: real data, real training, real ScaNN.

AppTest runs ``app.py`` in this process, so the pages share the test session's
``$RECSYS_HOME`` (conftest) and the dataset loaded by the ``ml100k`` fixture. A page that
follows a training redraws from an ``st.fragment(run_every=…)``; AppTest runs no timers, so
``run_until`` reruns it by hand.
"""
from pathlib import Path

import pytest
import streamlit as st

from recsys.config import BEST, LEVERS, TUTORIAL
from recsys.store import runs
from recsys.ui import links
from tests.helpers import TINY_SETTINGS, assert_clean, open_page, run_until, texts

# The tiny config with a learning rate no other test uses, so the first click really trains. Runs that must be
# fresh differ by learning rate, not seed: the same split (seed 42) shares its baselines, tuned once per session.
SETTINGS = {**TINY_SETTINGS, "learning_rate": 0.3}


def trained(at) -> bool:
    """The Train page shows the outcome of its click (a result, or an error)."""
    return any("saved as run" in s.value for s in at.success) or bool(at.main.error) or \
        any("Loaded a saved run" in i.value for i in at.info)


# ----------------------------------------------------------------------------- URL parameters (no UI)


def test_query_round_trip_and_fixes():
    for config in (TUTORIAL, BEST, TUTORIAL.with_(deep_layers=(64, 32), l2=1e-5, user_features=True)):
        assert links.config_from_query(links.config_to_query(config)) == (config, [])
    config, notices = links.config_from_query({
        "embedding_dim": "9999", "epochs": "abc", "learning_rate": "0.05", "optimizer": "sgd",
        "popularity_correction": "maybe", "deep_layers": "a,b", "seed": "-3", "preset": "best"})
    assert (config.embedding_dim, config.epochs, config.learning_rate, config.optimizer) == (1024, BEST.epochs, 0.05,
                                                                                             "adam")
    assert config.seed == 0 and config.popularity_correction is BEST.popularity_correction
    assert config.deep_layers == ()
    for name in ("embedding_dim", "epochs", "optimizer", "popularity_correction", "deep_layers", "seed"):
        assert sum(name in n for n in notices) == 1, (name, notices)
    assert not any("learning_rate" in n for n in notices)  # in range, between slider stops: kept as is


# ----------------------------------------------------------------------------- pages


def test_home_explains_and_links(ml100k):
    at = open_page()
    assert_clean(at)
    assert "two-tower" in at.title[0].value.lower()
    assert len(at.get("graphviz_chart")) == 2  # two-stage pipeline, two-tower model
    assert {m.label for m in at.metric} >= {"Ratings", "Users", "Movies"}
    assert len(at.get("page_link")) >= 5


def test_train_page_url_clamping_and_presets(ml100k):
    at = open_page("app_pages/train.py", {"embedding_dim": "9999", "optimizer": "sgd", "batch_size": "5000",
                                      "epochs": "two", "learning_rate": "0.00001"})
    assert_clean(at)
    assert at.slider(key="embedding_dim").value == 1024
    assert at.selectbox(key="optimizer").value == "adagrad"
    assert at.select_slider(key="batch_size").value == 5000  # between the stops, in range: kept
    assert at.select_slider(key="learning_rate").value == 0.0001
    assert at.slider(key="epochs").value == TUTORIAL.epochs
    warned = texts(at.warning)
    for name in ("embedding_dim", "optimizer", "epochs", "learning_rate"):
        assert name in warned
    assert "batch_size" not in warned
    assert at.query_params["embedding_dim"] == "1024"  # the fixed value is mirrored back into the URL

    at.selectbox(key="preset").select("Our best").run()
    assert_clean(at)
    assert at.slider(key="embedding_dim").value == BEST.embedding_dim
    assert at.toggle(key="popularity_correction").value is BEST.popularity_correction
    assert at.toggle(key="history_encoder").value is True and at.toggle(key="multinomial").value is True
    assert at.query_params["optimizer"] == "adam"
    for name in links.LEVER_KEYS:  # every other lever sits in "More levers", with its lever's one-line help
        assert at.get_by_key(name).help == LEVERS[name].help, name


@pytest.mark.slow
def test_train_then_recommend(ml100k):
    saved = runs.find(TUTORIAL.with_(**SETTINGS), ml100k)
    if saved is not None:  # left by an earlier session in the same $RECSYS_HOME: the click must train
        runs.delete(saved.run_id)
    before = {r.run_id for r in runs.list_runs()}
    at = open_page("app_pages/train.py")
    for key, value in SETTINGS.items():
        widget = {"batch_size": at.select_slider, "learning_rate": at.select_slider}.get(key, at.slider)(key=key)
        widget.set_value(value)
    at.run()
    assert {r.run_id for r in runs.list_runs()} == before, "moving a widget must not train"

    at.button(key="train").click().run()
    run_until(at, trained)
    assert_clean(at)
    assert "Trained in" in texts(at.success)
    table = at.dataframe[0].value
    assert len(table) == 10  # model, popularity, EASE, item-kNN and iALS, both variants
    assert set(table["who"]) == {"model", "popularity", "EASE", "item-kNN", "iALS"}
    sentence = texts(at.markdown)  # the honest sentence: where the model stands against every baseline
    assert "With the movies users rated removed, the model" in sentence and "EASE" in sentence
    numbers = table[[f"top-{k}" for k in (1, 5, 10, 50, 100)]].to_numpy()
    assert ((numbers >= 0) & (numbers <= 1)).all()
    new = {r.run_id for r in runs.list_runs()} - before
    assert len(new) == 1
    run_id = new.pop()
    assert at.sidebar.selectbox(key="active_run").value == run_id  # the trained run is now active

    at.button(key="train").click().run()  # the same config again: no retraining
    assert_clean(at)
    assert "Loaded a saved run" in texts(at.info)

    other = open_page("app_pages/train.py", {k: str(v) for k, v in SETTINGS.items()})  # another session, by link
    assert_clean(other)
    other.button(key="train").click().run()
    assert "Loaded a saved run" in texts(other.info)
    assert {r.run_id for r in runs.list_runs()} - before == {run_id}

    mine = at.switch_page("app_pages/compare.py").run()
    assert_clean(mine)  # the session that trained the run may delete it, and only it; the one that loaded it, none
    assert "delete_run" in [w.key for w in mine.selectbox] and mine.selectbox(key="delete_run").options == [
        f"{run_id} · {runs.load(run_id).label()}"]
    other.switch_page("app_pages/compare.py").run()
    assert_clean(other)
    assert "delete_run" not in [w.key for w in other.selectbox] and "trained: 0 of" in texts(other.caption)

    at.switch_page("app_pages/recommend.py").run()
    assert_clean(at)
    assert at.selectbox(key="recommend_user").value == "42"
    at.slider(key="k").set_value(5).run()
    assert_clean(at)
    lists = at.dataframe[-2:]
    assert [len(d.value) for d in lists] == [5, 5]
    assert {"Age", "Gender", "Occupation"} <= {m.label for m in at.metric}
    assert "Overlap@5" in {m.label for m in at.metric}

    at.radio(key="mode").set_value("Per movie").run()
    assert_clean(at)
    assert at.selectbox(key="movie_title").value == "Star Wars (1977)"
    lists = at.dataframe[-2:]
    assert [len(d.value) for d in lists] == [5, 5]
    assert "Star Wars (1977)" not in set(lists[0].value["movie_title"])

    at.number_input(key="num_leaves").set_value(10)
    at.number_input(key="num_leaves_to_search").set_value(20)
    at.run()
    assert_clean(at)
    assert "num_leaves_to_search" in texts(at.error)

    at.number_input(key="num_leaves_to_search").set_value(10).run()  # valid again: a rebuilt index
    assert_clean(at)
    assert not at.error
    assert [len(d.value) for d in at.dataframe[-2:]] == [5, 5]


@pytest.mark.slow
def test_pages_without_runs(ml100k, monkeypatch, tmp_path):
    import os

    (tmp_path / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")  # the dataset, without runs
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    for page in ("app_pages/recommend.py", "app_pages/home.py", "app_pages/train.py"):
        at = open_page(page)
        assert_clean(at)
        assert any("No trained run" in i.value or "Nothing trained" in i.value for i in at.info), page
    assert at.sidebar.get("page_link")  # "Train one" link in the sidebar


# ----------------------------------------------------------------------------- links to the Recommend page


def test_recommend_page_links(tiny_run):
    at = open_page("app_pages/recommend.py", {"mode": "user", "user_id": "9999", "k": "abc", "exclude_seen": "maybe"})
    assert_clean(at)
    warned = texts(at.warning)
    for part in ("user_id='9999' is not a user", "k='abc' is not a number", "exclude_seen='maybe' is not true/false"):
        assert part in warned, warned
    shown = at.selectbox(key="recommend_user").value, at.slider(key="k").value, at.toggle(key="exclude_seen").value
    assert shown == ("42", 10, True)
    # A session's pages share widget keys, and the Train page keys its levers by their names: none here
    widgets = (at.radio, at.slider, at.toggle, at.selectbox, at.multiselect, at.select_slider, at.number_input)
    assert not {w.key for kind in widgets for w in kind} & set(LEVERS)
    assert [len(d.value) for d in at.dataframe[-2:]] == [10, 10]
    assert at.query_params["user_id"] == "42" and at.query_params["k"] == "10"  # the URL now says what is shown
    at.slider(key="k").set_value(5).run()  # a changed setting: the link's notices are done
    assert_clean(at)
    assert not at.warning

    at = open_page("app_pages/recommend.py", {"mode": "user", "user_id": "7", "k": "5", "exclude_seen": "false"})
    assert_clean(at)
    assert not at.warning
    assert "Top 5 for user 7" in texts(at.subheader) and at.toggle(key="exclude_seen").value is False
    assert [len(d.value) for d in at.dataframe[-2:]] == [5, 5]

    at = open_page("app_pages/recommend.py", {"mode": "movie", "movie_title": "star wars", "k": "100000"})
    assert_clean(at)
    warned = texts(at.warning)
    assert "movie_title='star wars' is not a movie" in warned and "Did you mean 'Star Wars (1977)'" in warned
    assert "k=100000 is out of range [1, 50]; using 50" in warned
    assert at.radio(key="mode").value == "Per movie" and at.selectbox(key="movie_title").value == "Star Wars (1977)"
    assert [len(d.value) for d in at.dataframe[-2:]] == [50, 50]
    assert "user_id" not in at.query_params and at.query_params["mode"] == "movie"

    # A session's pages share its widget keys: the Recommend page's picks must not land on a Train lever (the user
    # picker had the key of the `user_id` lever, a toggle: Per movie, then Train, raised a TypeError).
    at.switch_page("app_pages/train.py").run()
    assert_clean(at)
    assert at.toggle(key="user_id").value is TUTORIAL.user_id
    at.switch_page("app_pages/recommend.py").run()
    assert_clean(at)
    assert at.radio(key="mode").value == "Per movie" and at.selectbox(key="movie_title").value == "Star Wars (1977)"


# ----------------------------------------------------------------------------- many sessions, one server


def test_server_memory_is_bounded_lru():
    """``st.cache_resource(max_entries=...)``, the app's one cache layer, drops the least recently used."""
    built = []

    @st.cache_resource(max_entries=2)
    def build(key):
        built.append(key)
        return key

    for key in "abac":  # "a" was used after "b": "b" is the one evicted
        build(key)
    build("a")
    build("b")
    assert built == ["a", "b", "c", "b"]


def test_the_cache_layer_serves_a_run_until_it_changes_and_listing_writes_nothing(tiny_run, ml100k, tmp_path,
                                                                                  monkeypatch):
    """One object per run for every session; a run deleted or trained meanwhile is never served from memory."""
    import os

    from app_pages import cache

    assert cache.run(tiny_run.run_id) is cache.run(tiny_run.run_id)  # read once, shared
    (tmp_path / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    config = TUTORIAL.with_(**{**SETTINGS, "learning_rate": 0.012})
    assert cache.saved_runs() == []
    first, _ = runs.train_or_load(config, ml100k)
    assert [r.run_id for r in cache.saved_runs()] == [first.run_id]  # the new run is listed at once
    assert cache.run(first.run_id).path == first.path
    stale = tmp_path / "runs" / ".tmp-old"
    stale.mkdir()
    os.utime(stale, (0, 0))  # a leftover of a writer killed long ago
    cache.saved_runs()
    cache.run(first.run_id)
    assert stale.exists()  # reading never deletes
    runs.delete(first.run_id)
    assert not stale.exists()  # writing sweeps it
    assert cache.saved_runs() == []
    from recsys.errors import UserError

    with pytest.raises(UserError, match="no saved run"):
        cache.run(first.run_id)  # deleted: not served from memory


@pytest.mark.slow
def test_two_sessions_same_config_train_once(ml100k):
    """A session clicks Train on settings another session already queued (behind a third training): one training.

    The other sessions are the server's queue used directly (AppTest runs are not safe to run
    two at a time in one process); the page session is a real AppTest, run in a thread.
    """
    from app_pages import cache

    lr = 0.05
    config = TUTORIAL.with_(**{**SETTINGS, "learning_rate": lr})
    saved = runs.find(config, ml100k)
    if saved is not None:
        runs.delete(saved.run_id)
    queue = cache.job_queue()  # the server's queue (st.cache_resource: the same object the pages use)
    blocker = queue.submit(TUTORIAL.with_(embedding_dim=8, epochs=50, batch_size=4096, learning_rate=0.051), ml100k,
                           watcher="blocker")
    first = queue.submit(config, ml100k, watcher="first session")
    assert first.state == "queued" and queue.ahead(first) == 1  # behind the blocker
    at = open_page("app_pages/train.py", {k: str(v) for k, v in {**SETTINGS, "learning_rate": lr}.items()})
    at.button(key="train").click().run()  # returns at once: the fragment shows the job's place in the queue
    assert_clean(at)
    assert len(first.watchers) == 2  # the page's session joined the queued job instead of queueing its own
    assert "1 ahead in the queue" in texts(at.info) and at.button(key="cancel_training")
    assert queue.live(first.run_id) is first
    at.slider(key="i2i_epochs").set_value(1)  # the item-to-item tab, while this session waits: refused, said so
    at.number_input(key="i2i_window").set_value(37).run()
    at.button(key="i2i_train").click().run()
    assert_clean(at)
    assert "One training per session" in texts(at.main.error) and at.button(key="i2i_cancel_other")
    assert [j.run_id for j in queue.watched_by(at.session_state["_watcher_id"])] == [first.run_id]  # nothing queued
    queue.cancel(blocker, "blocker")  # its only watcher leaves: it stops at the next batch, saves nothing
    queue.wait(first, timeout=300)
    assert first.state == "done" and not first.reused
    run_until(at, lambda at: f"saved as run {first.run_id}" in texts(at.success))
    assert_clean(at)
    assert f"saved as run {first.run_id}" in texts(at.success)  # the page got the run of the one training
    assert at.sidebar.selectbox(key="active_run").value == first.run_id
    queue.wait(blocker, timeout=300)
    assert blocker.state == "cancelled" and runs.find(blocker.config, ml100k) is None


@pytest.mark.slow
def test_training_failure_is_a_message(ml100k, monkeypatch, tmp_path):
    """A training whose run cannot be saved (a plain file named ``runs`` in $RECSYS_HOME) is an st.error."""
    import os

    (tmp_path / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    (tmp_path / "runs").write_text("not a folder")
    for page in ("home", "recommend", "ann", "compare", "embeddings"):  # every page says so, none crashes
        at = open_page(f"app_pages/{page}.py")
        assert_clean(at)
        assert "is a file, not a folder" in texts(at.sidebar.error), page
    at = open_page("app_pages/train.py", {k: str(v) for k, v in {**SETTINGS, "learning_rate": 0.06}.items()})
    assert_clean(at)
    assert len(at.main.error) == 0
    at.button(key="train").click().run()
    assert_clean(at)
    assert "is a file, not a folder" in texts(at.main.error)  # the training's own failure, beside the sidebar's
    assert not at.button(key="train").disabled
    at.slider(key="epochs").set_value(2).run()  # the page keeps working
    assert_clean(at)


@pytest.mark.slow
def test_a_stray_file_at_the_run_path_does_not_stop_training(ml100k, monkeypatch, tmp_path):
    """A foreign file where the run is saved is moved aside (kept), and the training lands."""
    import os

    (tmp_path / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    lr = 0.06
    rid = runs.run_id(TUTORIAL.with_(**{**SETTINGS, "learning_rate": lr}), runs.data_tag(ml100k))
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / rid).write_text("not a run")
    at = open_page("app_pages/train.py", {k: str(v) for k, v in {**SETTINGS, "learning_rate": lr}.items()})
    at.button(key="train").click().run()
    run_until(at, trained)
    assert_clean(at)
    assert f"saved as run {rid}" in texts(at.success)
    assert [p.read_text() for p in (tmp_path / "runs").glob(f".foreign-{rid}-*")] == ["not a run"]


@pytest.mark.slow
def test_a_killed_training_worker_is_a_message_and_the_next_click_trains(ml100k):
    """The worker process dies mid-training (killed, as the kernel's out-of-memory killer would): the server lives on,
    the Train page says what happened, and the same click trains the model on the fresh worker."""
    import os
    import signal
    import time

    from app_pages import cache

    settings = {**SETTINGS, "batch_size": 256, "learning_rate": 0.003}  # 312 small batches: long enough to kill
    saved = runs.find(TUTORIAL.with_(**settings), ml100k)
    if saved is not None:
        runs.delete(saved.run_id)
    at = open_page("app_pages/train.py", {k: str(v) for k, v in settings.items()})
    at.button(key="train").click().run()
    assert_clean(at)
    job = at.session_state["_train_job"]
    deadline = time.monotonic() + 120
    while job.snapshot()["steps"] == 0:  # training, not still starting
        assert time.monotonic() < deadline and not job.done, job.error
        time.sleep(0.1)
    assert job.pid != os.getpid()
    os.kill(job.pid, signal.SIGKILL)
    run_until(at, lambda at: bool(at.main.error))
    assert_clean(at)
    said = texts(at.main.error)
    assert f"training worker (process {job.pid}) stopped unexpectedly" in said and "signal 9" in said
    assert "press Train to try again" in said
    fresh = cache.job_queue().worker_pids()
    assert len(fresh) == 1 and fresh[0] != job.pid  # its replacement started at once
    at.button(key="train").click().run()
    run_until(at, lambda at: "saved as run" in texts(at.success))
    assert_clean(at)
    again = runs.find(TUTORIAL.with_(**settings), ml100k)
    assert again is not None and f"saved as run {again.run_id}" in texts(at.success)
    assert at.session_state["_train_result"][0] == again.run_id
