"""Retrieval then ranking: NDCG@10 by hand, recall@N against the evaluator, a user's two stages, the CLI, the pages."""
import json

import numpy as np
import pytest

from recsys.errors import UserError
from recsys.evaluation import topk, two_stage
from recsys.serving import two_stage as serving
from recsys.serving.recommend import Recommender
from recsys.store import runs
from recsys.data import prepared
from tests import shared_runs
from tests.helpers import TINY, TINY_RANKING, assert_clean, open_page, run_until, texts


def test_ndcg_by_hand():
    # user 0 held out movie 1 (5 stars: gain 31) and movie 2 (3 stars: gain 7); user 1 held out movie 0 (1 star: 1);
    # user 2 has no test rating and is not averaged in.
    gains = two_stage.gains_matrix(3, 4, np.array([0, 0, 1]), np.array([1, 2, 0]), np.array([5.0, 3.0, 1.0]))
    lists = np.array([[2, 1, 0], [3, 0, 1], [0, 1, 2]])
    d = 1 / np.log2([2, 3, 4])
    user0 = (7 * d[0] + 31 * d[1]) / (31 * d[0] + 7 * d[1])
    user1 = (1 * d[1]) / (1 * d[0])
    assert two_stage.ndcg(lists, gains, k=3) == pytest.approx((user0 + user1) / 2)
    assert two_stage.ndcg(np.array([[1, 2, 0], [0, 1, 2], [3, 2, 1]]), gains, k=3) == pytest.approx(1.0)
    # a title rated twice by one user counts once, with its higher gain
    twice = two_stage.gains_matrix(1, 2, np.array([0, 0]), np.array([1, 1]), np.array([2.0, 4.0]))
    assert twice.nnz == 1 and twice[0, 1] == 15.0


def test_both_stages_on_real_ml100k(tiny_run, ml100k):
    data = prepared.prepare(ml100k, tiny_run.config)
    users, movies = tiny_run.vectors
    n = 100

    # Re-ranking by the retrieval score itself changes nothing; recall@N is the evaluator's top-N, seen left out.
    same = two_stage.evaluate(users, movies, lambda u, m: np.einsum("ij,ij->i", users[u], movies[m]), data, n=n)
    assert same["ndcg"]["reranked"] == pytest.approx(same["ndcg"]["retrieval"], abs=1e-6)
    filtered = topk.ranks(users, movies, data.test_users, data.test_movies, data.seen)
    # The evaluator never removes the true movie; the page (and this) removes every title rated in training,
    # so a held-out title the user also rated in training (93 of 20,000 here: duplicate titles) is never found.
    rated_before = np.asarray(data.seen[data.test_users, data.test_movies]).ravel().astype(bool)
    assert 0 < rated_before.sum() < 200
    assert same["recall_at_n"] == pytest.approx(float(np.mean((filtered < n) & ~rated_before)), abs=1e-3)
    assert same["users"] == len(np.unique(data.test_users))
    # the blends run from stage 2's order (weight 0: the stars) to stage 1's (weight 1)
    assert same["mix"]["0"] == same["ndcg"]["reranked"] and same["mix"]["1"] == pytest.approx(same["ndcg"]["retrieval"])
    assert set(same["mix"]) == {f"{a:g}" for a in two_stage.MIXES}
    assert 0 < same["ndcg"]["retrieval"] < 1

    # An oracle that knows the held-out stars puts them first: the best any second stage can do with these N.
    truth = {(u, m): r for u, m, r in zip(data.test_users, data.test_movies, data.test_ratings)}
    oracle = two_stage.evaluate(users, movies, lambda u, m: np.array([truth.get(p, 0.0) for p in zip(u, m)]),
                                data, n=n)
    assert oracle["recall_at_n"] == same["recall_at_n"]
    assert oracle["ndcg"]["reranked"] > 2 * oracle["ndcg"]["retrieval"]
    # ... and more candidates let it find more
    wider = two_stage.evaluate(users, movies, lambda u, m: np.array([truth.get(p, 0.0) for p in zip(u, m)]),
                               data, n=300)
    assert wider["recall_at_n"] > oracle["recall_at_n"] and wider["ndcg"]["reranked"] > oracle["ndcg"]["reranked"]

    with pytest.raises(ValueError, match="k <= n"):
        two_stage.evaluate(users, movies, lambda u, m: u, data, n=5)


# ----------------------------------------------------------------------------- a user's two stages: backend, CLI, pages



@pytest.fixture(scope="module")
def ranking_run(ml100k):
    """A tiny ranking run on the tiny retrieval run's split (the same one tests/test_ranking.py trains)."""
    return shared_runs.get(TINY_RANKING, ml100k)


