"""ANN lab: catalogs, exact top-k and recall, ScaNN index, sweep, `bench ann` CLI, the page."""
import json

import numpy as np
import pytest

from recsys import cli
from recsys.bench import ann, catalogs, field
from recsys.serving import index as idx
from recsys.errors import UserError
from recsys.ui import ann_charts


def test_exact_top_k_and_recall_on_a_hand_made_case():
    # Candidates on the axes of R^3 with distinct lengths: for query e_0 the best is row 0
    # (3 e_0), then row 3 (e_0); for e_1 row 4 (5 e_1), then row 1 (2 e_1).
    vectors = np.array([[3, 0, 0], [0, 2, 0], [0, 0, 1], [1, 0, 0], [0, 5, 0]], np.float32)
    queries = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]], np.float32)
    exact = ann.exact_top_k(vectors, queries, 2)
    assert exact[0].tolist() == [0, 3]
    assert exact[1].tolist() == [4, 1]
    assert 2 not in exact[2]  # the only negative score is never in the top 2
    # recall = mean |found ∩ exact| / k: 2/2, 1/2, 0/2 -> 0.5
    found = np.array([[3, 0], [4, 2], [2, 2]])
    exact_ids = np.array([[0, 3], [4, 1], [0, 1]])
    assert ann.recall_at_k(found, exact_ids) == pytest.approx(0.5)
    # the numpy single-query brute force agrees with the batched one, best first
    bf = ann.MatmulBruteForce(vectors)
    assert bf.search(queries[1], 2).tolist() == [4, 1]


def test_catalogs_are_reproducible_and_built_like_the_tutorial():
    rng = np.random.default_rng(1)
    movies, users = rng.standard_normal((50, 8)).astype(np.float32), rng.standard_normal((20, 8)).astype(np.float32)
    a = catalogs.scaled(movies, users, 1000, seed=3)
    b = catalogs.scaled(movies, users, 1000, seed=3)
    assert a.vectors.shape == (1000, 8) and a.vectors.dtype == np.float32
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.vectors[:50], movies)  # the trained vectors come first
    # each copy is a trained row times noise in [0, 1): same signs, no larger in any coordinate
    copies = a.vectors[50:]
    ratios = copies[:, None, :] / movies[None, :, :]
    assert np.all(np.any(np.all((ratios >= 0) & (ratios < 1), axis=2), axis=1))
    np.testing.assert_array_equal(a.queries(30), b.queries(30))
    assert len(np.unique(a.queries(20), axis=0)) == 20  # without replacement while the pool lasts
    g = catalogs.gaussian(2000, 16, seed=0)
    assert g.vectors.shape == (2000, 16) and abs(float(g.vectors.std()) - 1) < 0.05
    with pytest.raises(UserError):
        catalogs.scaled(movies, users, 10)
    with pytest.raises(UserError):
        catalogs.make("nope", 10)


def test_scann_index_recall_speed_and_memory():
    cat = catalogs.gaussian(5000, 16, seed=0)
    prep = ann.prepare(cat, k=10, n_queries=60, latency_queries=20)
    assert set(prep.brute) == {"bruteforce_matmul", "bruteforce_tfrs"}
    # both brute forces return the exact answer
    tfrs_ids = prep.tfrs.search_batched(prep.queries, 10)
    assert ann.recall_at_k(tfrs_ids, prep.exact) == pytest.approx(1.0, abs=1e-3)
    params = idx.ScannParams(num_leaves=50, num_leaves_to_search=5, num_reordering_candidates=50)
    scann = ann.ScannIndex(cat.vectors, params, 10)
    # the scann searcher loaded from the TFRS layer's index answers as the layer does
    q = prep.queries[0]
    assert set(scann.search(q, 10).tolist()) == set(scann.search_tfrs_layer(q, 10).tolist())
    few = ann.measure_scann(prep, scann, latency_queries=20, tfrs_layer_queries=2)
    every = ann.measure_scann(prep, scann, leaves=50, reorder=5000, latency_queries=20)
    assert every["recall"] == pytest.approx(1.0)  # all leaves, all re-scored exactly: exact
    assert 0 < few["recall"] <= every["recall"]
    batched = scann.search_batched(prep.queries[:20], 10)
    single = np.array([scann.search(q, 10) for q in prep.queries[:20]])
    # one query or many: the same answers, but for near-ties (batched scoring uses other kernels)
    assert ann.recall_at_k(single, batched) >= 0.98
    assert set(ann.INDEX_KEYS) <= set(few) and few["tfrs_layer"]["queries"] == 2
    assert scann.memory_bytes(True) - scann.memory_bytes(False) == cat.vectors.nbytes
    assert ann.speedup(few["latency_ms_mean"], prep.brute) > 0
    with pytest.raises(UserError):
        ann.ScannIndex(cat.vectors, idx.ScannParams(num_leaves=6000), 10)
    with pytest.raises(UserError):
        ann.ScannIndex(cat.vectors, idx.ScannParams(num_leaves=50, dimensions_per_block=17), 10)
    with pytest.raises(UserError):
        ann.measure_scann(prep, scann, leaves=51)

    builds, searches = ann.default_grid(cat.size, 10)
    seen = []
    frame = ann.sweep(prep, builds[:1], searches[:6], 20, lambda d, t, m: seen.append((d, t)))
    assert len(frame) and frame["frontier"].any() and seen[-1][0] == seen[-1][1]
    chart = ann_charts.frontier_chart(frame, prep.brute, few).to_dict()
    assert len(chart["layer"]) >= 4


