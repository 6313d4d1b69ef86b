"""Sweeps (reuse of saved runs), the embedding map's numbers, and the Compare / Embedding map pages.

Real ML-100k, real (tiny) training. The sweep trains one new run (learning rate 0.3); the page test
at the end deletes it again through the page, with its confirmation box.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from recsys import cli
from recsys.experiments import sweep
from recsys.serving.recommend import Recommender
from recsys.store import runs
from recsys.ui import charts
from recsys.ui import embedding_map as projection
from recsys.errors import UserError
from tests.helpers import assert_clean, open_page, texts
AXES = {"embedding_dim": [8], "learning_rate": [0.1, 0.606]}  # cell 1 = the tiny_run fixture, cell 2 = a new run


class Recorder(sweep.SweepCallback):
    def __init__(self):
        self.events = []

    def on_run_start(self, i, n, config):
        self.events.append(("start", i, n))

    def on_batch(self, epoch, step, steps, loss):
        self.events.append(("batch",))

    def on_run_end(self, i, n, cell):
        self.events.append(("end", i, cell["reused"]))


def snapshot(root: Path) -> dict:
    """Every file under the runs folder with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def first_sweep(tiny_run, ml100k):
    return sweep.run_sweep(tiny_run.config, AXES, ml100k, Recorder())


def test_sweep_reuses_saved_runs(first_sweep, tiny_run, ml100k):
    assert [c["config"]["learning_rate"] for c in first_sweep.cells] == [0.1, 0.606]
    assert first_sweep.cells[0]["reused"] and first_sweep.cells[0]["run_id"] == tiny_run.run_id

    root = tiny_run.path.parent
    before = snapshot(root)
    rec = Recorder()
    again = sweep.run_sweep(tiny_run.config, AXES, ml100k, rec)
    assert [c["reused"] for c in again.cells] == [True, True]
    assert again.trained == 0
    assert [c["run_id"] for c in again.cells] == [c["run_id"] for c in first_sweep.cells]
    assert snapshot(root) == before  # nothing written, nothing replaced
    assert ("batch",) not in rec.events
    assert rec.events == [("start", 0, 2), ("end", 0, True), ("start", 1, 2), ("end", 1, True)]
    assert all(ok for _, ok in sweep.plan(tiny_run.config, AXES, ml100k))

    frame = again.frame(k=10)
    assert list(frame.columns[:2]) == ["embedding_dim", "learning_rate"] and len(frame) == 2
    best = again.best(k=10)
    assert best["accuracy"] == frame["accuracy"].max()
    spec = charts.sweep_heatmap(frame, list(again.axes), 10).to_dict()
    texts = [r["text"] for r in spec["datasets"][next(iter(spec["datasets"]))]]
    assert sum(t.startswith("★") for t in texts) == 1


