"""``python -m recsys recommend``: top-k movies for a user or a movie, BruteForce vs ScaNN."""
from __future__ import annotations

from recsys.cli.output import emit
from recsys.errors import UserError


def register(sub) -> None:
    r = sub.add_parser("recommend", help="top-k movies for a user or a movie, BruteForce vs ScaNN")
    r.add_argument("--run", required=True)
    r.add_argument("--user")
    r.add_argument("--movie")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--index", choices=("bruteforce", "scann", "both"), default="both")
    r.add_argument("--exclude-seen", action="store_true")
    r.add_argument("--num-leaves", type=int)
    r.add_argument("--num-leaves-to-search", type=int)
    r.add_argument("--num-reordering-candidates", type=int)
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=run)


def run(a) -> int:
    from recsys.serving.index import ScannParams, default_scann_params
    from recsys.serving.recommend import Recommender
    from recsys.store import runs
    from recsys.training import train

    if (a.user is None) == (a.movie is None):
        raise UserError("give exactly one of --user ID or --movie TITLE")
    if not 1 <= a.k <= 100:  # before anything is loaded
        raise UserError(f"k must be between 1 and 100, got {a.k}")
    run_ = runs.load(a.run)
    ds = train.load_dataset(run_.config.variant)
    params = None
    given = {"num_leaves": a.num_leaves, "num_leaves_to_search": a.num_leaves_to_search,
             "num_reordering_candidates": a.num_reordering_candidates}
    if any(v is not None for v in given.values()):  # 0 or a negative value is an error, not "default"
        defaults = default_scann_params(len(ds.titles)).to_dict()
        params = ScannParams(**{**defaults, **{k: v for k, v in given.items() if v is not None}})
    rec = Recommender(run_, ds, params)
    comp = rec.for_user(a.user, a.k, a.exclude_seen) if a.user is not None else rec.for_movie(a.movie, a.k)
    strip = lambda rows: [{"rank": r["rank"], "movie_title": r["movie_title"], "score": r["score"],
                           "genres": r["genres"]} for r in rows]
    out = {"query": comp.query, "k": a.k, "overlap": comp.overlap, "latency_ms": {}}
    if a.user is not None:  # what the Recommend page shows above the lists
        prof = rec.profile(a.user)
        out["profile"] = {**prof, "top_rated": prof["top_rated"].to_dict("records")}
        header = (f"user {prof['user_id']}: {prof['age']}, {prof['gender']}, {prof['occupation']}, "
                  f"{prof['ratings']} ratings")
    else:
        out["profile"] = rec.movie_profile(a.movie)
        header = (f"{out['profile']['movie_title']}: {out['profile']['genres']}, {out['profile']['ratings']} ratings, "
                  f"mean {out['profile']['mean_rating']:.2f}")
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
