"""What a rating predictor must beat: RMSE, the global mean and the user/movie bias baseline.

RMSE = sqrt(mean((r - r_hat)^2)) over the held-out ratings, in stars.

*Global mean*: predict mu, the mean training rating, for every pair. Its RMSE is the standard
deviation of the test ratings around mu (~1.13 on ML-100k): a model that does not beat it has
learned nothing about anyone.

*Bias baseline* (the "baseline predictor" of Koren 2008/2010, surprise's ``BaselineOnly``):

    r_hat(u, i) = mu + b_u + b_i

with b_u how far user u rates above the mean and b_i how far movie i is rated above it,
fitted by ridge regression on the training ratings R:

    min_b  sum_{(u,i) in R} (r_ui - mu - b_u - b_i)^2 + lam_user * sum_u b_u^2 + lam_movie * sum_i b_i^2

Holding the user biases fixed, the objective splits into one quadratic per movie; setting its
derivative to 0,

    -2 sum_{u in R(i)} (r_ui - mu - b_u - b_i) + 2 lam_movie b_i = 0
    =>  b_i = sum_{u in R(i)} (r_ui - mu - b_u) / (lam_movie + |R(i)|)

and the same for b_u with the movie biases fixed. Alternating the two closed forms is
coordinate descent on a strictly convex quadratic, so it converges to its one minimum; a
few passes are enough. The lambdas shrink the bias of a movie with few ratings toward 0: with
3 ratings of 5 stars and lam_movie = 10, b_i is 3 (5 - mu) / 13, not 5 - mu. They are chosen
on a validation slice of the training ratings (``recsys/training/ranking.py``), never on test.

For scale (``REFERENCES``): on ML-100k the surprise library's published 5-fold benchmark has
RMSE about 0.934 for SVD (biased matrix factorisation) and 0.92 for SVD++. Another protocol
than our split (5 folds, default settings), so a reference for what is good, not a head-to-head.
"""
from __future__ import annotations

import numpy as np

REFERENCES = {"SVD (surprise, ML-100k 5-fold)": 0.934, "SVD++ (surprise, ML-100k 5-fold)": 0.920}
LAMBDAS = (1.0, 3.0, 10.0, 25.0, 50.0)  # the validation grid of lam_user x lam_movie
PASSES = 10


def rmse(ratings: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error of ``predicted`` against ``ratings`` (NaN for no ratings)."""
    ratings, predicted = np.asarray(ratings, np.float64), np.asarray(predicted, np.float64)
    return float(np.sqrt(np.mean((ratings - predicted) ** 2))) if len(ratings) else float("nan")


def fit_biases(users, movies, ratings, n_users: int, n_movies: int, lam_user: float, lam_movie: float,
               passes: int = PASSES) -> tuple[float, np.ndarray, np.ndarray]:
    """``(mu, b_u [n_users], b_i [n_movies])`` of the bias baseline by alternating closed-form passes (see above)."""
    users, movies = np.asarray(users), np.asarray(movies)
    ratings = np.asarray(ratings, np.float64)
    mu = float(ratings.mean())
    n_u = np.bincount(users, minlength=n_users)
    n_i = np.bincount(movies, minlength=n_movies)
    b_u, b_i = np.zeros(n_users), np.zeros(n_movies)
    residual = ratings - mu
    for _ in range(passes):
        b_i = np.bincount(movies, residual - b_u[users], minlength=n_movies) / (lam_movie + n_i)
        b_u = np.bincount(users, residual - b_i[movies], minlength=n_users) / (lam_user + n_u)
    return mu, b_u, b_i


def predict_biases(fitted: tuple, users, movies) -> np.ndarray:
    """mu + b_u + b_i of each (users[k], movies[k]) pair, from ``fit_biases``' result."""
    mu, b_u, b_i = fitted
    return mu + b_u[np.asarray(users)] + b_i[np.asarray(movies)]


def read_result(metrics: dict) -> str:
    """One sentence on a ranking run's test RMSE: against the bias baseline, then against ``REFERENCES``."""
    mine, biases = metrics["model"]["test"]["rmse"], metrics["biases"]["test"]["rmse"]
    better = [name for name, v in REFERENCES.items() if mine <= v]
    return (f"{'Beats' if mine < biases else 'Does not beat'} the user + movie bias baseline ({biases:.4f}); "
            f"{'at or below ' + ' and '.join(better) if better else 'above the published SVD'} results on ML-100k.")
