"""Export retrieve-then-rank as one SavedModel: raw user ids in, the re-ranked top k out.

    user id string --lookup--> row (unknown ids -> row 0: zero vectors, no seen movies)
    stage 1   scores = user vector . movie vectors    BruteForce: every movie; ScaNN: all it re-scores
              score - 1e5 for a seen movie (TFRS's exclusion); top N = the candidates, retrieval order
    stage 2   stars = ``serving.ranking.predict_stars`` of the candidates (the Ranker's, on TensorFlow's
              NumPy API); seen candidates never shown; top k by stars, equal stars in retrieval order
    signature serving_default(user_ids: string[None]) ->
              {"titles", "stars", "retrieval_ranks", "retrieval_scores"}: [batch, k] each
              (a row with fewer than k unseen candidates is padded with "", NaN, rank 0, NaN)

Each user of a batch is searched alone (``tf.map_fn``), as ``two_stage.for_user`` answers one.
``export_two_stage`` reloads what it wrote in a fresh Python and compares it with ``for_user``
before anything is left at the destination. Why, and what the check allows: docs/export.md.
"""
from __future__ import annotations

import shutil
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recsys.errors import UserError
from recsys.serving import export as single
from recsys.serving.ranking import Ranker, predict_stars

DEFAULT_CANDIDATES = 100
EXCLUDED = 1.0e5  # what TFRS's query_with_exclusions subtracts from an excluded movie's score

_QUERY = textwrap.dedent("""
    def plain(out):
        return {"titles": [[t.decode() for t in row] for row in out["titles"].numpy()],
                "stars": out["stars"].numpy().tolist(), "retrieval_ranks": out["retrieval_ranks"].numpy().tolist(),
                "retrieval_scores": out["retrieval_scores"].numpy().tolist()}
    direct = loaded(tf.constant(users))
    sig = loaded.signatures["serving_default"](user_ids=tf.constant(users))  # the same batch, through the signature
    print(json.dumps({"call": plain(direct), "serving_default": plain(sig)}))
""")


@dataclass
class TwoStageReport:
    """What was written and what the fresh-process check found."""

    path: str
    run_id: str
    ranking_run: str
    index: str
    candidates: int
    k: int
    users_checked: int
    matched: int
    mismatches: list = field(default_factory=list)  # [{"user_id", "via", "in_memory", "reloaded"}]
    unknown_user_ok: bool = True
    seen_dropped: int = 0   # seen movies in the in-memory top k (ScaNN) that the export leaves out
    scann_params: dict | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.unknown_user_ok

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check_args(run, ranking, ds, index: str, n: int, k: int, scann_params=None):
    """``UserError`` for a pair of runs or settings the two-stage model cannot serve; returns ScaNN's params."""
    from recsys.serving import two_stage

    n_titles = len(ds.titles)
    params = single.check_args(run, index, k, n_titles, scann_params)
    two_stage.check_pair(run, ranking)
    most = min(two_stage.MAX_CANDIDATES, n_titles)
    if not isinstance(n, (int, np.integer)) or not k <= n <= most:
        raise UserError(f"the candidates N must be between k ({k}) and {most}, got {n!r}")
    if params is not None and n > params.num_reordering_candidates:
        raise UserError(f"ScaNN re-scores {params.num_reordering_candidates} candidates: it cannot return N={n} "
                        f"(ask fewer, or use --index bruteforce)")
    return params


def seen_mask(ds) -> np.ndarray:
    """[users + 1, titles] bool: row 1 + u marks the titles user u rated (any split); row 0 (unknown) none."""
    mask = np.zeros((len(ds.user_ids) + 1, len(ds.titles)), bool)
    mask[ds.ratings["user_idx"].to_numpy() + 1, ds.ratings["title_idx"].to_numpy()] = True
    return mask


def with_unknown_user(ranker: Ranker) -> Ranker:
    """The same Ranker with a zero user in front (row 0, bias 0): what the export predicts for unknown ids."""
    arrays = {"user_vectors": np.vstack([np.zeros((1, ranker.users.shape[1]), np.float32), ranker.users]),
              "movie_vectors": ranker.movies, "user_bias": np.concatenate([[0.0], ranker.user_bias]),
              "movie_bias": ranker.movie_bias, "global_bias": ranker.global_bias, "dot": float(ranker.dot),
              "clip": np.array(ranker.clip)}
    for i, (kernel, bias) in enumerate(ranker.layers):
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    return Ranker(arrays)


