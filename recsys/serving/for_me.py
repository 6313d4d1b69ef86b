""""Recommend for me": a visitor picks movies they like and gets the run's top-k, no retraining.

A run whose user tower reads the history (``history_encoder``) needs nothing but a list of
movies to describe a user: the visitor's picks go through the same encoder that made every
test user's vector (``recsys/model/fold_in.py``), and the vector is searched in the run's
BruteForce and ScaNN indexes with the picks left out. A run whose user tower is an id lookup
cannot do this: a new user has no row in its table (the tutorial's model must be retrained to
know anyone new), which is the lesson the page states when such a run is active.
"""
from __future__ import annotations

import difflib

import numpy as np

from recsys.config import PRESETS
from recsys.data import Dataset
from recsys.errors import UserError
from recsys.model import fold_in
from recsys.serving import index as idx
from recsys.serving.recommend import Recommender, check_k, describe

MAX_PICKS = 100  # what the page's picker takes (the CLI takes any number)


def presets_that_can() -> list[str]:
    """The presets whose user tower reads the history (they can recommend for a list of movies)."""
    return [name for name, c in PRESETS.items() if c.history_encoder]


def why_not(run) -> str | None:
    """Why ``run`` cannot recommend from picked movies, or None when it can."""
    if run.kind != "retrieval":
        return f"run {run.run_id} is a {run.kind} run: pick a retrieval run"
    if not getattr(run.config, "history_encoder", False):
        can = ", ".join(repr(p) for p in presets_that_can()) or "one with the history encoder on"
        return (f"run {run.run_id}'s user tower looks users up by id, so it knows only the users it was trained on; "
                f"a run whose user tower reads the history can score anyone from their movies: train {can}")
    if run.config.user_history:
        return (f"run {run.run_id} adds user_history's mean of learned vectors to its encoder, which the fold-in does "
                "not compute: turn user_history off")
    return None


def movie_indices(ds: Dataset, titles) -> np.ndarray:
    """Catalog positions of ``titles``; an unknown title is a one-line ``UserError`` with close matches."""
    titles = [str(t).strip() for t in titles if str(t).strip()]
    if not titles:
        raise UserError("pick at least one movie you like")
    position = {str(t): i for i, t in enumerate(ds.titles)}
    out = []
    for t in titles:
        if t in position:
            out.append(position[t])
            continue
        lowered = t.lower()
        close = [c for c in position if lowered in c.lower()][:3] or \
            difflib.get_close_matches(t, list(position), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UserError(f"unknown movie title {t!r}{hint}")
    return np.unique(np.asarray(out, np.int64))


def user_vector(run, ds: Dataset, movies: np.ndarray) -> np.ndarray:
    """The vector the run's user tower gives someone who rated ``movies`` (catalog positions)."""
    reason = why_not(run)
    if reason:
        raise UserError(reason)
    return fold_in.user_vector(run.encoder(), movies, len(ds.titles))


def for_likes(rec: Recommender, titles, k: int = 10) -> idx.Comparison:
    """Top ``k`` for someone who likes ``titles``, from both indexes, the picked movies left out."""
    k = check_k(k, rec.scann_params, len(rec.ds.titles))
    movies = movie_indices(rec.ds, titles)
    reason = why_not(rec.run)
    if reason:
        raise UserError(reason)

    def answer():
        query = fold_in.user_vector(rec.run.encoder(), movies, len(rec.ds.titles))
        comp = idx.compare(rec.bruteforce, rec.scann, query, k, movies,
                           query_info={"likes": [str(rec.ds.titles[m]) for m in movies]}, latency=rec.latency)
        describe(rec.ds, comp.bruteforce)
        describe(rec.ds, comp.scann)
        return comp

    return rec.answers.get(("likes", tuple(movies.tolist()), k), answer)
