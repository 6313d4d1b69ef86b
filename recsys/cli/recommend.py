"""``python -m recsys recommend``: top-k movies for a user, a movie or a list of liked movies, BruteForce vs ScaNN.

``--likes T1 T2 ...`` ("recommend for me"): the run's user tower reads those movies as a
new user's history (runs with ``history_encoder``; ``recsys/serving/for_me.py``).

Per movie there are three answers (``--movie-model``): the retrieval run's movie tower
(``two-tower``, the default), an item-to-item run (``item-to-item``: ``--item-run``, or the
newest one on the same data and split) and item-kNN over the run's training ratings
(``itemknn``, exact: no index). Each comes with its held-out hit rate (``hit_rate``).
"""
from __future__ import annotations

from recsys.cli.output import emit
from recsys.errors import UserError
from recsys.evaluation.item_to_item import MOVIE_MODELS  # numpy only


def register(sub) -> None:
    r = sub.add_parser("recommend", help="top-k movies for a user or a movie, BruteForce vs ScaNN")
    r.add_argument("--run", required=True)
    r.add_argument("--user")
    r.add_argument("--movie")
    r.add_argument("--likes", nargs="+", metavar="TITLE",
                   help="movies you like (exact titles, e.g. \"Star Wars (1977)\"): the top-k for a new user who "
                        "rated them, picked movies left out (runs whose user tower reads the history)")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--index", choices=("bruteforce", "scann", "both"), default="both")
    r.add_argument("--exclude-seen", action="store_true")
    r.add_argument("--movie-model", choices=tuple(MOVIE_MODELS), default="two-tower",
                   help="with --movie: the retrieval run's movie tower, an item-to-item run, or item-kNN")
    r.add_argument("--item-run", help="with --movie-model item-to-item: that run (default: the newest item-to-item "
                                      "run on the same data and split)")
    r.add_argument("--rerank", metavar="RANKING_RUN",
                   help="with --user: retrieve --candidates movies with --run, then order them by this ranking "
                        "run's predicted stars (two stages); prints NDCG@10 of both stages over all test users")
    r.add_argument("--candidates", type=int, default=100, help="with --rerank: how many movies stage 1 retrieves "
                                                               "(default 100)")
    r.add_argument("--mix", type=float, default=0.0, help="with --rerank: stage 2's weight of stage 1's score "
                                                          "against the predicted stars, 0..1 (default 0: stars only)")
    r.add_argument("--num-leaves", type=int)
    r.add_argument("--num-leaves-to-search", type=int)
    r.add_argument("--num-reordering-candidates", type=int)
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=run)


