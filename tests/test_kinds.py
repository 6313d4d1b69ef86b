"""One table of run kinds (``recsys/store/kinds.py``): the store, ``runs --kind``, the Compare page and deletion.

A ranking run is listed on Compare with its RMSE beside the baselines of its split, its RMSE
curve is drawn, and the teacher deletes it from the page; the CLI lists every kind of the table.
"""
import json

import pytest

from recsys import cli
from recsys.config import ITEM_DEFAULT, RANKING_TUTORIAL
from recsys.store import kinds, runs
from recsys.ui import tables
from recsys.ui import charts
from tests import shared_runs
from tests.helpers import assert_clean, open_page, texts

# A ranking run of its own (no other test uses these settings, so deleting it disturbs nobody).
RANKING = RANKING_TUTORIAL.with_(embedding_dim=8, layers=(16,), epochs=2, batch_size=4096, learning_rate=0.07)


@pytest.fixture(scope="module")
def ranking_run(ml100k):
    run, _ = runs.train_or_load(RANKING, ml100k)
    return run


def test_every_kind_reads_its_runs_and_names_its_headline(ranking_run, tiny_run):
    assert set(kinds.KINDS) == {"retrieval", "item_to_item", "ranking"}
    for name, kind in kinds.KINDS.items():
        assert kind.settings().validate() is not None and isinstance(kind.default, kind.settings)
        assert kinds.kind_of(kind.default) is kind and runs.kind_of(kind.default) == name
    assert ranking_run.label().endswith(f"RMSE {ranking_run.metrics['model']['test']['rmse']:.4f}")
    assert tiny_run.label().endswith(f"top-100 {tiny_run.metrics['model']['test']['top_100']:.3f}")
    # the table's columns read the run's own numbers; a metric a run lacks is NaN, not an error
    row = tables.kind_runs([ranking_run], "ranking").iloc[0]
    assert row["rmse"] == ranking_run.metrics["model"]["test"]["rmse"]
    assert row["biases_rmse"] == ranking_run.metrics["biases"]["test"]["rmse"]
    assert kinds.lookup({"model": {}}, ("model", "test", "rmse")) is None


def test_a_run_without_its_kinds_numbers_is_damaged(ranking_run, tmp_path):
    import shutil

    copy = tmp_path / ranking_run.run_id
    shutil.copytree(ranking_run.path, copy)
    meta = json.loads((copy / "run.json").read_text())
    del meta["metrics"]["biases"]
    (copy / "run.json").write_text(json.dumps(meta))
    assert runs.list_runs(tmp_path, kind=None) == []  # skipped with a warning, not listed
    from recsys.errors import UserError

    with pytest.raises(UserError, match="lack biases/test/rmse"):
        runs.read_dir(copy)


def test_runs_kind_offers_every_kind_of_the_table(ranking_run, tiny_run, capsys):
    for name in kinds.KINDS:
        assert cli.main(["runs", "--kind", name, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert {r["kind"] for r in listed} <= {name}
    assert cli.main(["runs", "--kind", "ranking"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(ranking_run.run_id))
    assert f"RMSE {ranking_run.metrics['model']['test']['rmse']:.4f}" in line
    assert cli.main(["runs", "--kind", "all", "--json"]) == 0
    assert {ranking_run.run_id, tiny_run.run_id} <= {r["run_id"] for r in json.loads(capsys.readouterr().out)}


@pytest.mark.slow
def test_compare_lists_plots_and_deletes_a_ranking_run(ranking_run, tiny_run, monkeypatch):
    monkeypatch.setenv("RECSYS_ADMIN_TOKEN", "teach")
    at = open_page("app_pages/compare.py")
    assert_clean(at, errors=True)
    assert "Ranking runs" in {s.value for s in at.subheader}
    table = next(d.value for d in at.dataframe if "rmse" in d.value.columns)
    row = table.set_index("run_id").loc[ranking_run.run_id]
    assert row["rmse"] == pytest.approx(ranking_run.metrics["model"]["test"]["rmse"])
    assert row["global_mean_rmse"] == pytest.approx(ranking_run.metrics["global_mean"]["test"]["rmse"])

    # its RMSE curve: drawn on the page, from the run's own per-epoch test RMSE
    at.multiselect(key="compare_runs_ranking").set_value([ranking_run.run_id]).run()
    assert_clean(at, errors=True)
    assert any("Test RMSE per epoch" in c.proto.spec for c in at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart"))
    shown = next(iter(charts.kind_curves([ranking_run], "ranking").to_dict()["datasets"].values()))
    assert [(p["epoch"], p["value"]) for p in shown] == [(r["epoch"], r["test"]["rmse"]) for r in ranking_run.history]

    # a session that trained nothing may delete nothing; the teacher may delete any kind of run
    assert "delete_run" not in [w.key for w in at.selectbox]
    at.text_input(key="teacher_token").set_value("teach").run()
    assert_clean(at, errors=True)
    box = at.selectbox(key="delete_run")
    assert any(o.startswith(ranking_run.run_id) for o in box.options)
    assert any(o.startswith(tiny_run.run_id) for o in box.options)  # retrieval runs too, in the same box
    box.set_value(ranking_run.run_id).run()
    at.checkbox(key=f"delete_sure_{ranking_run.run_id}").check().run()
    at.button(key="delete_button").click().run()
    assert_clean(at, errors=True)
    assert f"Deleted run {ranking_run.run_id}." in texts(at.success)
    assert ranking_run.run_id not in {r.run_id for r in runs.list_runs(kind="ranking")}
    assert all(ranking_run.run_id not in set(d.value["run_id"]) for d in at.dataframe if "run_id" in d.value)


@pytest.mark.slow
def test_the_recommend_page_prefers_our_best_of_each_kind_over_newer_runs(tiny_run, ml100k):
    """The item-to-item column shows *Our best* on the active run's split, even when a newer run exists."""
    from recsys.store.kinds import companion

    best = companion("item_to_item", tiny_run.config)
    assert best == ITEM_DEFAULT.with_(split=tiny_run.config.split, seed=tiny_run.config.seed)
    ours = shared_runs.get(best, ml100k)  # ready's first start may have trained it (tests/test_browser.py)
    newer, _ = runs.train_or_load(best.with_(embedding_dim=8, epochs=1), ml100k)  # only this test trains it
    assert newer.created > ours.created
    order = [r.run_id for r in runs.item_runs_for(tiny_run)]
    assert order[0] == ours.run_id and newer.run_id in order
    at = open_page("app_pages/recommend.py", {"mode": "movie", "movie_title": "Star Wars (1977)", "k": "10"},
                   active=tiny_run.run_id)
    assert_clean(at, errors=True)
    assert f"Run `{ours.run_id}`" in texts(at.caption)
    assert "No item-to-item run" not in texts(at.info)
