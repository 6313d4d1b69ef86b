"""``python -m recsys embeddings``: a run's embedding map: 2-D coordinates, neighbours, genre agreement."""
from __future__ import annotations

from recsys.cli.output import emit
from recsys.errors import UserError
from recsys.ui.embedding_map import METHODS  # numpy and pandas only



def register(sub) -> None:
    e = sub.add_parser("embeddings", help="embedding map of a run: 2-D coordinates, neighbours, genre agreement")
    e.add_argument("--run", required=True)
    e.add_argument("--method", choices=METHODS, default="pca")
    e.add_argument("--movie", help="list this title's nearest neighbours")
    e.add_argument("--k", type=int, default=10)
    e.add_argument("--min-ratings", type=int, default=20, help="genre agreement over movies rated this often")
    e.add_argument("--users", action="store_true", help="project the users too (into --csv)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--csv", help="write the 2-D coordinates to this CSV file")
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=run)


def run(a) -> int:
    import pandas as pd

    from recsys.store import runs
    from recsys.data import prepared
    from recsys.ui import embedding_map as em

    run_ = runs.load(a.run)
    ds = prepared.load_dataset(run_.config.variant)
    users, movies = em.spaces(*run_.vectors_for(ds), run_.config.movie_bias, run_.encoder())
    table = em.movie_table(ds)
    genres = ds.title_genres.reindex(ds.titles).fillna("").tolist()
    agree = em.genre_agreement(movies, genres, a.k, a.min_ratings, table["ratings"].to_numpy())
    out = {"run_id": run_.run_id, "method": a.method, "genre_agreement": agree}
    lines = [f"run {run_.run_id}: {run_.config.label()}",
             f"genre agreement: {agree['neighbours']:.1%} of each movie's {a.k} nearest neighbours share a genre "
             f"with it (random pairs: {agree['random']:.1%}; {agree['movies']} movies with >= {a.min_ratings} ratings)"]
    if a.movie is not None:
        pos = {t: i for i, t in enumerate(ds.titles)}
        if a.movie not in pos:
            close = [t for t in ds.titles if a.movie.lower() in t.lower()][:3]
            raise UserError(f"unknown movie title {a.movie!r}" + (f"; did you mean {', '.join(map(repr, close))}?"
                                                                   if close else ""))
        nb = em.neighbours(movies, pos[a.movie], a.k).merge(table[["idx", "title", "genres", "ratings"]], on="idx")
        out["movie"], out["neighbours"] = a.movie, nb.drop(columns="idx").to_dict("records")
        lines.append(f"nearest neighbours of {a.movie} (cosine of the movie tower's vectors):")
        lines += [f"  {r.rank:3d}. {r.title:50.50} {r.cosine:6.3f}" for r in nb.itertuples()]
    if a.csv:
        p = em.project(movies, users if a.users else None, a.method, a.seed)
        df = em.movie_map(ds, p["movies"]).assign(kind="movie")
        if p["users"] is not None:
            df = pd.concat([df, em.user_map(ds, p["users"]).assign(kind="user")], ignore_index=True)
        df.to_csv(a.csv, index=False)
        out["csv"] = a.csv
        if p["explained"] is not None:
            out["explained_variance"] = p["explained"].tolist()
            lines.append(f"PCA keeps {p['explained'].sum():.1%} of the variance "
                         f"({p['explained'][0]:.1%} + {p['explained'][1]:.1%})")
        lines.append(f"{a.method} coordinates -> {a.csv}")
    emit(out, a.json, "\n".join(lines))
    return 0