def test_the_final_list_is_a_reordering_of_the_retrieved_candidates(tiny_run, ranking_run, ml100k):
    rec = Recommender(tiny_run, ml100k)
    ranker = ranking_run.ranker()
    for user in ("42", "1", "900"):
        answer = serving.for_user(rec, ranker, user, n=50, k=10)
        u = rec.user_index(user)
        users, movies = tiny_run.vectors
        scores = movies @ users[u]
        scores[rec.seen(u)] = -np.inf
        top50 = np.argsort(-scores, kind="stable")[:50]
        # stage 1 is the exact top 50 (seen left out); its own top 10 is what the BruteForce list shows
        assert [r["movie_idx"] for r in answer.retrieved] == top50[:10].tolist()
        assert [r["movie_idx"] for r in answer.retrieved] == [
            r["movie_idx"] for r in rec.for_user(user, 10, exclude_seen=True).bruteforce]
        final = [r["movie_idx"] for r in answer.ranked]
        assert len(set(final)) == 10 and set(final) <= set(top50.tolist())
        stars = [r["stars"] for r in answer.ranked]
        assert stars == sorted(stars, reverse=True)
        np.testing.assert_allclose(stars, ranker.predict(u, np.array(final)), rtol=1e-6)
        for r in answer.ranked:  # each movie's place in stage 1 is where it stood among the 50
            assert top50[r["retrieval_rank"] - 1] == r["movie_idx"]
        # nothing in the 50 that stage 2 left out has more predicted stars than its 10th
        rest = np.setdiff1d(top50, final)
        assert ranker.predict(u, rest).max() <= stars[-1] + 1e-6
    kept_order = serving.for_user(rec, ranker, "42", n=50, k=10, mix=1.0)  # all weight on stage 1: its order
    assert [r["movie_idx"] for r in kept_order.ranked] == [r["movie_idx"] for r in kept_order.retrieved]
    halfway = serving.for_user(rec, ranker, "42", n=50, k=10, mix=0.5)
    assert {r["movie_idx"] for r in halfway.ranked} <= {r["movie_idx"] for r in serving.for_user(
        rec, ranker, "42", n=50, k=50).retrieved}
    with pytest.raises(UserError, match="mix must be"):
        serving.for_user(rec, ranker, "42", n=50, k=10, mix=1.5)
    with pytest.raises(UserError, match="candidates N"):
        serving.for_user(rec, ranker, "42", n=5, k=10)
    with pytest.raises(UserError, match="ScaNN re-scores"):
        serving.for_user(rec, ranker, "42", n=300, k=10, index="scann")


