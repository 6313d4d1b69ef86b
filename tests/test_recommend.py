"""Recommendations per user and per movie (``recsys/serving/recommend.py``): both indexes, seen movies, kept answers."""
import numpy as np
import pytest

from recsys.errors import UserError
from recsys.serving import index
from recsys.serving.recommend import Recommender, side_by_side


def test_recommend_per_user_and_per_movie(tutorial_run, ml100k):
    rec = Recommender(tutorial_run, ml100k)
    comp = rec.for_user("42", k=10)
    assert len(comp.bruteforce) == len(comp.scann) == 10
    assert 0.0 <= comp.overlap <= 1.0 and comp.latency_ms["bruteforce"] > 0 and comp.latency_ms["scann"] > 0
    users, movies = tutorial_run.vectors
    u = rec.user_index("42")
    exact = np.argsort(-(movies @ users[u]), kind="stable")[:10]
    assert [r["movie_idx"] for r in comp.bruteforce] == exact.tolist()
    scores = [r["score"] for r in comp.bruteforce]
    assert scores == sorted(scores, reverse=True)

    filtered = rec.for_user("42", k=10, exclude_seen=True)
    seen = set(rec.seen(u).tolist())
    assert len(filtered.bruteforce) == 10 and not seen & {r["movie_idx"] for r in filtered.bruteforce}
    assert not seen & {r["movie_idx"] for r in filtered.scann}

    star = rec.for_movie("Star Wars (1977)", k=5)
    assert len(star.bruteforce) == len(star.scann) == 5
    assert "Star Wars (1977)" not in [r["movie_title"] for r in star.bruteforce + star.scann]
    left, right = side_by_side(star)
    assert list(left.columns) == ["rank", "movie_title", "genres", "score", "only_here"]

    with pytest.raises(UserError, match="unknown user"):
        rec.for_user("99999")
    with pytest.raises(UserError, match="unknown movie title"):
        rec.for_movie("Star Wars")
    with pytest.raises(UserError, match="k must be between"):
        rec.for_user("42", k=0)


@pytest.mark.slow
def test_profiles_seen_movies_and_kept_answers_match_a_direct_computation(tutorial_run, ml100k):
    """What the Recommend page shows for a user (profile, favourites, the lists) is the same whether it comes
    from the grouped lookups and memories or straight from the ratings, for users with few and many ratings."""
    rec = Recommender(tutorial_run, ml100k)
    r = ml100k.ratings
    counts = r.groupby("user_idx").size()
    for u in (int(counts.idxmin()), int(counts.idxmax()), 0, 41):
        user_id = ml100k.user_ids[u]
        mine = r[r["user_idx"] == u]
        prof = rec.profile(user_id)
        assert prof["ratings"] == len(mine) == counts[u]
        assert (prof["age"], prof["gender"], prof["occupation"]) == (
            int(mine.user_age.iloc[0]), mine.user_gender.iloc[0], mine.user_occupation.iloc[0])
        top = prof["top_rated"]
        assert len(top) == min(10, len(mine))
        assert top["user_rating"].tolist() == sorted(mine["user_rating"], reverse=True)[:len(top)]
        for title, stars, genres in top.itertuples(index=False):  # each a rating of this user, genres as shown
            row = mine[mine["movie_title"] == title].iloc[0]
            assert row.user_rating == stars and row.movie_genres.replace("|", ", ") == genres
        assert rec.seen(u).tolist() == sorted(set(mine["title_idx"]))

    # The heaviest users: ScaNN re-scores only 100 candidates, most of which they rated. What it returns is never
    # a movie they rated (the list may be shorter than k); BruteForce still finds k.
    for u in counts.sort_values().index[-15:]:
        comp = rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True)
        seen = set(rec.seen(u).tolist())
        assert len(comp.bruteforce) == 10 and not seen & {x["movie_idx"] for x in comp.bruteforce}
        assert len(comp.scann) <= 10 and not seen & {x["movie_idx"] for x in comp.scann}

    users, movies = tutorial_run.vectors
    for u in (5, 300, int(counts.idxmax())):
        comp = rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True)
        scores = movies @ users[u]
        scores[rec.seen(u)] = -np.inf
        assert [x["movie_idx"] for x in comp.bruteforce] == np.argsort(-scores, kind="stable")[:10].tolist()
        assert rec.for_user(ml100k.user_ids[u], k=10, exclude_seen=True) is comp  # kept, not recomputed
        shape = index.query_shape(rec.bruteforce, 10, rec.seen(u))
        assert comp.timing()["bruteforce"].bursts == rec.latency.bursts(("bruteforce", *shape))  # one per shape