def build_two_stage_model(run, ranking, ds, index: str = "bruteforce", n: int = DEFAULT_CANDIDATES, k: int = 10,
                          scann_params=None):
    """The in-memory two-stage model (a ``tf.Module``): ``model(user_ids) -> {"titles", "stars", ...}``.

    Returns (module, ScaNN params or None, the ScaNN layer inside or None).
    """
    from recsys.serving import index as idx

    params = check_args(run, ranking, ds, index, n, k, scann_params)
    ranker = with_unknown_user(ranking.ranker())
    if ranker.n_users != len(ds.user_ids) + 1 or ranker.n_movies != len(ds.titles):
        raise UserError("the ranking run was trained on other data than the retrieval run")
    user_vectors, movie_vectors = run.vectors_for(ds)
    users = np.vstack([np.zeros((1, user_vectors.shape[1]), np.float32), user_vectors.astype(np.float32)])
    layer = None
    if index == "scann":
        with idx.quiet_native_logs():
            layer = idx.build_scann(np.asarray(movie_vectors, np.float32), params, k=params.num_reordering_candidates)
    module = _two_stage_class()(
        user_ids=[str(u) for u in ds.user_ids], users=users, movies=np.asarray(movie_vectors, np.float32),
        seen=seen_mask(ds), ranker=ranker, titles=[str(t) for t in ds.titles], scann=layer,
        reorder=params.num_reordering_candidates if params else 0, n=int(n), k=int(k))
    return module, params, layer


def _two_stage_class():
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

    class TwoStageServing(tf.Module):
        """Both stages as one traced function of a batch of user ids; every array a non-trainable variable."""

        def __init__(self, user_ids, users, movies, seen, ranker, titles, scann, reorder, n, k):
            super().__init__(name="two_stage")
            self.lookup = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant(user_ids), tf.range(1, len(user_ids) + 1)),
                default_value=0)
            var = lambda a, name: tf.Variable(a, trainable=False, name=name)
            self.users, self.movies, self.seen = var(users, "user_vectors"), var(movies, "movie_vectors"), \
                var(seen, "seen")
            self.ranking_users, self.ranking_movies = var(ranker.users, "ranking_users"), \
                var(ranker.movies, "ranking_movies")
            self.user_bias, self.movie_bias = var(ranker.user_bias, "user_bias"), var(ranker.movie_bias, "movie_bias")
            self.kernels = [var(w, f"kernel_{i}") for i, (w, _) in enumerate(ranker.layers)]
            self.biases = [var(b, f"bias_{i}") for i, (_, b) in enumerate(ranker.layers)]
            self.global_bias, self.dot, self.clip = float(ranker.global_bias), ranker.dot, ranker.clip
            self.titles = var(titles, "titles")
            self.scann, self.reorder, self.n, self.k = scann, reorder, n, k

        def candidates(self, row):
            """Stage 1 for one user: the top ``n`` movie ids and their scores, seen ones pushed last."""
            query = tf.gather(self.users, row)[None, :]
            seen = tf.gather(self.seen, row)
            if self.scann is None:
                scores = tf.matmul(query, self.movies, transpose_b=True)[0]  # what TFRS BruteForce computes
                ids = tf.range(tf.shape(scores)[0])
            else:
                scores, ids = self.scann(query, k=self.reorder)  # all it re-scores: asking more returns no more
                scores, ids = scores[0], tf.cast(ids[0], tf.int32)
            adjusted = scores - tf.cast(tf.gather(seen, ids), tf.float32) * EXCLUDED
            _, pos = tf.math.top_k(adjusted, k=tf.minimum(self.n, tf.shape(adjusted)[0]))
            ids = tf.gather(ids, pos)
            return ids, tf.gather(scores, pos), tf.logical_not(tf.gather(seen, ids))

        def stars(self, row, ids):
            """Stage 2 for one user and candidate ids: the Ranker's ``predict_stars``, on TensorFlow's NumPy API."""
            u = tf.tile(tf.gather(self.ranking_users, row)[None, :], [tf.shape(ids)[0], 1])
            return predict_stars(u, tf.gather(self.ranking_movies, ids), list(zip(self.kernels, self.biases)),
                                 self.global_bias, tf.gather(self.user_bias, row), tf.gather(self.movie_bias, ids),
                                 self.dot, self.clip, xp=tnp)

        def one_user(self, row):
            ids, scores, unseen = self.candidates(row)
            stars = self.stars(row, ids)
            key = tf.where(unseen, stars, tf.fill(tf.shape(stars), float("-inf")))
            _, pos = tf.math.top_k(key, k=tf.minimum(self.k, tf.shape(key)[0]))  # equal stars: earlier first
            pad = self.k - tf.shape(pos)[0]
            shown = tf.pad(tf.gather(unseen, pos), [[0, pad]], constant_values=False)
            nan = tf.fill([self.k], float("nan"))
            titles = tf.where(shown, tf.pad(tf.gather(self.titles, tf.gather(ids, pos)), [[0, pad]], constant_values=""),
                              tf.fill([self.k], ""))
            return (titles, tf.where(shown, tf.pad(tf.gather(stars, pos), [[0, pad]]), nan),
                    tf.where(shown, tf.pad(pos + 1, [[0, pad]]), 0),
                    tf.where(shown, tf.pad(tf.gather(scores, pos), [[0, pad]]), nan))

        def answer(self, user_ids):
            rows = self.lookup.lookup(user_ids)
            titles, stars, ranks, scores = tf.map_fn(
                self.one_user, rows, fn_output_signature=(tf.string, tf.float32, tf.int32, tf.float32))
            return {"titles": titles, "stars": stars, "retrieval_ranks": ranks, "retrieval_scores": scores}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_ids")])
        def __call__(self, user_ids):
            return self.answer(user_ids)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_ids")])
        def serve(self, user_ids):
            return self.answer(user_ids)

    return TwoStageServing


