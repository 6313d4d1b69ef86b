"""The ScaNN and BruteForce indexes (``recsys/serving/index.py``): recall against the exact top-k, settings checked."""
import numpy as np
import pytest

from recsys.errors import UserError
from recsys.serving import index


def test_scann_defaults_recall_on_trained_catalog(tutorial_run, ml100k):
    users, movies = tutorial_run.vectors
    assert len(movies) == 1_664
    bf = index.build_bruteforce(movies)
    sc = index.build_scann(movies)  # default_scann_params(1664)
    _, exact = bf(users, k=10)
    _, approx = sc(users, k=10)
    assert index.recall(approx.numpy(), exact.numpy()) >= 0.95


def test_recall_hand_made():
    assert index.recall(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 2, 9], [7, 8, 9]])) == pytest.approx(2 / 6)


def test_scann_params_validation():
    with pytest.raises(UserError, match="num_leaves must be between 1 and the catalog size 100"):
        index.ScannParams(num_leaves=500).validate(100)
    with pytest.raises(UserError, match="num_leaves_to_search"):
        index.ScannParams(num_leaves=10, num_leaves_to_search=20).validate(100)