def test_sweep_cli(first_sweep, capsys):
    rc = cli.main(["sweep", "--embedding-dim", "8", "--learning-rate", "0.1,0.606", "--epochs", "1", "--batch-size",
                   "4096", "--k", "10", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["trained"] == 0 and out["reused"] == 2
    assert out["axes"] == {"learning_rate": [0.1, 0.606]}
    assert out["best"]["run_id"] in {c["run_id"] for c in first_sweep.cells}
    rc = cli.main(["sweep", "--embedding-dim", "8", "--learning-rate", "0.1,0.606", "--epochs", "1", "--batch-size",
                   "4096"])
    text = capsys.readouterr().out
    assert rc == 0 and "2 reused" in text and "*" in text
    # Mistakes a user can make: exit 2 with one line, nothing trained.
    assert cli.main(["sweep", "--embedding-dim", "8,16", "--epochs", "1,2", "--seed", "1,2"]) == 2
    assert cli.main(["sweep", "--epochs", "1,2", "--k", "7"]) == 2
    assert cli.main(["sweep", "--epochs", "1"]) == 2
    assert "at most two" in capsys.readouterr().err


def test_grid_checks_before_training(tiny_run):
    base = tiny_run.config
    assert len(sweep.grid(base, {"embedding_dim": [8, 16], "epochs": [1, 2, 3]})) == 6
    for bad in ({"optimizer": ["adam"]}, {"embedding_dim": [4, 8]}, {"epochs": []},
                {"embedding_dim": [8], "epochs": [1], "seed": [1]}, {"seed": list(range(100))}):
        with pytest.raises(UserError):
            sweep.grid(base, bad)
    assert sweep.normalise_axes({"epochs": [3, 1, 3.0]}) == {"epochs": [3, 1]}


def test_projection_and_neighbours(tiny_run, ml100k):
    users, movies = tiny_run.vectors
    p = projection.project(movies, users, "pca")
    assert p["movies"].shape == (len(ml100k.titles), 2) and p["users"].shape == (len(ml100k.user_ids), 2)
    assert 0 < p["explained"].sum() <= 1 and p["explained"][0] >= p["explained"][1]
    # Users are drawn in the movies' plane: projecting the movies "as users" gives the movie coordinates.
    assert np.allclose(projection.pca(movies, fit_on=movies)[0], p["movies"])
    # t-SNE (small subset, for time): finite 2-D coordinates, reproducible with the seed.
    t1 = projection.tsne(movies[:80], seed=1, max_iter=250)
    assert t1.shape == (80, 2) and np.isfinite(t1).all()
    assert np.allclose(t1, projection.tsne(movies[:80], seed=1, max_iter=250))

    m = list(ml100k.titles).index("Star Wars (1977)")
    space = projection.spaces(users, movies, tiny_run.config.movie_bias)[1]
    nb = projection.neighbours(space, m, 10)
    comp = Recommender(tiny_run, ml100k).for_movie("Star Wars (1977)", 10)  # the Recommend page's "Per movie"
    assert nb["idx"].tolist() == [r["movie_idx"] for r in comp.bruteforce]  # the same neighbours, same space
    assert np.allclose(nb["cosine"], [r["score"] for r in comp.bruteforce], atol=1e-4)
    assert (np.abs(nb["cosine"]) <= 1 + 1e-6).all()

    table = projection.movie_table(ml100k)
    assert table["ratings"].sum() == len(ml100k.ratings) and table["genre"].notna().all()
    genres = ml100k.title_genres.reindex(ml100k.titles).fillna("").tolist()
    g = projection.genre_agreement(space, genres, 10, 20, table["ratings"].to_numpy())
    assert 0 <= g["random"] <= 1 and g["neighbours"] > g["random"]  # genres cluster even after one epoch
    with pytest.raises(UserError):
        projection.neighbours(space, m, 0)
    with pytest.raises(UserError):
        projection.rated(ml100k, "no-such-user")


def test_embedding_cli(tiny_run, tmp_path, capsys):
    csv = tmp_path / "map.csv"
    rc = cli.main(["embeddings", "--run", tiny_run.run_id, "--movie", "Star Wars (1977)", "--k", "5",
                   "--users", "--csv", str(csv), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["neighbours"]) == 5 and len(out["explained_variance"]) == 2
    assert csv.read_text().count("\n") == 1 + 1664 + 943
    assert cli.main(["embeddings", "--run", tiny_run.run_id, "--movie", "Star Warz"]) == 2


def test_embeddings_page(tiny_run):
    at = open_page("app_pages/embeddings.py", active=tiny_run.run_id)
    assert_clean(at, errors=True)
    assert tiny_run.run_id in at.caption[0].value
    labels = [m.label for m in at.metric]
    assert "Variance kept by the 2 PCA axes" in labels and any("sharing a genre" in x for x in labels)
    assert len(at.dataframe[0].value) == 10  # the neighbours of the default movie
    at.slider(key="map_k").set_value(5)
    at.toggle(key="map_users").set_value(True).run()
    at.selectbox(key="map_user").set_value("42").run()
    at.selectbox(key="map_colour").set_value("Sci-Fi").run()
    assert_clean(at, errors=True)
    assert len(at.dataframe[0].value) == 5 and "User 42 rated" in " ".join(m.value for m in at.markdown)
    assert [b.label for b in at.button] == ["Build and check the SavedModel"]


def test_compare_page_sweep_and_delete(first_sweep, tiny_run, monkeypatch):
    new_run = first_sweep.cells[1]["run_id"]
    at = open_page("app_pages/compare.py")
    assert_clean(at, errors=True)
    assert new_run in at.dataframe[0].value["run_id"].tolist()
    at.multiselect(key="compare_runs").set_value([tiny_run.run_id, new_run]).run()
    at.selectbox(key="compare_k").set_value(10).run()
    assert_clean(at, errors=True)

    # The sweep tab: the same grid as first_sweep, from the tiny run's settings: all reused.
    at.session_state["active_run"] = tiny_run.run_id
    at.radio(key="sweep_base").set_value("Active run").run()
    at.selectbox(key="sweep_axis1").set_value("embedding_dim").run()
    at.multiselect(key="sweep_values1_embedding_dim").set_value([8])
    at.selectbox(key="sweep_axis2").set_value("learning_rate").run()
    at.multiselect(key="sweep_values2_learning_rate").set_value([0.1]).run()
    assert "1 saved already (reused), 0 to train" in " ".join(m.value for m in at.markdown)
    at.button(key="sweep_go").click().run()
    assert_clean(at, errors=True)
    assert "0 trained, 1 reused" in " ".join(m.value for m in at.markdown)
    at.button(key="sweep_activate").click().run()  # the best cell becomes the sidebar's active run
    assert at.sidebar.selectbox[0].value == tiny_run.run_id

    # This session trained none of the runs: it may delete none, until it types the teacher's token.
    assert "delete_run" not in [w.key for w in at.selectbox]
    assert "deletes only the runs it trained: 0 of" in texts(at.caption)
    monkeypatch.setenv("RECSYS_ADMIN_TOKEN", "let-me-tidy")
    at.run()
    at.text_input(key="teacher_token").input("wrong").run()
    assert "deletes only the runs it trained: 0 of" in texts(at.caption)
    at.text_input(key="teacher_token").input("let-me-tidy").run()
    assert "Teacher: you may delete any run." in texts(at.caption)

    # Delete needs the confirmation box ticked first.
    at.selectbox(key="delete_run").set_value(new_run).run()
    assert at.button(key="delete_button").disabled
    at.checkbox(key=f"delete_sure_{new_run}").check().run()
    at.button(key="delete_button").click().run()
    assert_clean(at, errors=True)
    assert f"Deleted run {new_run}." in [s.value for s in at.success]
    assert new_run not in [r.run_id for r in runs.list_runs()]
    assert new_run not in at.dataframe[0].value["run_id"].tolist()