def test_both_stages_metrics_are_kept_and_the_cli_prints_them(tiny_run, ranking_run, ml100k, capsys):
    from recsys import cli
    from recsys.paths import data_dir

    m = serving.metrics(tiny_run, ranking_run, ranking_run.ranker(), ml100k, n=100)
    direct = two_stage.evaluate(*tiny_run.vectors, ranking_run.ranker().predict_pairs,
                                prepared.prepare(ml100k, tiny_run.config), n=100)
    assert m["ndcg"] == pytest.approx(direct["ndcg"]) and m["recall_at_n"] == direct["recall_at_n"]
    kept = data_dir() / "two_stage" / f"{tiny_run.run_id}-{ranking_run.run_id}-n100-v{serving.VERSION}.json"
    assert json.loads(kept.read_text())["ndcg"] == m["ndcg"]  # stored: the page and the CLI read it back

    assert cli.main(["recommend", "--run", tiny_run.run_id, "--user", "42", "--rerank", ranking_run.run_id,
                     "--candidates", "100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["ndcg"] == m["ndcg"] and len(out["reranked"]) == 10 and out["candidates"] == 100
    assert cli.main(["recommend", "--run", tiny_run.run_id, "--user", "42", "--rerank", ranking_run.run_id]) == 0
    text = capsys.readouterr().out
    assert "NDCG@10 retrieval" in text and "stage 1: #" in text
    for args, message in ((["--movie", "Star Wars (1977)"], "--rerank goes with --user"),
                          (["--user", "42", "--candidates", "3"], "candidates N"),
                          (["--user", "42", "--index", "scann", "--candidates", "400"], "ScaNN re-scores")):
        assert cli.main(["recommend", "--run", tiny_run.run_id, "--rerank", ranking_run.run_id, *args]) == 2
        assert message in capsys.readouterr().err
    assert cli.main(["recommend", "--run", tiny_run.run_id, "--user", "42", "--rerank", tiny_run.run_id]) == 2
    assert "not a ranking run" in capsys.readouterr().err


def at_dataset(run):
    return prepared.load_dataset(run.config.variant)


@pytest.mark.slow
def test_the_recommend_page_shows_both_stages_and_home_links_them(tiny_run, ranking_run):
    at = open_page("app_pages/recommend.py", {"mode": "user", "user_id": "42", "k": "10"}, active=tiny_run.run_id)
    assert_clean(at, errors=True)
    at.selectbox(key="ranking_run").set_value(ranking_run.run_id).run()  # the newest of the split comes first
    labels = {m.label: m.value for m in at.metric}
    assert {"NDCG@10, stage 1 alone", "NDCG@10, after stage 2", "Recall@100 of stage 1"} <= set(labels)
    final = at.dataframe[-1].value
    assert list(final["rank"]) == list(range(1, 11)) and final["stars"].is_monotonic_decreasing
    assert set(final["moved"]).issubset({"="} | {f"{a} {d}" for a in "▲▼" for d in range(1, 100)})
    at.select_slider(key="two_stage_mix").set_value(0.7).run()
    assert_clean(at, errors=True)
    shown = {m.label: m.value for m in at.metric}["NDCG@10, after stage 2"]
    kept = serving.metrics(tiny_run, ranking_run, ranking_run.ranker(), at_dataset(tiny_run), n=100)
    assert shown == f"{kept['mix']['0.7']:.4f}"
    at.slider(key="two_stage_n").set_value(300).run()
    assert_clean(at, errors=True)
    assert "Recall@300 of stage 1" in {m.label for m in at.metric}
    at.radio(key="two_stage_index").set_value("scann").run()  # ScaNN re-scores 100: the slider comes back in range
    assert_clean(at, errors=True)
    assert at.slider(key="two_stage_n").value == 100

    home = open_page("app_pages/home.py")
    assert_clean(home)
    assert "not built here" not in home.get("graphviz_chart")[0].proto.spec
    assert "What ranking adds" in texts(home.markdown)


@pytest.mark.slow
def test_the_train_page_trains_a_ranking_run_through_the_worker(ml100k):
    at = open_page("app_pages/train.py")
    assert_clean(at)
    assert at.selectbox(key="rank_preset").value == "Our best"
    at.slider(key="rank_embedding_dim").set_value(8)
    at.text_input(key="rank_layers").set_value("16")
    at.slider(key="rank_epochs").set_value(1)
    at.select_slider(key="rank_batch_size").set_value(4096).run()
    at.button(key="rank_train").click().run()
    assert_clean(at)
    run_until(at, lambda at: "saved as run" in texts(at.success) or at.error)
    assert_clean(at, errors=True)
    rid = texts(at.success).split("saved as run ")[1][:12]
    run = runs.load(rid)
    assert run.kind == "ranking" and run.config.epochs == 1 and run.config.layers == (16,)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Test RMSE"] == f"{run.metrics['model']['test']['rmse']:.4f}"
    table = at.dataframe[-1].value  # best first: this model, the bias baseline, the global mean, the references
    assert "user + movie biases (tuned on validation)" in list(table["predictor"])
    assert table["test RMSE"].is_monotonic_increasing
    at.selectbox(key="rank_preset").set_value("TFRS tutorial").run()  # the preset sets every ranking widget
    assert at.text_input(key="rank_layers").value == "256,64" and at.slider(key="rank_epochs").value == 3


@pytest.mark.slow
def test_the_ranking_tab_draws_the_multitask_trade_off(ml100k):
    from recsys.experiments import multitask

    at = open_page("app_pages/train.py")
    at.selectbox(key="rank_preset").set_value("TFRS tutorial").run()
    at.slider(key="rank_embedding_dim").set_value(8)
    at.text_input(key="rank_layers").set_value("16")
    at.slider(key="rank_epochs").set_value(1)
    at.select_slider(key="rank_batch_size").set_value(4096).run()
    assert f"{len(multitask.WEIGHTS)} runs" in texts(at.caption)
    at.button(key="rank_multitask").click().run()  # seven tiny trainings through the server's queue
    assert_clean(at, errors=True)
    table = at.dataframe[-1].value
    assert len(table) == len(multitask.WEIGHTS)
    assert list(zip(table["rating_weight"], table["retrieval_weight"])) == [tuple(map(float, w))
                                                                           for w in multitask.WEIGHTS]
    only_rating, only_retrieval = table.iloc[0], table.iloc[-1]
    assert only_retrieval["top_100"] > only_rating["top_100"] and only_rating["rmse"] < only_retrieval["rmse"]
    assert "Multitask trade-off" in at.get("vega_lite_chart")[-1].proto.spec
    assert "rating-only gets test rmse" in texts(at.markdown).lower()


@pytest.mark.slow
def test_the_second_stage_report_on_tiny_presets(tiny_run, ranking_run, ml100k):
    """The report's three tables from real (tiny) runs: each figure is the run's own, the reading follows them."""
    from recsys.experiments import stages_report

    result = stages_report.collect([42], ml100k, retrieval_preset=TINY, rankers={"tiny": TINY_RANKING},
                                   multitask_base=TINY_RANKING.with_(epochs=1))
    row = result["rows"][0]
    assert row["retrieval_run"] == tiny_run.run_id and row["ranking"]["tiny"]["run_id"] == ranking_run.run_id
    assert row["stages"]["tiny"] == serving.metrics(tiny_run, ranking_run, ranking_run.ranker(), ml100k, n=100)
    text = stages_report.to_markdown(result, "python -m recsys report --stages", date="2026-12-02")
    assert f"| tiny ranking preset | {ranking_run.metrics['model']['test']['rmse']:.4f} |" in text
    assert f"| stage 1 alone | {row['stages']['tiny']['ndcg']['retrieval']:.4f} |" in text
    assert len([line for line in text.splitlines() if line.startswith("| (") and "weight)" not in line]) == 7
    assert "`python -m recsys report --stages` (2026-12-02" in text