def in_memory_answers(run, ranking, ds, users: list[str], index: str, n: int, k: int, params, layer) -> tuple:
    """``two_stage.for_user`` for each user, seen movies left out: ({user: [rows]}, seen movies dropped)."""
    from recsys.serving import two_stage
    from recsys.serving.recommend import Recommender

    rec = Recommender(run, ds, params)
    if layer is not None:
        rec.scann = layer  # the very index the export holds (another build would be another approximation)
    ranker = ranking.ranker()
    answers, dropped = {}, 0
    for user in users:
        answer = two_stage.for_user(rec, ranker, user, n, min(n, 100), index, exclude_seen=True)
        seen = set(rec.seen(rec.user_index(user)).tolist())
        dropped += sum(r["movie_idx"] in seen for r in answer.ranked[:k])
        answers[user] = [r for r in answer.ranked if r["movie_idx"] not in seen][:k]
    return answers, dropped


def compare(users: list[str], expected: dict, got: dict) -> tuple[int, list]:
    """(users matching, mismatches): the reloaded call against the in-memory rows, its signature against its call.

    ``expected``: ``{user: [{"movie_title", "stars"}, ...]}``; ``got``: the reload script's
    ``{"call": {...}, "serving_default": {...}}``, row i for ``users[i]``. The call must give the
    same titles in the same order (equal stars may swap) with stars within 1e-4; the signature
    must give what the call gave. A mismatch names the user, the path and both lists (``export.differs``).
    """
    call, sig = got["call"], got["serving_default"]
    matched, mismatches = 0, []
    for i, user in enumerate(users):
        want = [r["movie_title"] for r in expected[user]]
        titles = [t for t in call["titles"][i] if t]  # "" pads a row that had fewer than k unseen candidates
        direct = single.same_titles(want, [r["stars"] for r in expected[user]], titles,
                                    call["stars"][i][:len(titles)])
        signature = call["titles"][i] == sig["titles"][i] and bool(np.allclose(
            call["stars"][i], sig["stars"][i], atol=1e-4, equal_nan=True))
        if direct and signature:
            matched += 1
        else:
            mismatches.append({"user_id": user, "via": "call" if not direct else "serving_default",
                               "in_memory": want if not direct else call["titles"][i],
                               "reloaded": call["titles"][i] if not direct else sig["titles"][i]})
    return matched, mismatches


