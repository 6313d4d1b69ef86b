"""Recommendations from a saved run: per user (user tower) and per movie (item-to-item).

``Recommender`` holds a run's vectors and its two indexes (BruteForce and ScaNN over the
movie vectors) and answers queries with both, side by side, as the Recommend page and
``python -m recsys recommend`` show them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data import Dataset
from recsys.serving import index as idx
from recsys.errors import UserError


class Recommender:
    def __init__(self, run, ds: Dataset, scann_params: idx.ScannParams | None = None):
        self.run, self.ds = run, ds
        self.user_vectors, self.movie_vectors = run.vectors_for(ds)
        # k is checked per query (``_check_k``): the index serves every k up to its re-scored candidates
        self.scann_params = (scann_params or idx.default_scann_params(len(ds.titles))).validate(len(ds.titles), k=1)
        self.bruteforce = idx.build_bruteforce(self.movie_vectors)
        self.scann = idx.build_scann(self.movie_vectors, self.scann_params, k=1)  # k is given per query
        self._user_pos = {u: i for i, u in enumerate(ds.user_ids)}
        self._title_pos = {t: i for i, t in enumerate(ds.titles)}
        self._genres = ds.title_genres.reindex(ds.titles).fillna("").to_numpy()

    # ------------------------------------------------------------------ lookups
    def user_index(self, user_id) -> int:
        key = str(user_id).strip()
        if key not in self._user_pos:
            raise UserError(f"unknown user {user_id!r} (ids run from {self.ds.user_ids[0]} to {self.ds.user_ids[-1]})")
        return self._user_pos[key]

    def title_index(self, title: str) -> int:
        if title in self._title_pos:
            return self._title_pos[title]
        close = [t for t in self.ds.titles if str(title).lower() in t.lower()][:3]
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UserError(f"unknown movie title {title!r}{hint}")

    def seen(self, user_idx: int) -> np.ndarray:
        """Title indices the user rated (in any split: they have watched them)."""
        r = self.ds.ratings
        return np.unique(r.loc[r["user_idx"] == user_idx, "title_idx"].to_numpy())

    def profile(self, user_id) -> dict:
        """Age, gender, occupation and the user's highest-rated movies."""
        u = self.user_index(user_id)
        r = self.ds.ratings[self.ds.ratings["user_idx"] == u]
        top = r.sort_values(["user_rating", "timestamp"], ascending=[False, False]).head(10)
        first = r.iloc[0]
        return {"user_id": str(user_id), "age": int(first.user_age), "gender": first.user_gender,
                "occupation": first.user_occupation, "ratings": int(len(r)),
                "top_rated": top[["movie_title", "user_rating", "movie_genres"]].reset_index(drop=True)}

    def movie_profile(self, title: str) -> dict:
        """A movie's genres, how many ratings it got and their mean (stars)."""
        m = self.title_index(title)
        r = self.ds.ratings.loc[self.ds.ratings["title_idx"] == m, "user_rating"]
        return {"movie_title": str(self.ds.titles[m]), "genres": str(self._genres[m]).replace("|", ", "),
                "ratings": int(len(r)), "mean_rating": float(r.mean()) if len(r) else float("nan")}

    # ------------------------------------------------------------------ queries
    def _check_k(self, k: int) -> int:
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= 100:
            raise UserError(f"k must be between 1 and 100, got {k!r}")
        self.scann_params.validate(len(self.ds.titles), int(k))  # ScaNN returns at most what it re-scores
        return int(k)

    def for_user(self, user_id, k: int = 10, exclude_seen: bool = False) -> idx.Comparison:
        k = self._check_k(k)
        u = self.user_index(user_id)
        exclude = self.seen(u) if exclude_seen else None
        return self._describe(idx.compare(self.bruteforce, self.scann, self.user_vectors[u], k, exclude,
                                          query_info={"user_id": str(user_id), "exclude_seen": exclude_seen}))

    def for_movie(self, title: str, k: int = 10) -> idx.Comparison:
        """Movies whose vectors score highest against this movie's vector (itself left out)."""
        k = self._check_k(k)
        m = self.title_index(title)
        return self._describe(idx.compare(self.bruteforce, self.scann, self.movie_vectors[m], k, [m],
                                          query_info={"movie_title": title}))

    def _describe(self, comp: idx.Comparison) -> idx.Comparison:
        for rows in (comp.bruteforce, comp.scann):
            for r in rows:
                r["movie_title"] = str(self.ds.titles[r["movie_idx"]])
                r["genres"] = str(self._genres[r["movie_idx"]]).replace("|", ", ")
        return comp


def side_by_side(comp: idx.Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both result lists as frames with an ``only_here`` flag for movies missing from the other list."""
    frames = []
    for mine, other in ((comp.bruteforce, comp.scann), (comp.scann, comp.bruteforce)):
        others = {r["movie_idx"] for r in other}
        df = pd.DataFrame(mine, columns=["rank", "movie_title", "genres", "score", "movie_idx"])
        df["only_here"] = ~df["movie_idx"].isin(others)
        frames.append(df.drop(columns="movie_idx"))
    return frames[0], frames[1]
