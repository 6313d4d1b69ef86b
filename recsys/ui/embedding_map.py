"""The embedding map: movie (and user) vectors of a run flattened to 2-D, and neighbours.

A trained movie tower puts movies that the same users watch close together, so genres
tend to form regions even though the model never saw a genre (with the tutorial's id-only
towers). Two ways to draw the d-dimensional vectors on a plane:

- **PCA** keeps the two directions of largest variance: a linear, faithful-to-distances
  view; the share of variance it keeps says how much of the picture is missing.
- **t-SNE** (scikit-learn) keeps each point's nearest neighbours near it and lets global
  distances go: clusters are clearer, but distances between clusters mean little.

The map and the neighbours use the space where two movies are compared
(``item_to_item.similarity_space``: the tower's vectors without the folded bias column, at
length 1), so a movie's neighbours are ranked by cosine, the same numbers as the Recommend
page's *Per movie* and ``python -m recsys recommend --movie``; users are drawn the same way
(their towers' vectors without the bias column's 1, at length 1). ``genre_agreement`` puts a
number on "genres cluster": how often a movie's nearest neighbours share a genre with it,
against random pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.errors import UserError
from recsys.evaluation import item_to_item as i2i
from recsys.evaluation.topk import top_k

METHODS = ("pca", "tsne")


def spaces(user_vectors: np.ndarray, movie_vectors: np.ndarray, movie_bias: bool, encoder: dict | None = None) -> tuple:
    """A run's ``(users, movies)`` where the map draws and compares them (see the module docstring).

    With a history encoder the movie space has the encoder's half too (``similarity_space``);
    users are drawn in the movie tower's half (zeros in the other), where their dot products live.
    """
    users = i2i.normalised(i2i.without_bias(user_vectors, movie_bias))
    movies = i2i.similarity_space(movie_vectors, movie_bias, encoder)
    if movies.shape[1] > users.shape[1]:
        users = np.concatenate([users, np.zeros((len(users), movies.shape[1] - users.shape[1]), users.dtype)], axis=1)
    return users, movies


def pca(vectors: np.ndarray, fit_on: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """2-D PCA coordinates of ``vectors`` and the share of variance each axis keeps.

    The axes are fitted on ``fit_on`` (default: ``vectors``), so users can be drawn in
    the movies' plane. Signs are fixed (largest loading positive) so maps are stable.
    """
    fit = np.asarray(vectors if fit_on is None else fit_on, np.float64)
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    axes = vt[:2]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    if len(axes) < 2:  # 1-D vectors: pad a zero axis
        axes = np.vstack([axes, np.zeros_like(axes)])
    var = s ** 2
    explained = np.pad(var[:2] / var.sum(), (0, max(0, 2 - len(var)))) if var.sum() > 0 else np.zeros(2)
    return (np.asarray(vectors, np.float64) - mean) @ axes.T, explained


def tsne(vectors: np.ndarray, seed: int = 0, perplexity: float = 30.0, max_iter: int = 500) -> np.ndarray:
    """2-D t-SNE coordinates (scikit-learn, Barnes-Hut, PCA initialisation: reproducible)."""
    from sklearn.manifold import TSNE

    n = len(vectors)
    if n < 5:
        raise UserError(f"t-SNE needs at least 5 points, got {n}")
    from threadpoolctl import threadpool_limits

    model = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), init="pca", random_state=seed,
                 max_iter=max_iter, learning_rate="auto")
    with threadpool_limits(1):  # one thread: ~2.5x less CPU than OpenMP's spinning threads on a small box
        return model.fit_transform(np.asarray(vectors, np.float32)).astype(np.float64)


def first_genre(genres: str) -> str:
    """The first of a "|"-joined genre list ("unknown" if there is none)."""
    return (str(genres).split("|")[0] or "unknown") if genres else "unknown"


def movie_table(ds) -> pd.DataFrame:
    """One row per distinct title (catalog order): title, genres, first genre, ratings, mean rating."""
    r = ds.ratings
    counts = np.bincount(r["title_idx"].to_numpy(), minlength=len(ds.titles))
    sums = np.bincount(r["title_idx"].to_numpy(), weights=r["user_rating"].to_numpy(), minlength=len(ds.titles))
    genres = ds.title_genres.reindex(ds.titles).fillna("").to_numpy()
    return pd.DataFrame({
        "idx": np.arange(len(ds.titles)), "title": ds.titles.astype(str),
        "genres": [str(g).replace("|", ", ") for g in genres],
        "genre": [first_genre(g) for g in genres],
        "ratings": counts.astype(int),
        "mean_rating": np.round(np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0), 2),
    })


def project(movie_vectors: np.ndarray, user_vectors: np.ndarray | None = None, method: str = "pca",
            seed: int = 0) -> dict:
    """Coordinates of the movies (and users, if given) in one plane.

    PCA: axes fitted on the movies, users projected onto them. t-SNE: movies and users
    embedded together (t-SNE has no "project a new point"). Returns
    ``{"movies": [C, 2], "users": [U, 2] or None, "explained": [2] or None}``.
    """
    if method not in METHODS:
        raise UserError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "pca":
        movies, explained = pca(movie_vectors)
        users = pca(user_vectors, fit_on=movie_vectors)[0] if user_vectors is not None else None
        return {"movies": movies, "users": users, "explained": explained}
    if user_vectors is None:
        return {"movies": tsne(movie_vectors, seed), "users": None, "explained": None}
    both = tsne(np.vstack([movie_vectors, user_vectors]), seed)
    return {"movies": both[:len(movie_vectors)], "users": both[len(movie_vectors):], "explained": None}


def movie_map(ds, coords: np.ndarray) -> pd.DataFrame:
    """``movie_table`` with x, y columns: the data of the map."""
    df = movie_table(ds)
    df["x"], df["y"] = coords[:, 0], coords[:, 1]
    return df


def user_map(ds, coords: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"user_id": ds.user_ids.astype(str), "x": coords[:, 0], "y": coords[:, 1]})


def neighbours(space: np.ndarray, m: int, k: int = 10) -> pd.DataFrame:
    """The ``k`` movies most similar to movie ``m`` (itself left out) in ``space`` (unit vectors).

    Columns: rank, idx, cosine (what "movies like this" ranks by).
    """
    n = len(space)
    if not 0 <= m < n:
        raise UserError(f"movie index must be between 0 and {n - 1}, got {m}")
    if not 1 <= k <= min(100, n - 1):
        raise UserError(f"k must be between 1 and {min(100, n - 1)}, got {k}")
    v = space.astype(np.float64)
    scores = v @ v[m]
    scores[m] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    return pd.DataFrame({"rank": np.arange(1, k + 1), "idx": top, "cosine": scores[top]})


def genre_agreement(space: np.ndarray, genres: list[str], k: int = 10, min_ratings=None,
                    counts: np.ndarray | None = None, seed: int = 0) -> dict:
    """How often a movie and one of its ``k`` nearest neighbours in ``space`` (cosine) share a genre.

    ``random`` is the same share for random pairs: the gap is how much genre structure
    the embeddings learned. With ``counts`` and ``min_ratings`` only movies rated at least
    that often take part (rarely rated movies barely move from their initial vectors).
    """
    sets = [set(g.split("|")) - {""} for g in genres]
    keep = np.arange(len(sets))
    if counts is not None and min_ratings:
        keep = keep[np.asarray(counts)[keep] >= min_ratings]
    if len(keep) <= k:
        raise UserError(f"too few movies ({len(keep)}) for {k} neighbours")
    v = space[keep].astype(np.float64)
    scores = v @ v.T
    np.fill_diagonal(scores, -np.inf)
    nn = top_k(scores, k)
    share = lambda pairs: float(np.mean([bool(sets[keep[a]] & sets[keep[b]]) for a, b in pairs]))
    neigh = share([(i, j) for i in range(len(keep)) for j in nn[i]])
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(keep), 20000), rng.integers(0, len(keep), 20000)
    rand = share([(i, j) for i, j in zip(a, b) if i != j])
    return {"k": k, "movies": int(len(keep)), "neighbours": neigh, "random": rand}


def rated(ds, user_id: str) -> pd.DataFrame:
    """The movies a user rated (any split), with their stars: marked on the map."""
    r = ds.ratings
    rows = r[r["user_id"] == str(user_id)]
    if rows.empty:
        raise UserError(f"unknown user {user_id!r}")
    return rows[["title_idx", "movie_title", "user_rating"]].rename(columns={"title_idx": "idx"}).reset_index(drop=True)