def test_pareto_frontier():
    recall = np.array([0.5, 0.9, 0.9, 1.0, 0.8])
    qps = np.array([1000, 500, 400, 100, 300])
    assert ann.pareto(recall, qps).tolist() == [True, True, False, True, False]


@pytest.mark.slow
def test_bench_ann_cli_json(capsys):
    assert cli.main(["bench", "ann", "--catalog-size", "5000", "--dim", "16", "--queries", "50",
                     "--latency-queries", "20", "--tfrs-layer-queries", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"catalog_size", "dim", "k", "recall", "scann", "bruteforce_tfrs", "bruteforce_matmul",
                        "speedup"}
    for name in ("scann", "bruteforce_tfrs", "bruteforce_matmul"):
        assert set(out[name]) == {"latency_ms_mean", "latency_ms_p95", "qps", "build_seconds", "memory_mb"}
        assert out[name]["latency_ms_mean"] > 0 and out[name]["qps"] > 0
    assert out["catalog_size"] == 5000 and out["dim"] == 16 and out["k"] == 10
    assert 0 < out["recall"] <= 1 and out["speedup"] > 0
    assert cli.main(["bench", "ann", "--catalog-size", "100", "--dim", "16", "--json"]) == 2  # smaller than 1,664
    assert "at least" in capsys.readouterr().err


@pytest.mark.slow
def test_ann_page(tiny_run):
    from tests.helpers import open_page

    at = open_page("app_pages/ann.py")
    assert not at.exception
    assert any(m.label.startswith("recall@") for m in at.metric)
    n = len(tiny_run.vectors[1])
    at.number_input(key=f"ann_leaves_trained_{n}").set_value(n + 1)
    at.button[0].click()  # the form's Measure button
    at.run()
    assert not at.exception and at.error and "num_leaves" in at.error[0].value
    at.number_input(key=f"ann_leaves_trained_{n}").set_value(40)
    at.button[0].click()
    at.run()
    assert not at.exception and not at.error
    next(b for b in at.button if b.label == "Run sweep").click()
    at.run()
    assert not at.exception
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    charts_before = len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"))
    at.multiselect(key="ann_field_libraries").set_value(["scann", "hnswlib"]).run()
    at.button(key="ann_field_go").click().run()  # the field: one frontier per library, and what it teaches
    assert not at.exception and not at.error
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) == charts_before + 1
    said = " ".join(m.value for m in at.markdown)
    assert "the fastest is" in said and "hnswlib" in said and "Build time and index memory" in said
    at.multiselect(key="ann_field_libraries").set_value(["scann", "hnswlib", "faiss-hnsw"]).run()
    assert at.button(key="ann_field_go")  # a library not measured yet: the button is back, the others are kept
    assert "hnswlib" in " ".join(m.value for m in at.markdown)


