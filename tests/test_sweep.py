"""Sweeps (``recsys/experiments/sweep.py``): saved runs reused, the CLI, the grid checked first, the Compare page.

Real ML-100k, real (tiny) training. The sweep trains one new run (learning rate 0.3); the page test
at the end deletes it again through the page, with its confirmation box."""
import json
from pathlib import Path
import pytest
from recsys import cli
from recsys.experiments import sweep
from recsys.store import runs
from recsys.ui import charts
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


@pytest.mark.slow
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
