"""Bad input: the parsers under random and damaged text (hypothesis), and every CLI mistake.

Parsers: whatever text arrives, the result is either the schema (right columns, right
dtypes, one row per data line, finite numbers, unique ids) or a ``UserError`` that names the
file and the line, never another exception. The CLI: each mistake a user can make prints
one line on stderr and exits 2, never a traceback.
"""
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys import cli, data
from recsys.data import formats
from recsys.errors import UserError
from tests import movielens_files

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that trouble delimited-text parsers: separators, quotes, line breaks of other
# systems, NUL, escapes, signs, exponents, spaces, and a few non-ASCII letters.
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


# ----------------------------------------------------------------------------- _read_table


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


# ----------------------------------------------------------------------------- whole parsers


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


# ----------------------------------------------------------------------------- not MovieLens


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


# ----------------------------------------------------------------------------- CLI


def _cli_error(capsys, argv) -> str:
    assert cli.main(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, expect", [
    (["train", "--embedding-dim", "abc"], "argument --embedding-dim: invalid int value: 'abc'"),
    (["train", "--embedding-dim", "100000"], "embedding_dim must be between 8 and 1024, got 100000"),
    (["train", "--learning-rate", "nan"], "learning_rate must be between"),
    (["train", "--learning-rate", "inf"], "learning_rate must be between"),
    (["train", "--epochs", "0"], "epochs must be between 1 and 100, got 0"),
    (["train", "--batch-size", "-5"], "batch_size must be between"),
    (["train", "--seed", "1" * 5000], "argument --seed: invalid int value"),
    (["train", "--deep-layers", "64,x"], "argument --deep-layers: invalid"),
    (["train", "--deep-layers", "0"], "deep_layers must be sizes between 1 and 1024"),
    (["train", "--optimizer", "sgd"], "argument --optimizer: invalid choice: 'sgd'"),
    (["train", "--num-hard-negatives", "5000", "--batch-size", "4096"], "num_hard_negatives must be smaller"),
    (["train", "--strategy", "ring"], "argument --strategy: invalid choice: 'ring'"),
    (["train", "--cpu-devices", "2"], "--cpu-devices applies to --strategy mirrored"),
    (["train", "--strategy", "mirrored", "--cpu-devices", "0"], "--cpu-devices must be between 1 and 64, got 0"),
    (["data", "--fraction", "1.5"], "split fraction must be between 0 and 1, got 1.5"),
    (["data", "--fraction", "x"], "argument --fraction: invalid float value: 'x'"),
    (["data", "--variant", "10m"], "argument --variant: invalid choice: '10m'"),
    (["recommend", "--run", "/etc", "--user", "1"], "'/etc' is not a run id"),
    (["recommend", "--run", "../..", "--user", "1"], "'../..' is not a run id"),
    (["recommend", "--run", "[a-z]*", "--user", "1"], "is not a run id"),
    (["recommend", "--run", "ffffffffffff", "--user", "1"], "no saved run 'ffffffffffff'"),
    (["recommend", "--run", "x", "--user", "1", "--movie", "Heat (1995)"], "give exactly one of --user"),
    (["recommend", "--run", "x", "--user", "1", "--k", "1000000"], "k must be between 1 and 100, got 1000000"),
    (["recommend", "--run", "x", "--user", "1", "--k", "0"], "k must be between 1 and 100, got 0"),
    (["recommend", "--run", "x", "--user", "1", "--k", "ten"], "argument --k: invalid int value: 'ten'"),
    (["bench", "scale", "--interactions", "1e6,lots"], "--interactions: 'lots' is not a number"),
    (["bench", "scale", "--interactions", "1e12"], "each size must be a whole number between 1,000 and"),
    (["bench", "scale", "--interactions", "-5"], "each size must be a whole number"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_cli_mistakes_print_one_line_and_exit_2(capsys, argv, expect):
    assert expect in _cli_error(capsys, argv)


@pytest.mark.parametrize("extra, expect", [
    (["--user", "99999"], "unknown user '99999' (ids run from 1 to 943)"),
    (["--user", ""], "unknown user ''"),
    (["--movie", "Star Wars"], "unknown movie title 'Star Wars'; did you mean 'Star Wars (1977)'"),
    (["--movie", "No Such Film (2031)"], "unknown movie title 'No Such Film (2031)'"),
    (["--user", "1", "--num-leaves", "5000"], "num_leaves must be between 1 and the catalog size 1664, got 5000"),
    (["--user", "1", "--num-leaves", "0"], "num_leaves must be between 1 and the catalog size 1664, got 0"),
    (["--user", "1", "--num-leaves", "10", "--num-leaves-to-search", "20"],
     "num_leaves_to_search must be between 1 and num_leaves (10), got 20"),
    (["--user", "1", "--num-leaves-to-search", "-1"], "num_leaves_to_search must be between 1 and num_leaves"),
    (["--user", "1", "--k", "50", "--num-reordering-candidates", "20"],
     "num_reordering_candidates must be between k (50) and the catalog size 1664, got 20"),
])
def test_cli_recommend_mistakes(capsys, tiny_run, extra, expect):
    assert expect in _cli_error(capsys, ["recommend", "--run", tiny_run.run_id, *extra])


def test_cli_recommend_still_works_after_mistakes(capsys, tiny_run):
    assert cli.main(["recommend", "--run", tiny_run.run_id[:6], "--user", "1", "--k", "3", "--json",
                     "--num-leaves", "20", "--num-leaves-to-search", "5"]) == 0
    out = capsys.readouterr().out
    assert '"k": 3' in out and out.count('"rank"') == 6
    # fewer re-scored candidates than the default k of 10 is fine when the k asked for fits
    assert cli.main(["recommend", "--run", tiny_run.run_id, "--user", "1", "--k", "5", "--json",
                     "--num-reordering-candidates", "8"]) == 0
    assert capsys.readouterr().out.count('"rank"') == 10


def test_data_frames_stay_valid(ml100k):
    """The real ML-100k passes the same schema checks as the fuzzed files."""
    r = ml100k.ratings
    _check_schema((r[["user_id", "movie_id", "user_rating", "timestamp"]], ml100k.movies, ml100k.users))
    assert isinstance(r, pd.DataFrame)