def test_exclusions_are_padded_to_few_lengths_and_still_exclude():
    """Seen-movie lists of every length share a handful of query shapes, and nothing excluded comes back."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    lengths = {idx.padded_length(n, k=10, n_candidates=300) for n in range(1, 281)}
    assert lengths == {16, 32, 64, 128, 256, 290}, lengths  # above 256: capped at catalog - k
    assert idx.padded_length(3, k=10, n_candidates=300) == 16 and idx.padded_length(295, k=10, n_candidates=300) == 295
    bf = idx.build_bruteforce(vectors)
    exact_order = np.argsort(-(vectors @ vectors[0]))
    for n in (1, 17, 100, 289):
        exclude = exact_order[:n]  # the best n: the answer must be the next 10 exactly
        scores, ids = idx.search(bf, vectors[0], 10, exclude)
        assert ids.tolist() == exact_order[n:n + 10].tolist()
    # The same answers as TFRS's own query_with_exclusions (a tf.function), for both indexes, ScaNN's shorter lists
    # included: excluded rows that it pushes to the end are dropped, the rest in its order, scores bit for bit.
    import tensorflow as tf

    scann = idx.build_scann(vectors, idx.ScannParams(num_leaves=10, num_leaves_to_search=5,
                                                     num_reordering_candidates=30))
    for index in (bf, scann):
        for n in (3, 25):
            exclude = rng.permutation(300)[:n]
            padded = np.full((1, idx.padded_length(n, 10, 300)), -1, np.int32)
            padded[0, :n] = exclude
            want_s, want_i = (t.numpy()[0] for t in index.query_with_exclusions(
                tf.constant(vectors[7:8]), tf.constant(padded), k=10))
            keep = ~np.isin(want_i, exclude)
            scores, ids = idx.search(index, vectors[7], 10, exclude)
            assert ids.tolist() == want_i[keep].tolist() and np.array_equal(scores, want_s[keep]), (index, n)


# --------------------------------------------------------------------------- ScaNN's peers: faiss, hnswlib


@pytest.fixture(scope="module")
def small_workload(tiny_run):
    users, movies = tiny_run.vectors
    return ann.prepare(catalogs.scaled(movies, users, 5000, seed=0), k=10, n_queries=200, latency_queries=50,
                       tfrs_bruteforce=False)


@pytest.mark.parametrize("library", ["scann", "faiss-hnsw", "faiss-ivfpq", "hnswlib"])
def test_every_library_builds_and_finds_the_exact_neighbours(small_workload, library):
    index = field.build_peer(small_workload, library)
    rows = field.library_frontier(small_workload, library, latency_queries=50, index=index)
    recalls = [r["recall"] for r in rows]
    assert max(recalls) >= 0.95, (library, recalls)  # its most thorough setting agrees with exact search
    assert min(recalls) < max(recalls) or max(recalls) == 1.0  # the knobs trade recall for speed
    for r in rows:
        assert 0 <= r["recall"] <= 1 and r["qps"] > 0 and r["qps_batched"] > 0
        assert r["build_seconds"] > 0 and r["memory_mb"] > 0
    single = index.search(small_workload.queries[0], 10, **field.DEFAULT_SEARCH[library])
    batched = index.search_batched(small_workload.queries[:3], 10, **field.DEFAULT_SEARCH[library])
    assert len(single) == 10 and batched.shape == (3, 10) and len(set(single.tolist())) == 10


def test_the_field_frame_chart_and_lessons(small_workload):
    rows = [r for lib in ("scann", "hnswlib") for r in field.library_frontier(small_workload, lib, latency_queries=30)]
    frame = field.field_frame(rows)
    for _, part in frame.groupby("library"):  # each library's Pareto points: none beaten on both axes
        front = part[part["frontier"]]
        for r in front.itertuples():
            assert not ((part["recall"] >= r.recall) & (part["qps"] > r.qps)).any()
    spec = ann_charts.field_chart(frame, small_workload.brute, 10).to_dict()
    assert "layer" in spec
    said = " ".join(field.lessons(frame, small_workload.brute, 10))
    assert "ScaNN" in said and "hnswlib" in said and "Build time and index memory" in said
    assert "TFRS's ScaNN layer" in said  # how much the layer adds over the searcher, measured


@pytest.mark.slow
def test_bench_ann_libraries_cli_json(capsys, tiny_run):
    assert cli.main(["bench", "ann", "--run", tiny_run.run_id, "--catalog-size", "3000", "--queries", "60",
                     "--latency-queries", "20", "--libraries", "faiss-hnsw,hnswlib,faiss-ivfpq,scann", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["libraries"]) == {"scann", "faiss-hnsw", "faiss-ivfpq", "hnswlib"}
    for r in out["libraries"].values():
        assert {"recall", "latency_ms_mean", "qps", "build_seconds", "memory_mb"} <= set(r) and r["recall"] > 0.5
    assert cli.main(["bench", "ann", "--catalog-size", "3000", "--libraries", "annoy"]) == 2
    assert "unknown library annoy" in capsys.readouterr().err