def unknown_user_ok(got: dict, ds, ranker: Ranker, index: str, n: int, k: int) -> bool:
    """An unknown id: zero retrieval scores, the zero user's stars, in order (BruteForce: the first n titles)."""
    titles = [t for t in got["titles"] if t]
    if len(titles) != k or not np.allclose(got["retrieval_scores"][:k], 0.0):
        return False
    pos = {str(t): i for i, t in enumerate(ds.titles)}
    zero = with_unknown_user(ranker)
    stars = zero.predict(0, [pos[t] for t in titles])
    if not np.allclose(stars, got["stars"][:k], atol=1e-4) or np.any(np.diff(stars) > 1e-4):
        return False
    if index == "bruteforce":  # all scores tie at 0: top_k keeps the first n titles, in catalog order
        first = np.arange(n)
        expected_stars = zero.predict(0, first)
        expected = [str(ds.titles[j]) for j in first[np.argsort(-expected_stars, kind="stable")[:k]]]
        return single.same_titles(expected, np.sort(expected_stars)[::-1][:k], titles, got["stars"][:k])
    return True


def export_two_stage(run, ranking, ds, out: str | Path, index: str = "bruteforce", n: int = DEFAULT_CANDIDATES,
                     k: int = 10, scann_params=None, overwrite: bool = False, n_check: int = 20) -> TwoStageReport:
    """Write retrieve-then-rank as one SavedModel at ``out``, reload it in a fresh process and compare.

    Like ``export.export``: written to a hidden sibling folder, moved to ``out`` only once the
    check passed, so ``out`` never holds a model that does not match the in-memory answer.
    """
    import tensorflow as tf

    start = time.perf_counter()
    check_args(run, ranking, ds, index, n, k, scann_params)  # before anything is built or written
    out = single.destination(out, overwrite)
    module, params, layer = build_two_stage_model(run, ranking, ds, index, n, k, scann_params)
    users = single.sample_users(ds, n_check)
    expected, dropped = in_memory_answers(run, ranking, ds, users, index, n, k, params, layer)
    tmp = single.staging_folder(out)
    try:
        options = tf.saved_model.SaveOptions(namespace_whitelist=["Scann"]) if index == "scann" else None
        with single.quiet_saving():
            tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve}, options=options)
        got = single.reload_in_fresh_process(tmp, index, users + [single.UNKNOWN_USER], query=_QUERY)
        report = TwoStageReport(path=str(out), run_id=run.run_id, ranking_run=ranking.run_id, index=index,
                                candidates=int(n), k=int(k), users_checked=len(users), matched=0,
                                seen_dropped=int(dropped), scann_params=params.to_dict() if params else None)
        report.matched, report.mismatches = compare(users, expected, got)
        call, sig = got["call"], got["serving_default"]
        last = {key: value[-1] for key, value in call.items()}
        report.unknown_user_ok = bool(unknown_user_ok(last, ds, ranking.ranker(), index, n, k)
                                      and call["titles"][-1] == sig["titles"][-1])
        if not report.ok:
            first = report.mismatches[0] if report.mismatches else None
            why = single.differs(first) if first else \
                f"the unknown id {single.UNKNOWN_USER!r} did not get zero scores and the zero user's stars"
            raise UserError(f"the reloaded two-stage {index} export does not match the in-memory answer "
                            f"({report.matched}/{report.users_checked} users match; {why}); nothing was written")
        report.seconds = round(time.perf_counter() - start, 2)
        single.publish(tmp, out, {**report.to_dict(), "retrieval_config": run.config.to_dict(),
                                  "ranking_config": ranking.config.to_dict(), "data": run.data})
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_command(report: TwoStageReport) -> str:
    """How to use the export, in one line of Python."""
    return (f"{'import scann; ' if report.index == 'scann' else ''}import tensorflow as tf; "
            f"m = tf.saved_model.load({report.path!r}); out = m(tf.constant(['42'])); "
            "out['titles'], out['stars']")


def read_report(report: TwoStageReport) -> str:
    """The CLI's text for a two-stage export."""
    return "\n".join([
        f"exported retrieval run {report.run_id} ({report.index}, N={report.candidates}) re-ranked by ranking run "
        f"{report.ranking_run} (top k={report.k}) -> {report.path} in {report.seconds:.1f} s",
        f"reloaded in a fresh process: {report.matched}/{report.users_checked} sample users get the re-ranked "
        "titles and stars of the in-memory two stages (call and serving_default); unknown ids get the zero "
        "user's answer" + (f"; {report.seen_dropped} seen movies the in-memory ScaNN answer kept were left out"
                           if report.seen_dropped else ""),
        f"load it: {load_command(report)}"])

