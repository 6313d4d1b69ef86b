"""The multitask model (a rating task and a retrieval task on the same vectors), its sweep, chart and CLI.

Real ML-100k through the real loader, tiny configs trained for real (a second or two each).
"""
import json

import pytest

from recsys import cli
from recsys.config import RANKING_BEST, RANKING_TUTORIAL, RankingConfig
from recsys.errors import UserError
from recsys.experiments import multitask
from recsys.store import runs
from recsys.training import ranking
from recsys.ui import charts
from tests.helpers import TINY_RANKING as TINY

TINY_FLAGS = ["--embedding-dim", "8", "--layers", "16", "--epochs", "2", "--batch-size", "4096"]
WEIGHTS = ((1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@pytest.fixture(scope="module")
def rows(ml100k):
    return multitask.sweep(TINY, ml100k, weights=WEIGHTS)


def test_the_default_weights_keep_every_ranking_run_id(ml100k):
    # The ids from before the weight levers existed (docs/ranking.md names e2446e0b335d for Our best).
    tag = runs.data_tag(ml100k)
    assert runs.run_id(RANKING_TUTORIAL, tag) == "2bed05db93ad"
    assert runs.run_id(RANKING_BEST, tag) == "e2446e0b335d"
    assert runs.run_id(TINY, tag) == "d22210d8b9d4"
    assert "retrieval_weight" not in TINY.identity() and "rating_weight" not in TINY.identity()
    joint = TINY.with_(retrieval_weight=1.0)
    assert runs.run_id(joint, tag) != runs.run_id(TINY, tag) and "ret1" in joint.label()
    with pytest.raises(UserError, match="both 0"):
        TINY.with_(rating_weight=0.0).validate()
    with pytest.raises(UserError, match="retrieval_weight must be between"):
        TINY.with_(retrieval_weight=-1.0).validate()


@pytest.mark.slow
def test_a_joint_model_trains_both_tasks_and_reports_both_metrics(ml100k):
    pure = ranking.fit(TINY.with_(epochs=1), ml100k)
    joint = ranking.fit(TINY.with_(epochs=1, retrieval_weight=1.0), ml100k)
    light = ranking.fit(TINY.with_(epochs=1, retrieval_weight=0.1), ml100k)
    # the retrieval loss (a sum over the batch's rows) joins the mean squared error, scaled by its weight
    assert pure.history[0]["loss"] < 10 < light.history[0]["loss"] < joint.history[0]["loss"]
    for result in (pure, joint):
        m = result.metrics
        assert {"rmse"} == set(m["model"]["test"])
        assert set(m["retrieval"]) == {"test", "test_filtered"} and 0 <= m["retrieval"]["test"]["top_100"] <= 1
    assert "retrieval" in joint.history[0] and "retrieval" not in pure.history[0]
    assert joint.metrics["retrieval"] == joint.history[-1]["retrieval"]
    # the same towers learn retrieval: far better top-K than the rating-only vectors
    assert joint.metrics["retrieval"]["test"]["top_100"] > pure.metrics["retrieval"]["test"]["top_100"] + 0.05
    assert joint.model.retrieval is not None and pure.model.retrieval is None


@pytest.mark.slow
def test_the_sweep_draws_the_trade_off(rows):
    assert [(r["rating_weight"], r["retrieval_weight"]) for r in rows] == list(WEIGHTS)
    rating_only, joint, retrieval_only = rows
    assert retrieval_only["top_100"] > rating_only["top_100"] + 0.05   # retrieval-heavy retrieves better
    assert rating_only["rmse"] < retrieval_only["rmse"] - 0.5          # rating-heavy predicts stars better
    assert joint["top_100"] > rating_only["top_100"] and joint["rmse"] < retrieval_only["rmse"]
    assert all({"rmse", "top_10", "top_100", "run_id", "reused"} <= set(r) for r in rows)
    text = multitask.reading(rows)
    assert "rating-only" in text and "retrieval-only" in text and "(1, 1)" in text
    assert multitask.best_joint(rows) is joint
    chart = charts.multitask_tradeoff(rows).to_dict()
    assert len(chart["layer"]) == 3
    values = next(iter(chart["datasets"].values()))
    assert [v["weights"] for v in values] == ["(1, 0)", "(1, 1)", "(0, 1)"]
    # the runs are ordinary ranking runs, reused by a second sweep
    again = multitask.sweep(TINY, None, weights=WEIGHTS[:1])
    assert again[0]["reused"] and again[0]["run_id"] == rating_only["run_id"]
    assert runs.load(joint["run_id"]).kind == "ranking"


def test_a_bad_sweep_fails_before_training():
    for weights, message in (((), "at least one"), (((0, 0),), "both 0"), (((1, 2, 3),), "weight pair"),
                             (((1, 11),), "between")):
        with pytest.raises(UserError, match=message):
            multitask.configs(TINY, weights)
    assert isinstance(multitask.configs(RankingConfig())[0], RankingConfig)
    assert len(multitask.configs(TINY)) == len(multitask.WEIGHTS)


@pytest.mark.slow
def test_cli_sweep_multitask(rows, capsys):
    assert cli.main(["sweep-multitask", *TINY_FLAGS, "--weights", "1:0,1:1,0:1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in out["rows"]] == [r["run_id"] for r in rows] and all(r["reused"] for r in out["rows"])
    assert out["reading"] == multitask.reading(rows) and out["weights"] == [list(w) for w in WEIGHTS]
    assert cli.main(["sweep-multitask", *TINY_FLAGS, "--weights", "1:0,0:1"]) == 0
    captured = capsys.readouterr()
    assert "test RMSE" in captured.out and "Rating-only" in captured.out and "[2/2]" in captured.err
    for bad, message in ((["--weights", "1-0"], "RATING:RETRIEVAL"), (["--weights", "0:0"], "both 0"),
                         (["--retrieval-weight", "1"], "unrecognized arguments"),
                         (["--preset", "nope"], "invalid choice")):
        assert cli.main(["sweep-multitask", *TINY_FLAGS, *bad]) == 2, bad
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err

