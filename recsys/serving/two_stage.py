"""Retrieve, then rank, for one user: the candidates of stage 1, the order of stage 2, and who moved.

Stage 1 asks a retrieval run's index (BruteForce or ScaNN) for the user's top N, seen movies
left out; stage 2 predicts the user's stars for those N with a ranking run (``Ranker``, NumPy)
and sorts them by it, or by a blend of the stars and stage 1's score (``mix``, see
``recsys/evaluation/two_stage.py``). The final top k is a reordering of stage 1's N: a movie stage 1 did not
retrieve cannot appear, which is why retrieval is judged by its recall@N
(``recsys/evaluation/two_stage.py``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from recsys.errors import UserError
from recsys.evaluation import two_stage as measure
from recsys.paths import data_dir
from recsys.serving import index as idx
from recsys.serving.recommend import Recommender, check_k, describe

MAX_CANDIDATES = 500
VERSION = 2  # of the kept metrics (2: with the blends); part of their file name


@dataclass
class TwoStage:
    """One user's answer from both stages."""

    user_id: str
    n: int            # candidates retrieved
    k: int            # shown
    index: str        # "bruteforce" or "scann"
    mix: float        # stage 2's weight of the retrieval score against the stars (0: stars only)
    ranked: list      # [{"rank", "movie_idx", "movie_title", "genres", "stars", "retrieval_rank", "retrieval_score"}]
    retrieved: list   # stage 1's own top k, the same keys (rank == retrieval_rank)


def for_user(rec: Recommender, ranker, user_id, n: int = 100, k: int = 10, index: str = "bruteforce",
             exclude_seen: bool = True, mix: float = 0.0) -> TwoStage:
    """Stage 1: ``rec``'s ``index`` retrieves the user's top ``n``; stage 2: ``ranker`` re-orders them by stars
    (``mix`` > 0: by the blend of stars and retrieval score)."""
    k = check_k(k, None, len(rec.ds.titles))
    if index not in ("bruteforce", "scann"):
        raise UserError(f"index must be bruteforce or scann, got {index!r}")
    if not isinstance(n, (int, np.integer)) or not k <= n <= min(MAX_CANDIDATES, len(rec.ds.titles)):
        raise UserError(f"the candidates N must be between k ({k}) and {min(MAX_CANDIDATES, len(rec.ds.titles))}, "
                        f"got {n!r}")
    if index == "scann" and n > rec.scann_params.num_reordering_candidates:
        raise UserError(f"ScaNN re-scores {rec.scann_params.num_reordering_candidates} candidates: it cannot "
                        f"return N={n} (ask fewer, or raise its re-ordering candidates)")
    if ranker.n_users != len(rec.ds.user_ids) or ranker.n_movies != len(rec.ds.titles):
        raise UserError("the ranking run was trained on other data than the retrieval run")
    u = rec.user_index(user_id)
    exclude = rec.seen(u) if exclude_seen else None
    scores, ids = idx.search(rec.bruteforce if index == "bruteforce" else rec.scann, rec.user_vectors[u], int(n),
                             exclude)
    keep = ids >= 0
    scores, ids = scores[keep], ids[keep].astype(np.int64)
    if not 0.0 <= mix <= 1.0:
        raise UserError(f"mix must be between 0 and 1, got {mix!r}")
    stars = ranker.predict(u, ids)
    order = np.argsort(-measure.blended(stars, scores, mix), kind="stable")  # ties keep the retrieval order
    rows = [{"movie_idx": int(m), "stars": float(s), "retrieval_rank": r + 1, "retrieval_score": float(sc)}
            for r, (m, s, sc) in enumerate(zip(ids, stars, scores))]
    ranked = [{"rank": i + 1, **rows[j]} for i, j in enumerate(order[:k])]
    retrieved = [{"rank": r["retrieval_rank"], **r} for r in rows[:k]]
    describe(rec.ds, ranked, rec.similar.genres)
    describe(rec.ds, retrieved, rec.similar.genres)
    return TwoStage(user_id=str(user_id), n=int(len(ids)), k=k, index=index, mix=float(mix), ranked=ranked,
                    retrieved=retrieved)


def check_pair(retrieval, ranking) -> None:
    """``UserError`` unless the two runs were trained and scored on the same data and split."""
    if getattr(ranking, "kind", None) != "ranking":
        raise UserError(f"run {ranking.run_id} is not a ranking run (train one with python -m recsys train-ranking)")
    if retrieval.data != ranking.data or retrieval.config.split_of() != ranking.config.split_of():
        v, split, fraction, seed = retrieval.config.split_of()
        raise UserError(f"ranking run {ranking.run_id} was trained on another split than retrieval run "
                        f"{retrieval.run_id} ({split}, seed {seed}): train one with python -m recsys train-ranking "
                        f"--split {split} --seed {seed}")


def metrics(retrieval, ranking, ranker, ds, n: int = 100) -> dict:
    """NDCG@10 of both stages and recall@N for this pair of runs, over every test user (computed once, kept on disk).

    Run ids are hashes of their settings and data, so the pair and N name the result; it is
    written to ``$RECSYS_HOME/data/two_stage/`` atomically (complete or absent).
    """
    from recsys.data import prepared

    check_pair(retrieval, ranking)
    path = data_dir() / "two_stage" / f"{retrieval.run_id}-{ranking.run_id}-n{int(n)}-v{VERSION}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    users, movies = retrieval.vectors_for(ds)
    out = measure.evaluate(users, movies, ranker.predict_pairs, prepared.prepare(ds, retrieval.config), n=int(n))
    out.update(retrieval_run=retrieval.run_id, ranking_run=ranking.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(out))
        os.replace(tmp, path)
    except OSError:  # the cache only saves time
        tmp.unlink(missing_ok=True)
    return out


def read_metrics(m: dict) -> str:
    """A few sentences that read the two stages' numbers: whether ranking paid, what bounds it, the blends."""
    gain = m["ndcg"]["reranked"] - m["ndcg"]["retrieval"]
    verdict = (f"Re-ranking by predicted stars alone raises NDCG@10 by {gain:+.4f}" if gain > 0.0005 else
               f"Re-ranking by predicted stars alone lowers NDCG@10 by {-gain:.4f}" if gain < -0.0005 else
               "Re-ranking by predicted stars alone leaves NDCG@10 where it was")
    best = max(m["mix"], key=m["mix"].get)
    blend = (f" Blending the stars with stage 1's score does better: {m['mix'][best]:.4f} at weight {best} "
             f"(measured on test: a real system would choose the weight on validation)."
             if m["mix"][best] > max(m["ndcg"]["retrieval"], m["ndcg"]["reranked"]) + 0.0005 else
             " No blend of the stars and stage 1's score beats the better of the two.")
    return (f"{verdict} over {m['users']} test users: a rating model knows how much a user likes what they "
            f"watch, not what they will watch.{blend} Stage 1 found {m['recall_at_n']:.1%} of the held-out ratings "
            f"among its {m['n']} candidates: the rest no second stage can recover.")
