"""Bad input: the parsers under random and damaged text (hypothesis), and every CLI mistake.

Parsers: whatever text arrives, the result is either the schema (right columns, right
dtypes, one row per data line, finite numbers, unique ids) or a ``UserError`` that names the
file and the line, never another exception. The CLI: each mistake a user can make prints
one line on stderr and exits 2, never a traceback."""
import re
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recsys import data
from recsys.data import formats
from recsys.errors import UserError
from tests import movielens_files


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


FILE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


NASTY = st.sampled_from(list("\t|:\r\n\"'\\\x00\x1a ,;#.-+eE0123456789") + ["::", "\r\n", "é", "ß", "\u2028", "nan",
                                                                           "inf", "-inf", "1e999", "9" * 25])


TEXT = st.lists(st.one_of(NASTY, st.text(max_size=6)), max_size=40).map("".join)


def _check_error(e: UserError, name: str, n_lines: int) -> None:
    msg = str(e)
    assert msg.startswith(name), msg
    assert "\n" not in msg, msg
    m = re.search(r"line (\d+)", msg)
    if m is None:
        assert "empty" in msg, msg  # the only error without a line: nothing to read at all
    else:
        assert 1 <= int(m.group(1)) <= max(n_lines, 1), msg


def _n_lines(text: str) -> int:
    return len(text.replace("\r\n", "\n").split("\n"))


@SETTINGS
@given(text=TEXT, sep=st.sampled_from(["\t", "|", "::"]), ncols=st.integers(2, 5), header=st.integers(0, 1),
       numeric=st.sampled_from([{}, {"c0": int}, {"c1": float}, {"c0": np.int64, "c1": float}]))
def test_read_table_parses_or_names_file_and_line(text, sep, ncols, header, numeric):
    columns = [f"c{i}" for i in range(ncols)]
    try:
        frame = formats.read_table(text, "some/file", sep, columns, header_lines=header, numeric=numeric)
    except UserError as e:
        _check_error(e, "some/file", _n_lines(text))
        return
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    assert list(frame.columns) == columns
    assert len(frame) == len(lines) - header  # one row per data line, none lost or invented
    for col in columns:
        if col in numeric:
            assert np.isfinite(frame[col].to_numpy(dtype=float)).all()
        else:
            assert all(isinstance(v, str) for v in frame[col])


@SETTINGS
@given(rows=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8)), min_size=1,
                     max_size=8))
def test_read_table_round_trips_clean_fields(rows):
    """Fields without separators or line breaks come back exactly as written."""
    rows = [tuple(re.sub(r"[\t\r\n]", "", f) for f in r) for r in rows]
    text = "\n".join("\t".join(r) for r in rows) + "\n"
    frame = formats.read_table(text, "x", "\t", ["a", "b", "c"])
    assert [tuple(r) for r in frame.itertuples(index=False)] == rows