def run(a) -> int:
    from recsys.serving.index import ScannParams, default_scann_params
    from recsys.serving.recommend import Recommender
    from recsys.store import runs
    from recsys.data import prepared

    if sum(x is not None for x in (a.user, a.movie, a.likes)) != 1:
        raise UserError("give exactly one of --user ID, --movie TITLE or --likes TITLE [TITLE ...]")
    if not 1 <= a.k <= 100:  # before anything is loaded
        raise UserError(f"k must be between 1 and 100, got {a.k}")
    run_ = runs.load(a.run)
    ds = prepared.load_dataset(run_.config.variant)
    params = None
    given = {"num_leaves": a.num_leaves, "num_leaves_to_search": a.num_leaves_to_search,
             "num_reordering_candidates": a.num_reordering_candidates}
    if any(v is not None for v in given.values()):  # 0 or a negative value is an error, not "default"
        defaults = default_scann_params(len(ds.titles)).to_dict()
        params = ScannParams(**{**defaults, **{k: v for k, v in given.items() if v is not None}})
    if a.movie is None and (a.movie_model != "two-tower" or a.item_run):
        raise UserError("--movie-model and --item-run go with --movie")
    if run_.kind != "retrieval":
        if run_.kind == "ranking":
            raise UserError(f"run {run_.run_id} is a ranking run (it predicts stars): give a retrieval run as --run")
        raise UserError(f"run {run_.run_id} is an item-to-item run: give a retrieval run as --run "
                        f"(and this one as --item-run)")
    if a.rerank is not None and a.user is None:
        raise UserError("--rerank goes with --user")
    if a.likes is not None:
        return likes_answer(a, run_, ds, params)
    rec = Recommender(run_, ds, params)
    if a.rerank is not None:
        return two_stage_answer(a, run_, ds, rec)
    strip = lambda rows: [{"rank": r["rank"], "movie_title": r["movie_title"], "score": r["score"],
                           "genres": r["genres"]} for r in rows]
    if a.movie is not None and a.movie_model != "two-tower":
        return movie_answer(a, run_, ds, rec, params, strip)
    comp = rec.for_user(a.user, a.k, a.exclude_seen) if a.user is not None else rec.for_movie(a.movie, a.k)
    out = {"query": comp.query, "k": a.k, "overlap": comp.overlap, "latency_ms": {}}
    if a.user is not None:  # what the Recommend page shows above the lists
        prof = rec.profile(a.user)
        out["profile"] = {**prof, "top_rated": prof["top_rated"].to_dict("records")}
        header = (f"user {prof['user_id']}: {prof['age']}, {prof['gender']}, {prof['occupation']}, "
                  f"{prof['ratings']} ratings")
    else:
        out["profile"] = rec.movie_profile(a.movie)
        out["movie_model"], out["hit_rate"] = "two-tower", hit_rates(run_, ds)["two_tower"]
        header = movie_header(out["profile"]) + f"\nmovie tower of run {run_.run_id} (cosine): " + \
            hit_line(out["hit_rate"])
    for name in ("bruteforce", "scann"):
        if a.index in (name, "both"):
            out[name] = strip(getattr(comp, name))
            out["latency_ms"][name] = comp.latency_ms[name]
    lines = [header]
    for name in ("bruteforce", "scann"):
        if name in out:
            lines.append(f"{name} ({comp.latency_ms[name]:.2f} ms/query)")
            lines += [f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['score']:8.3f}" for r in out[name]]
    lines.append(f"overlap@{a.k}: {comp.overlap:.2f}")
    emit(out, a.json, "\n".join(lines))
    return 0


def hit_rates(run_, ds) -> dict:
    """The run's held-out item-to-item hit rates (computed for runs saved before they were stored)."""
    from recsys.store import runs

    return runs.item_to_item_metrics(run_, ds)


def hit_line(hits: dict) -> str:
    return "held-out hit rate " + ", ".join(f"@{k[4:]} {v:.3f}" for k, v in hits.items())


def movie_header(profile: dict) -> str:
    return (f"{profile['movie_title']}: {profile['genres']}, {profile['ratings']} ratings, "
            f"mean {profile['mean_rating']:.2f}")


def movie_answer(a, run_, ds, rec, params, strip) -> int:
    """``--movie T --movie-model item-to-item|itemknn``: that model's neighbours of T."""
    from recsys.serving.recommend import SimilarMovies, itemknn_neighbours
    from recsys.store import runs
    from recsys.data import prepared

    profile = rec.movie_profile(a.movie)
    out = {"query": {"movie_title": a.movie}, "k": a.k, "movie_model": a.movie_model, "profile": profile}
    if a.movie_model == "itemknn":
        rows = itemknn_neighbours(ds, prepared.prepare(ds, run_.config), a.movie, a.k)
        out["itemknn"], out["hit_rate"] = strip(rows), hit_rates(run_, ds)["itemknn"]
        lines = [movie_header(profile), f"item-kNN (cosine over the training ratings of run {run_.run_id}'s split, "
                                        f"exact): {hit_line(out['hit_rate'])}"]
        lines += [f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['score']:8.3f}" for r in rows]
        emit(out, a.json, "\n".join(lines))
        return 0
    if a.item_run:
        item = runs.load(a.item_run)
        if item.kind != "item_to_item":
            raise UserError(f"run {item.run_id} is not an item-to-item run (train one: python -m recsys "
                            "train-item-to-item)")
    else:
        found = runs.item_runs_for(run_)
        if not found:
            c = run_.config
            raise UserError(f"no item-to-item run on the data and split of run {run_.run_id}: train one with "
                            f"python -m recsys train-item-to-item --split {c.split} --split-fraction "
                            f"{c.split_fraction:g} --seed {c.seed}")
        item = found[0]
    from recsys.evaluation import item_to_item as i2i

    comp = SimilarMovies(*i2i.item_space(*item.vectors_for(ds)), ds, params).for_movie(a.movie, a.k)
    out.update({"item_run": item.run_id, "overlap": comp.overlap, "latency_ms": comp.latency_ms,
                "hit_rate": item.metrics["item_to_item"]["item_to_item"]})
    lines = [movie_header(profile), f"item-to-item run {item.run_id} (cosine): {hit_line(out['hit_rate'])}"]
    for name in ("bruteforce", "scann"):
        if a.index in (name, "both"):
            out[name] = strip(getattr(comp, name))
            lines.append(f"{name} ({comp.latency_ms[name]:.2f} ms/query)")
            lines += [f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['score']:8.3f}" for r in out[name]]
    lines.append(f"overlap@{a.k}: {comp.overlap:.2f}")
    emit(out, a.json, "\n".join(lines))
    return 0


