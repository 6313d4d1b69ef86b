"""The embedding map (``recsys/ui/embedding_map.py``): the projection's numbers, ``embeddings`` CLI and the page."""
import json

import numpy as np
import pytest

from recsys import cli
from recsys.errors import UserError
from recsys.serving.recommend import Recommender
from recsys.ui import embedding_map as projection
from tests.helpers import assert_clean, open_page


@pytest.mark.slow
def test_projection_and_neighbours(tiny_run, ml100k):
    users, movies = tiny_run.vectors
    p = projection.project(movies, users, "pca")
    assert p["movies"].shape == (len(ml100k.titles), 2) and p["users"].shape == (len(ml100k.user_ids), 2)
    assert 0 < p["explained"].sum() <= 1 and p["explained"][0] >= p["explained"][1]
    # Users are drawn in the movies' plane: projecting the movies "as users" gives the movie coordinates.
    assert np.allclose(projection.pca(movies, fit_on=movies)[0], p["movies"])
    # t-SNE (small subset, for time): finite 2-D coordinates, reproducible with the seed.
    t1 = projection.tsne(movies[:80], seed=1, max_iter=250)
    assert t1.shape == (80, 2) and np.isfinite(t1).all()
    assert np.allclose(t1, projection.tsne(movies[:80], seed=1, max_iter=250))

    m = list(ml100k.titles).index("Star Wars (1977)")
    space = projection.spaces(users, movies, tiny_run.config.movie_bias)[1]
    nb = projection.neighbours(space, m, 10)
    comp = Recommender(tiny_run, ml100k).for_movie("Star Wars (1977)", 10)  # the Recommend page's "Per movie"
    assert nb["idx"].tolist() == [r["movie_idx"] for r in comp.bruteforce]  # the same neighbours, same space
    assert np.allclose(nb["cosine"], [r["score"] for r in comp.bruteforce], atol=1e-4)
    assert (np.abs(nb["cosine"]) <= 1 + 1e-6).all()

    table = projection.movie_table(ml100k)
    assert table["ratings"].sum() == len(ml100k.ratings) and table["genre"].notna().all()
    genres = ml100k.title_genres.reindex(ml100k.titles).fillna("").tolist()
    g = projection.genre_agreement(space, genres, 10, 20, table["ratings"].to_numpy())
    assert 0 <= g["random"] <= 1 and g["neighbours"] > g["random"]  # genres cluster even after one epoch
    with pytest.raises(UserError):
        projection.neighbours(space, m, 0)
    with pytest.raises(UserError):
        projection.rated(ml100k, "no-such-user")


def test_embedding_cli(tiny_run, tmp_path, capsys):
    csv = tmp_path / "map.csv"
    rc = cli.main(["embeddings", "--run", tiny_run.run_id, "--movie", "Star Wars (1977)", "--k", "5",
                   "--users", "--csv", str(csv), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["neighbours"]) == 5 and len(out["explained_variance"]) == 2
    assert csv.read_text().count("\n") == 1 + 1664 + 943
    assert cli.main(["embeddings", "--run", tiny_run.run_id, "--movie", "Star Warz"]) == 2


def test_embeddings_page(tiny_run):
    at = open_page("app_pages/embeddings.py", active=tiny_run.run_id)
    assert_clean(at, errors=True)
    assert tiny_run.run_id in at.caption[0].value
    labels = [m.label for m in at.metric]
    assert "Variance kept by the 2 PCA axes" in labels and any("sharing a genre" in x for x in labels)
    assert len(at.dataframe[0].value) == 10  # the neighbours of the default movie
    at.slider(key="map_k").set_value(5)
    at.toggle(key="map_users").set_value(True).run()
    at.selectbox(key="map_user").set_value("42").run()
    at.selectbox(key="map_colour").set_value("Sci-Fi").run()
    assert_clean(at, errors=True)
    assert len(at.dataframe[0].value) == 5 and "User 42 rated" in " ".join(m.value for m in at.markdown)
    assert [b.label for b in at.button] == ["Build and check the SavedModel"]