def _mutate(draw, text: str) -> str:
    """Damage a valid file the ways downloads and editors do."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace_field", "crlf", "truncate", "duplicate",
                                     "blank", "swap"]))
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if kind == "insert":
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.one_of(NASTY, st.text(max_size=4))) + line[pos:]
        elif kind == "delete" and line:
            pos = draw(st.integers(0, len(line) - 1))
            lines[i] = line[:pos] + line[pos + draw(st.integers(1, 4)):]
        elif kind == "replace_field":
            parts = re.split(r"(\t|\||::)", line)
            j = draw(st.integers(0, len(parts) - 1))
            parts[j] = draw(st.one_of(NASTY, st.text(max_size=6)))
            lines[i] = "".join(parts)
        elif kind == "crlf":
            lines = [ln + "\r" for ln in lines[:-1]] + lines[-1:]
        elif kind == "truncate":
            lines = lines[:i] + [line[:draw(st.integers(0, len(line)))]]
        elif kind == "duplicate":
            lines.insert(i, line)
        elif kind == "blank":
            lines.insert(i, "")
        elif kind == "swap" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _check_schema(parts) -> None:
    ratings, movies, users = parts
    assert list(ratings.columns) == ["user_id", "movie_id", "user_rating", "timestamp"]
    assert ratings["user_rating"].dtype == np.float32 and np.isfinite(ratings["user_rating"]).all()
    assert ratings["timestamp"].dtype == np.int64
    assert list(movies.columns) == ["movie_id", "movie_title", "movie_genres"]
    assert list(users.columns) == ["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"]
    assert np.issubdtype(users["user_age"].dtype, np.integer)
    assert users["user_age"].between(0, 200).all()
    assert movies["movie_id"].is_unique and users["user_id"].is_unique
    for frame, cols in ((ratings, ["user_id", "movie_id"]), (movies, ["movie_id", "movie_title", "movie_genres"]),
                        (users, ["user_id", "user_gender", "user_occupation", "user_zip_code"])):
        for c in cols:
            assert all(isinstance(v, str) for v in frame[c]), c


PARSERS = {
    "100k": (formats.parse_100k, [movielens_files.ML100K[n] for n in ("u.data", "u.item", "u.user")],
             ["ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user"]),
    "1m": (formats.parse_1m, [movielens_files.ML1M[n] for n in ("ratings.dat", "movies.dat", "users.dat")],
           ["ml-1m/ratings.dat", "ml-1m/movies.dat", "ml-1m/users.dat"]),
    "packaged": (formats.parse_packaged, [movielens_files.PACKAGED[n] for n in ("inter", "item", "user")],
                 [f"{formats.PACKAGED_WHEEL}:ml-100k.{n}" for n in ("inter", "item", "user")]),
}


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_hand_made_fixtures_parse(kind):
    parse, texts, _ = PARSERS[kind]
    _check_schema(parse(*texts))


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FILE_SETTINGS
@given(draw=st.data(), which=st.integers(0, 2))
def test_damaged_files_parse_or_name_file_and_line(kind, draw, which):
    parse, texts, names = PARSERS[kind]
    texts = list(texts)
    texts[which] = _mutate(draw.draw, texts[which])
    try:
        parts = parse(*texts)
    except UserError as e:
        msg = str(e)
        assert any(msg.startswith(n) for n in names), msg
        _check_error(e, next(n for n in names if msg.startswith(n)), max(_n_lines(t) for t in texts))
        return
    _check_schema(parts)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FILE_SETTINGS
@given(garbage=TEXT, which=st.integers(0, 2))
def test_random_text_parses_or_names_file_and_line(kind, garbage, which):
    parse, texts, names = PARSERS[kind]
    texts = list(texts)
    texts[which] = garbage
    try:
        parts = parse(*texts)
    except UserError as e:
        _check_error(e, names[which], _n_lines(garbage))
        return
    _check_schema(parts)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw=st.data(), which=st.sampled_from(["u.data", "u.item", "u.user"]))
def test_grouplens_folder_loads_or_explains(tmp_path_factory, draw, which):
    """Through the whole loader (join of the three files, vocabularies): a Dataset or a UserError."""
    files = dict(movielens_files.ML100K)
    files[which] = _mutate(draw.draw, files[which])
    folder = movielens_files.write(tmp_path_factory.mktemp("gl"), files, encoding="utf-8")  # read back as latin-1
    try:
        ds = data.load_grouplens(folder)
    except UserError as e:
        assert "\n" not in str(e)
        return
    assert len(ds.ratings) == ds.ratings["title_idx"].notna().sum()
    assert set(ds.ratings.columns) >= set(data.RATING_COLUMNS)


def test_data_frames_stay_valid(ml100k):
    """The real ML-100k passes the same schema checks as the fuzzed files."""
    r = ml100k.ratings
    _check_schema((r[["user_id", "movie_id", "user_rating", "timestamp"]], ml100k.movies, ml100k.users))
    assert isinstance(r, pd.DataFrame)