def two_stage_answer(a, run_, ds, rec) -> int:
    """``--user U --rerank RANKING_RUN``: stage 1 retrieves ``--candidates``, stage 2 orders them by predicted stars."""
    from recsys.serving import two_stage
    from recsys.serving.ranking import Ranker
    from recsys.store import runs

    ranking = runs.load(a.rerank)
    two_stage.check_pair(run_, ranking)
    ranker = Ranker.load(ranking.path)
    index = "bruteforce" if a.index == "both" else a.index
    answer = two_stage.for_user(rec, ranker, a.user, a.candidates, a.k, index, exclude_seen=True, mix=a.mix)
    m = two_stage.metrics(run_, ranking, ranker, ds, a.candidates)
    keys = ("rank", "movie_title", "genres", "stars", "retrieval_rank", "retrieval_score")
    out = {"query": {"user_id": str(a.user)}, "k": answer.k, "candidates": answer.n, "index": index, "mix": a.mix,
           "retrieval_run": run_.run_id, "ranking_run": ranking.run_id,
           "reranked": [{k: r[k] for k in keys} for r in answer.ranked],
           "retrieved": [{k: r[k] for k in keys} for r in answer.retrieved], "metrics": m}
    lines = [f"user {a.user}: stage 1 {index} of run {run_.run_id} retrieved {answer.n} movies (seen left out); "
             f"stage 2 ranking run {ranking.run_id} ordered them by predicted stars",
             f"over all {m['users']} test users: NDCG@10 retrieval {m['ndcg']['retrieval']:.4f}, re-ranked "
             f"{m['ndcg']['reranked']:.4f}; recall@{m['n']} of retrieval {m['recall_at_n']:.4f} (what stage 2 can find)",
             "NDCG@10 by stage 2's weight of stage 1's score: " + ", ".join(f"{w} {v:.4f}" for w, v in m["mix"].items())]
    for r in answer.ranked:
        moved = r["retrieval_rank"] - r["rank"]
        lines.append(f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['stars']:5.2f} stars  (stage 1: #{r['retrieval_rank']}"
                     f"{f', up {moved}' if moved > 0 else f', down {-moved}' if moved < 0 else ''})")
    emit(out, a.json, "\n".join(lines))
    return 0


def likes_answer(a, run_, ds, params) -> int:
    """``--likes T1 T2 ...``: the top-k of a new user who rated those movies, from both indexes."""
    from recsys.serving import for_me
    from recsys.serving.recommend import Recommender

    reason = for_me.why_not(run_)
    if reason:
        raise UserError(reason)
    for_me.movie_indices(ds, a.likes)  # unknown titles fail before the indexes are built
    comp = for_me.for_likes(Recommender(run_, ds, params), a.likes, a.k)
    out = {"query": comp.query, "k": a.k, "overlap": comp.overlap, "latency_ms": {}}
    lines = [f"a new user who likes {', '.join(comp.query['likes'])} (run {run_.run_id}, liked movies left out)"]
    for name in ("bruteforce", "scann"):
        if a.index in (name, "both"):
            out[name] = [{"rank": r["rank"], "movie_title": r["movie_title"], "score": r["score"],
                          "genres": r["genres"]} for r in getattr(comp, name)]
            out["latency_ms"][name] = comp.latency_ms[name]
            lines.append(f"{name} ({comp.latency_ms[name]:.2f} ms/query)")
            lines += [f"  {r['rank']:3d}. {r['movie_title']:55.55} {r['score']:8.3f}" for r in out[name]]
    lines.append(f"overlap@{a.k}: {comp.overlap:.2f}")
    emit(out, a.json, "\n".join(lines))
    return 0
