"""MovieLens in one schema, from whichever source is at hand, and the train/test split.

Every source is turned into the schema the TFRS tutorial sees from
tensorflow-datasets (``movielens/100k-ratings``): one row per rating with

    user_id (str), movie_id (str), movie_title ("Title (Year)"), user_rating (float),
    timestamp (int), user_age (int), user_gender ("M"/"F"), user_occupation (str),
    user_zip_code (str), movie_genres ("Action|Adventure", "|"-joined)

plus a movie catalog (movie_id, movie_title, movie_genres) and a user table.

Variants: ``100k`` and ``1m`` describe their users; ``20m`` and ``25m`` (GroupLens' current CSV
format, ratings in half stars) do not, so there user_age is 0 and user_gender, user_occupation
and user_zip_code are "unknown" (``UNKNOWN``): user features are then one constant value. Their
string columns are pandas categoricals, so 25M ratings fit in about 1 GB.

Sources, tried in this order by ``source="auto"``:

1. the parsed cache under ``$RECSYS_HOME/data`` (a second start does not re-parse);
2. tensorflow-datasets, when the dataset is already prepared on disk;
3. GroupLens files (a folder or the original zip, e.g. ``ml-25m.zip``) from ``path`` or
   ``$RECSYS_GROUPLENS_PATH``;
4. the packaged copy: the ``recbole==1.2.1`` wheel on PyPI ships ML-100k; we download the
   wheel (never install it), check its sha256 and read three files out of the zip;
5. tensorflow-datasets download (needs the open internet, fails fast without it;
   ``movielens/20m-ratings`` and ``25m-ratings`` for the large variants).

The movie tower of the tutorial is keyed by *title*: the 1,682 ML-100k movies have 1,664
distinct titles (a few films are listed twice), so the candidate catalog is the distinct titles.
"""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UserError
from .home import data_dir

SOURCES = ("auto", "tfds", "grouplens", "packaged")
VARIANTS = ("100k", "1m", "20m", "25m")
CSV_VARIANTS = ("20m", "25m")  # GroupLens' current CSV format: ratings.csv and movies.csv, no users file
SPLITS = ("random", "temporal")

RATING_COLUMNS = [
    "user_id", "movie_id", "movie_title", "user_rating", "timestamp",
    "user_age", "user_gender", "user_occupation", "user_zip_code", "movie_genres",
]

# ML-100k's u.item genre flags, in file order (also TFDS's genre label order without IMAX).
GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]

# ML-1m's users.dat stores occupations as codes; TFDS writes these labels.
OCCUPATIONS_1M = [
    "other/not specified", "academic/educator", "artist", "clerical/admin",
    "college/grad student", "customer service", "doctor/health care", "executive/managerial",
    "farmer", "homemaker", "K-12 student", "lawyer", "programmer", "retired",
    "sales/marketing", "scientist", "self-employed", "technician/engineer",
    "tradesman/craftsman", "unemployed", "writer",
]

# ml-20m / ml-25m files (headers as GroupLens writes them) and what stands in for the missing users file.
RATINGS_CSV = ["userId", "movieId", "rating", "timestamp"]
MOVIES_CSV = ["movieId", "title", "genres"]
NO_GENRES = "(no genres listed)"  # becomes "" (no genres), as in the other variants
UNKNOWN = "unknown"  # user_gender, user_occupation and user_zip_code of a set without demographics (user_age: 0)

PACKAGED_WHEEL = "recbole-1.2.1-py3-none-any.whl"
PACKAGED_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
PACKAGED_PREFIX = "recbole/dataset_example/ml-100k/ml-100k."
CACHE_VERSION = 1


# ----------------------------------------------------------------------------- dataset


@dataclass
class Dataset:
    """Ratings joined with user and movie features, plus the catalog and the user table.

    ``titles`` (sorted distinct titles) and ``user_ids`` (sorted distinct ids) are the
    vocabularies of the two towers; ``ratings.title_idx`` / ``ratings.user_idx`` index them.
    """

    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame
    source: str
    variant: str
    titles: np.ndarray = field(init=False)
    user_ids: np.ndarray = field(init=False)

    def __post_init__(self):
        self.titles = np.array(sorted(self.movies["movie_title"].unique()), dtype=object)
        self.user_ids = np.array(sorted(self.users["user_id"].unique(), key=_id_key), dtype=object)
        self.ratings["title_idx"] = _index_of(self.titles, self.ratings["movie_title"])
        self.ratings["user_idx"] = _index_of(self.user_ids, self.ratings["user_id"])

    @property
    def title_genres(self) -> pd.Series:
        """Genres of each distinct title (the first movie that carries the title)."""
        return self.movies.drop_duplicates("movie_title").set_index("movie_title")["movie_genres"]

    def summary(self) -> dict:
        """Counts shown by ``python -m recsys data`` and the Home page."""
        r = self.ratings
        return {
            "source": self.source,
            "variant": self.variant,
            "ratings": int(len(r)),
            "users": int(r["user_id"].nunique()),
            "movies": int(len(self.movies)),
            "titles": int(self.movies["movie_title"].nunique()),
            "timestamp_min": int(r["timestamp"].min()),
            "timestamp_max": int(r["timestamp"].max()),
        }


def _id_key(x: str):
    return (0, int(x), "") if str(x).isdigit() else (1, 0, str(x))


def _index_of(vocab: np.ndarray, values) -> np.ndarray:
    """Position of each value in a vocabulary (vectorised dictionary lookup).

    A categorical column (large synthetic sets) is looked up once per category and its
    integer codes are mapped, instead of hashing millions of strings.
    """
    lookup = pd.Index(vocab)
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        per_category = lookup.get_indexer(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        idx = np.where(codes >= 0, per_category[codes], -1)
        values = values.to_numpy() if (idx < 0).any() else values
    else:
        values = np.asarray(values)
        idx = lookup.get_indexer(values)
    if (idx < 0).any():
        raise UserError(f"{int((idx < 0).sum())} ratings refer to unknown ids, e.g. {values[idx < 0][0]!r}")
    return idx.astype(np.int32)


def _assemble(ratings: pd.DataFrame, movies: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """Join user and movie features onto each rating, in the ratings' file order."""
    r = ratings.merge(movies, on="movie_id", how="left", validate="many_to_one", sort=False)
    r = r.merge(users, on="user_id", how="left", validate="many_to_one", sort=False)
    missing = r["movie_title"].isna() | r["user_age"].isna()
    if missing.any():
        row = r[missing].iloc[0]
        raise UserError(
            f"rating of user {row.user_id} for movie {row.movie_id} has no matching "
            "movie or user record: the files do not belong together"
        )
    r["user_age"] = r["user_age"].astype(np.int32)
    return r[RATING_COLUMNS].reset_index(drop=True)


# ----------------------------------------------------------------------------- parsing


def _read_table(text: str, name: str, sep: str, columns: list[str], header_lines: int = 0,
                numeric: dict[str, type] | None = None, first_line: int = 1) -> pd.DataFrame:
    """Parse delimited text into string columns, checking every line's shape.

    Errors name the file, the 1-based line number and what was expected, so a user
    with a damaged download knows exactly where to look. Windows line ends (CRLF) are
    accepted; any other stray character stays inside its field, so one text line is
    always one row. Numeric columns must hold finite numbers (whole ones for int columns).
    ``first_line``: the number of the text's first line in its file (a block of a larger file).
    """
    shown_sep = sep
    text = text.replace("\r\n", "\n")
    if sep != "\t" and len(sep) > 1:
        if "\t" in text:  # a tab would read as a separator once "::" becomes one
            i = text[:text.index("\t")].count("\n")
            if i >= header_lines:
                raise UserError(f"{name}, line {i + first_line}: unexpected tab character (fields are separated by {sep!r})")
        text = text.replace(sep, "\t")
        sep = "\t"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = lines[header_lines:]
    if not body:
        raise UserError(f"{name}: the file is empty (expected {len(columns)} {shown_sep!r}-separated columns)")
    counts = np.fromiter((ln.count(sep) for ln in body), dtype=np.int64, count=len(body))
    bad = np.flatnonzero(counts != len(columns) - 1)
    if bad.size:
        i = int(bad[0])
        raise UserError(
            f"{name}, line {i + first_line + header_lines}: expected {len(columns)} columns "
            f"({', '.join(columns)}) separated by {shown_sep!r}, found {counts[i] + 1}: {body[i][:80]!r}"
        )
    if len(columns) == 1:  # nothing to split: every line is the value
        frame = pd.DataFrame({columns[0]: np.array(body, dtype=object)})
    else:
        frame = pd.read_csv(io.StringIO("\n".join(body)), sep=sep, header=None, names=columns, dtype=str,
                            keep_default_na=False, na_filter=False, quoting=3, engine="c", lineterminator="\n",
                            skip_blank_lines=False)
    if len(frame) != len(body):  # the C reader saw other line breaks than ours: never guess
        raise UserError(f"{name}: could not read the file line by line (found {len(frame)} rows in "
                        f"{len(body)} lines); is it a MovieLens text file?")
    if not numeric:
        return frame
    cols = list(numeric)  # all numeric columns converted in one go (per-column pandas calls are slow)
    raw = frame[cols].to_numpy(dtype=object)
    values = pd.to_numeric(pd.Series(raw.ravel(), dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    values = values.reshape(raw.shape)
    whole = np.array([np.issubdtype(np.dtype(numeric[c]), np.integer) for c in cols])
    with np.errstate(invalid="ignore"):
        wrong = ~np.isfinite(values) | (whole & ((np.abs(values) > 2.0 ** 53) | (values != np.round(values))))
    bad = np.argwhere(wrong)  # row-major: the first bad line, then its first bad column
    if bad.size:
        i, j = (int(x) for x in bad[0])
        v = values[i, j]
        what = "a number" if np.isnan(v) else "a finite number" if np.isinf(v) else "a whole number"
        raise UserError(f"{name}, line {i + first_line + header_lines}: {cols[j]} must be {what}, found {raw[i, j]!r}")
    out = {c: frame[c] for c in columns}
    for j, c in enumerate(cols):
        out[c] = values[:, j].astype(numeric[c])
    return pd.DataFrame(out)


def _check_unique(frame: pd.DataFrame, col: str, name: str, header_lines: int = 0) -> None:
    """Ids of a catalog must be unique, or ratings could not be joined to one record."""
    dup = frame[col].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((frame[col] == frame[col].iloc[i]).to_numpy())[0])
        raise UserError(f"{name}, line {i + 1 + header_lines}: {col} {frame[col].iloc[i]!r} appears again "
                        f"(first on line {first + 1 + header_lines})")


def _check_range(frame: pd.DataFrame, col: str, lo, hi, name: str, header_lines: int = 0) -> None:
    values = frame[col].to_numpy()
    bad = np.flatnonzero((values < lo) | (values > hi))
    if bad.size:
        i = int(bad[0])
        raise UserError(f"{name}, line {i + 1 + header_lines}: {col} must be between {lo} and {hi}, found {values[i]}")


def _finish_ratings(frame: pd.DataFrame, name: str, header_lines: int = 0) -> pd.DataFrame:
    _check_range(frame, "user_rating", 0, 10, name, header_lines)  # MovieLens: 0.5 to 5 stars
    frame["user_rating"] = frame["user_rating"].astype(np.float32)
    frame["timestamp"] = frame["timestamp"].astype(np.int64)
    return frame[["user_id", "movie_id", "user_rating", "timestamp"]]


def parse_100k(u_data: str, u_item: str, u_user: str, origin: str = "ml-100k") -> tuple:
    """Parse the three ML-100k files (already decoded text) into ratings, movies, users."""
    ratings = _read_table(u_data, f"{origin}/u.data", "\t", ["user_id", "movie_id", "user_rating", "timestamp"],
                          numeric={"user_rating": float, "timestamp": np.int64})
    item_cols = ["movie_id", "movie_title", "release", "video", "url"] + [f"g{i}" for i in range(19)]
    items = _read_table(u_item, f"{origin}/u.item", "|", item_cols, numeric={f"g{i}": int for i in range(19)})
    _check_unique(items, "movie_id", f"{origin}/u.item")
    flags = items[[f"g{i}" for i in range(19)]].to_numpy()
    bad = np.argwhere((flags != 0) & (flags != 1))
    if bad.size:
        i, j = (int(x) for x in bad[0])
        raise UserError(f"{origin}/u.item, line {i + 1}: the {GENRES_100K[j]} flag must be 0 or 1, found {flags[i, j]}")
    flags = flags.astype(bool)
    names = np.array(GENRES_100K, dtype=object)
    items["movie_genres"] = ["|".join(names[row]) for row in flags]
    movies = items[["movie_id", "movie_title", "movie_genres"]].copy()
    users = _read_table(u_user, f"{origin}/u.user", "|", ["user_id", "user_age", "user_gender",
                                                          "user_occupation", "user_zip_code"],
                        numeric={"user_age": int})
    _check_unique(users, "user_id", f"{origin}/u.user")
    _check_range(users, "user_age", 0, 200, f"{origin}/u.user")
    return _finish_ratings(ratings, f"{origin}/u.data"), movies, users


def parse_1m(ratings_dat: str, movies_dat: str, users_dat: str, origin: str = "ml-1m") -> tuple:
    """Parse the three ML-1m ``::``-separated files into ratings, movies, users."""
    ratings = _read_table(ratings_dat, f"{origin}/ratings.dat", "::", ["user_id", "movie_id", "user_rating", "timestamp"],
                          numeric={"user_rating": float, "timestamp": np.int64})
    movies = _read_table(movies_dat, f"{origin}/movies.dat", "::", ["movie_id", "movie_title", "movie_genres"])
    _check_unique(movies, "movie_id", f"{origin}/movies.dat")
    users = _read_table(users_dat, f"{origin}/users.dat", "::",
                        ["user_id", "user_gender", "user_age", "user_occupation", "user_zip_code"],
                        numeric={"user_age": int, "user_occupation": int})
    _check_unique(users, "user_id", f"{origin}/users.dat")
    _check_range(users, "user_age", 0, 200, f"{origin}/users.dat")
    occ = users["user_occupation"].to_numpy()
    if ((occ < 0) | (occ >= len(OCCUPATIONS_1M))).any():
        i = int(np.flatnonzero((occ < 0) | (occ >= len(OCCUPATIONS_1M)))[0])
        raise UserError(f"{origin}/users.dat, line {i + 1}: occupation must be a code 0-20, found {occ[i]}")
    users["user_occupation"] = np.array(OCCUPATIONS_1M, dtype=object)[occ]
    users = users[["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"]]
    return _finish_ratings(ratings, f"{origin}/ratings.dat"), movies, users


def parse_packaged(inter: str, item: str, user: str, origin: str = PACKAGED_WHEEL) -> tuple:
    """Parse RecBole's copy of ML-100k (typed headers such as ``user_id:token``).

    RecBole split each title into ``movie_title`` and ``release_year``; we glue them back
    as u.item had them ("Kolya (1996)"). Two quirks of that split are undone: item 267,
    whose title is "unknown" in u.item, is spelled "unkonwn" with year "unkonwn"; and
    "Land Before Time III: ... (1995) (V)" keeps "(1995)" in the title with year "V".
    """
    ratings = _read_table(inter, f"{origin}:ml-100k.inter", "\t", ["user_id", "movie_id", "user_rating", "timestamp"],
                          header_lines=1, numeric={"user_rating": float, "timestamp": np.int64})
    items = _read_table(item, f"{origin}:ml-100k.item", "\t", ["movie_id", "title", "year", "genres"], header_lines=1)
    _check_unique(items, "movie_id", f"{origin}:ml-100k.item", 1)
    unknown = items["title"].isin(["unkonwn", "unknown"])
    items["movie_title"] = np.where(unknown, "unknown", items["title"] + " (" + items["year"] + ")")
    items["movie_genres"] = items["genres"].str.replace(" ", "|", regex=False)
    users = _read_table(user, f"{origin}:ml-100k.user", "\t",
                        ["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"],
                        header_lines=1, numeric={"user_age": int})
    _check_unique(users, "user_id", f"{origin}:ml-100k.user", 1)
    _check_range(users, "user_age", 0, 200, f"{origin}:ml-100k.user", 1)
    return (_finish_ratings(ratings, f"{origin}:ml-100k.inter", 1), items[["movie_id", "movie_title", "movie_genres"]],
            users)


# GroupLens' current format (ml-20m, ml-25m): UTF-8 CSV files with a header line, titles in
# double quotes when they hold a comma, and no users file.


def _binary_opener(src):
    """A function that opens ``src`` as a fresh binary stream: ``src`` is text, bytes, or such a function."""
    if callable(src):
        return src
    raw = src.encode("utf-8") if isinstance(src, str) else bytes(src)
    return lambda: io.BytesIO(raw)


def _csv_header(f, name: str, columns: list[str]) -> None:
    """Read a CSV file's header line from ``f`` and check it (a UTF-8 byte order mark is allowed)."""
    expected = ",".join(columns)
    first = f.readline()
    if not first:
        raise UserError(f"{name}: the file is empty (expected the header {expected!r})")
    try:
        got = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise UserError(f"{name}, line 1: not UTF-8 text (expected the header {expected!r})") from None
    if got != expected:
        raise UserError(f"{name}, line 1: expected the header {expected!r}, found {got[:80]!r}")


def _not_utf8(name: str, raw: bytes, pos: int, first_line: int) -> UserError:
    line = first_line + raw.count(b"\n", 0, pos)
    return UserError(f"{name}, line {line}: not UTF-8 text")


class _CountingReader(io.RawIOBase):
    """A binary stream passed through unchanged, counting its line breaks and commas on the way.

    The pandas C parser is lenient about a line's shape (a short line is padded with NaN, a
    long first line is cut); these counts let one pass over a big file prove every line had
    exactly the expected number of fields.
    """

    def __init__(self, f):
        self.f, self.newlines, self.commas, self.last = f, 0, 0, b"\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self.f.read(len(buf))
        n = len(data)
        buf[:n] = data
        if n:
            self.newlines += data.count(b"\n")
            self.commas += data.count(b",")
            self.last = data[-1:]
        return n

    @property
    def lines(self) -> int:
        return self.newlines + (self.last != b"\n")


def _typed_csv(stream, columns: list[str], numeric: dict) -> tuple[pd.DataFrame | None, str]:
    """One pass of the pandas C parser over a binary stream of unquoted CSV lines (no header).

    Returns float64 columns, or ``None`` and a reason unless every line has exactly
    ``len(columns)`` fields and every value is a finite number (a whole one for int columns).
    """
    counter = _CountingReader(stream)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)  # a long first line: caught by the counts
            frame = pd.read_csv(io.BufferedReader(counter, 1 << 20), header=None, names=columns, dtype=np.float64,
                                index_col=False, quoting=csv.QUOTE_NONE, engine="c", encoding="utf-8",
                                lineterminator="\n", skip_blank_lines=False)
    except (ValueError, OverflowError) as e:  # ParserError and UnicodeDecodeError are ValueErrors
        return None, (str(e).strip().splitlines() or [type(e).__name__])[-1]
    if len(frame) != counter.lines or counter.commas != (len(columns) - 1) * len(frame):
        return None, "a line with another number of fields"
    for col, kind in numeric.items():
        v = frame[col].to_numpy()
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(v)
            if np.issubdtype(np.dtype(kind), np.integer):
                bad |= (np.abs(v) > 2.0 ** 53) | (v != np.round(v))
        if bad.any():
            return None, f"{col} is not a valid number"
    return frame, ""


def _diagnose_csv(open_, name: str, columns: list[str], numeric: dict, block_lines: int = 500_000) -> None:
    """Raise the ``UserError`` naming the first bad line of a headed CSV file without quoting.

    The slow path, taken only after the one-pass read found something wrong: the file is read
    again a block of lines at a time (never whole); a block that fails the fast check is
    checked line by line by ``_read_table``.
    """
    with open_() as f:
        f.readline()
        line = 2
        while block := list(itertools.islice(f, block_lines)):
            raw = b"".join(block)
            if _typed_csv(io.BytesIO(raw), columns, numeric)[0] is None:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise _not_utf8(name, raw, e.start, line) from None
                _read_table(text, name, ",", columns, numeric=numeric, first_line=line)
            line += len(block)


def _read_ratings_csv(open_, name: str) -> pd.DataFrame:
    """ratings.csv as float64 columns userId, movieId, rating, timestamp, one row per line.

    One pass of the pandas C parser over the stream (25M lines: ~0.8 GB of columns, the text
    is never held); ids and timestamps must be whole numbers, every value finite. A damaged
    file raises a ``UserError`` naming its first bad line.
    """
    numeric = {"userId": np.int64, "movieId": np.int64, "rating": float, "timestamp": np.int64}
    with open_() as f:
        _csv_header(f, name, RATINGS_CSV)
        frame, reason = _typed_csv(f, RATINGS_CSV, numeric)
    if frame is None:
        _diagnose_csv(open_, name, RATINGS_CSV, numeric)
        raise UserError(f"{name}: could not be read as lines of {','.join(RATINGS_CSV)} ({reason[:200]})")
    if not len(frame):
        raise UserError(f"{name}: the file is empty (expected lines of {','.join(RATINGS_CSV)} after the header)")
    return frame


def _diagnose_movies(text: str, name: str) -> None:
    """Raise the ``UserError`` naming the first bad line of movies.csv (the slow path, a small file)."""
    expected = f"expected {len(MOVIES_CSV)} columns ({', '.join(MOVIES_CSV)}) separated by ','"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        try:
            fields = next(csv.reader([line], strict=True), [])
        except csv.Error as e:
            raise UserError(f"{name}, line {i + 2}: {e} ({expected}; a title holding a comma or a double quote "
                            f"is written in double quotes, its quotes doubled): {line[:80]!r}") from None
        if len(fields) != len(MOVIES_CSV):
            raise UserError(f"{name}, line {i + 2}: {expected}, found {len(fields)} (a title holding a comma "
                            f"is written in double quotes): {line[:80]!r}")
        if not fields[2]:
            raise UserError(f"{name}, line {i + 2}: genres is empty (a movie without genres has {NO_GENRES!r})")


def _read_movies_csv(open_, name: str) -> pd.DataFrame:
    """movies.csv as movie_id (str), movie_title, movie_genres ("(no genres listed)" becomes "")."""
    with open_() as f:
        _csv_header(f, name, MOVIES_CSV)
        raw = f.read()
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as e:
        raise _not_utf8(name, raw, e.start, 2) from None
    n_lines = text.count("\n") + (not text.endswith("\n")) if text else 0
    if not n_lines:
        raise UserError(f"{name}: the file is empty (expected lines of {','.join(MOVIES_CSV)} after the header)")
    frame, reason = None, ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a long first line is an error, not cut
            frame = pd.read_csv(io.StringIO(text), header=None, names=MOVIES_CSV, dtype=str, index_col=False,
                                keep_default_na=False, na_filter=False, engine="c", lineterminator="\n",
                                skip_blank_lines=False)
    except (ValueError, OverflowError, pd.errors.ParserWarning) as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    ok = (frame is not None and len(frame) == n_lines and (frame["genres"] != "").all()
          and not frame["title"].str.contains("\n", regex=False).any())
    if not ok:
        _diagnose_movies(text, name)
        raise UserError(f"{name}: could not be read as lines of {','.join(MOVIES_CSV)} ({reason[:200]})")
    ids = pd.to_numeric(frame["movieId"], errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~np.isfinite(ids) | (np.abs(ids) > 2.0 ** 53) | (ids != np.round(ids)))
    if bad.size:
        i = int(bad[0])
        raise UserError(f"{name}, line {i + 2}: movieId must be a whole number, found {frame['movieId'].iloc[i]!r}")
    frame["movieId"] = ids.astype(np.int64).astype(str).astype(object)  # "007" and "7.0" are movie "7"
    _check_unique(frame, "movieId", name, 1)
    genres = frame["genres"].to_numpy(dtype=object)
    return pd.DataFrame({
        "movie_id": frame["movieId"].to_numpy(),
        "movie_title": frame["title"].to_numpy(dtype=object),
        "movie_genres": np.where(genres == NO_GENRES, "", genres).astype(object),
    })


def parse_25m(ratings_csv, movies_csv, origin: str = "ml-25m") -> tuple:
    """Parse GroupLens' current CSV format (ml-20m and ml-25m alike) into ratings, movies, users.

    Each argument is the file's text or bytes, or a function that opens it as a binary stream
    (a 25M-line ratings.csv is streamed through pandas, never held as text). Ratings must be
    0.5 to 5 stars in steps of 0.5. There is no users file: the users are the ids that rate,
    with ``user_age`` 0 and ``UNKNOWN`` gender, occupation and zip code. For memory,
    ``ratings.user_id`` / ``movie_id`` are categoricals whose categories are ``users.user_id``
    / ``movies.movie_id`` in order (``_assemble_coded`` joins on their codes).
    """
    ratings_name, movies_name = f"{origin}/ratings.csv", f"{origin}/movies.csv"
    movies = _read_movies_csv(_binary_opener(movies_csv), movies_name)
    r = _read_ratings_csv(_binary_opener(ratings_csv), ratings_name)
    _check_range(r, "rating", 0.5, 5.0, ratings_name, 1)
    stars = r["rating"].to_numpy()
    bad = np.flatnonzero(stars * 2 != np.round(stars * 2))
    if bad.size:
        raise UserError(f"{ratings_name}, line {int(bad[0]) + 2}: rating must be a multiple of 0.5, found {stars[bad[0]]}")
    movie_ids = r["movieId"].to_numpy().astype(np.int64)
    movie_idx = pd.Index(movies["movie_id"].to_numpy().astype(np.int64)).get_indexer(movie_ids)
    bad = np.flatnonzero(movie_idx < 0)
    if bad.size:
        raise UserError(f"{ratings_name}, line {int(bad[0]) + 2}: movieId {movie_ids[bad[0]]} is not in {movies_name}")
    del movie_ids
    user_codes, user_ids = pd.factorize(r["userId"].to_numpy().astype(np.int64), sort=True)
    user_ids = pd.Index(user_ids.astype(str).astype(object), dtype=object)
    ratings = pd.DataFrame({
        "user_id": pd.Categorical.from_codes(user_codes, categories=user_ids),
        "movie_id": pd.Categorical.from_codes(movie_idx, categories=pd.Index(movies["movie_id"], dtype=object)),
        "user_rating": stars.astype(np.float32),
        "timestamp": r["timestamp"].to_numpy().astype(np.int64),
    })
    return ratings, movies, _unknown_users(user_ids)


def _unknown_users(user_ids) -> pd.DataFrame:
    """The user table of a set without demographics: age 0, gender, occupation and zip code ``UNKNOWN``."""
    n = len(user_ids)
    unknown = np.full(n, UNKNOWN, dtype=object)
    return pd.DataFrame({"user_id": np.asarray(user_ids, dtype=object), "user_age": np.zeros(n, dtype=np.int64),
                         "user_gender": unknown, "user_occupation": unknown.copy(), "user_zip_code": unknown.copy()})


def _assemble_coded(ratings: pd.DataFrame, movies: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """``_assemble`` for the large sets: a join by category codes, every string column a categorical.

    ``ratings.user_id`` / ``movie_id`` must be categoricals whose categories are ``users.user_id``
    / ``movies.movie_id`` in order (as ``parse_25m`` makes them): nothing is merged or hashed per
    rating, so 25M ratings take about 40 bytes each.
    """
    if not (ratings["movie_id"].cat.categories.equals(pd.Index(movies["movie_id"]))
            and ratings["user_id"].cat.categories.equals(pd.Index(users["user_id"]))):
        raise ValueError("ratings' id categories must be the movie and user tables' ids, in order")
    m = ratings["movie_id"].cat.codes.to_numpy()
    u = ratings["user_id"].cat.codes.to_numpy()

    def per_rating(column: pd.Series, codes: np.ndarray) -> pd.Categorical:
        values, uniques = pd.factorize(column.to_numpy(dtype=object))
        return pd.Categorical.from_codes(values[codes], categories=pd.Index(uniques, dtype=object))

    out = pd.DataFrame({
        "user_id": ratings["user_id"].array, "movie_id": ratings["movie_id"].array,
        "movie_title": per_rating(movies["movie_title"], m),
        "user_rating": ratings["user_rating"].to_numpy(np.float32), "timestamp": ratings["timestamp"].to_numpy(np.int64),
        "user_age": users["user_age"].to_numpy()[u].astype(np.int32),
        "user_gender": per_rating(users["user_gender"], u), "user_occupation": per_rating(users["user_occupation"], u),
        "user_zip_code": per_rating(users["user_zip_code"], u), "movie_genres": per_rating(movies["movie_genres"], m),
    })
    return out[RATING_COLUMNS]


# ----------------------------------------------------------------------------- sources


def _member(files: dict, name: str):
    if name not in files:
        raise UserError(f"{name} is missing (found: {', '.join(sorted(files)) or 'nothing'})")
    return files[name]


def _read_member(files: dict, name: str, encoding: str) -> str:
    with _member(files, name)() as f:
        return f.read().decode(encoding)


class _Files(dict):
    """Name → opener (a fresh binary stream) of each file; ``paths``: where they sit inside the folder or zip."""

    paths: list


def _grouplens_files(path: Path) -> _Files:
    """Name → opener for the files of a GroupLens folder or zip (any sub-folder)."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.is_file()]
        files = _Files({p.name: (lambda p=p: open(p, "rb")) for p in found})
        files.paths = [p.relative_to(path).as_posix() for p in found]
        return files
    if zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        names = [n for n in z.namelist() if not n.endswith("/")]
        files = _Files({Path(n).name: (lambda n=n: z.open(n)) for n in names})
        files.paths = names
        return files
    raise UserError(f"{path}: not a folder or a zip of MovieLens files")


_MARKER = {"100k": "u.data", "1m": "ratings.dat", "20m": "ratings.csv", "25m": "ratings.csv"}


def _check_variant(path: Path, files: _Files, variant: str) -> None:
    """A clear error when the files at ``path`` are another MovieLens variant than the one asked for.

    ml-20m and ml-25m share one format; they are told apart by name only ("ml-25m/" inside the
    zip, a folder called ml-20m), and a path that names neither is read as the variant asked for.
    """
    named = sorted({m.group(1) for p in [path.name, *files.paths] for m in re.finditer(r"ml-(20m|25m)\b", p)})
    if _MARKER[variant] not in files:
        for other in ("100k", "1m"):
            if _MARKER[other] in files:
                raise UserError(f"{path} holds ml-{other} files; ask for --variant {other}")
        if "ratings.csv" in files:
            if len(named) == 1:
                raise UserError(f"{path} holds ml-{named[0]} files; ask for --variant {named[0]}")
            raise UserError(f"{path} holds ml-20m or ml-25m files (ratings.csv); ask for --variant 20m or 25m")
        return  # the parser names the missing file
    if variant in CSV_VARIANTS and named and variant not in named:
        raise UserError(f"{path} holds ml-{named[0]} files; ask for --variant {named[0]}")


def load_grouplens(path: str | Path, variant: str = "100k") -> Dataset:
    """Load the original GroupLens files from a folder or zip.

    ml-100k: u.data, u.item, u.user; ml-1m: ratings.dat, movies.dat, users.dat; ml-20m and
    ml-25m: ratings.csv and movies.csv (streamed: 25M ratings took 20 s and 2.3 GB at peak here;
    the users, whom these sets do not describe, get age 0 and "unknown" gender, occupation and
    zip code).
    """
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    path = Path(path).expanduser()
    files = _grouplens_files(path)
    _check_variant(path, files, variant)
    if variant == "100k":
        parts = parse_100k(*(_read_member(files, n, "latin-1") for n in ("u.data", "u.item", "u.user")),
                           origin=str(path))
    elif variant == "1m":
        parts = parse_1m(*(_read_member(files, n, "latin-1") for n in ("ratings.dat", "movies.dat", "users.dat")),
                         origin=str(path))
    else:
        parts = parse_25m(*(_member(files, n) for n in ("ratings.csv", "movies.csv")), origin=str(path))
        return Dataset(_assemble_coded(*parts), parts[1], parts[2], source="grouplens", variant=variant)
    return Dataset(_assemble(*parts), parts[1], parts[2], source="grouplens", variant=variant)


def fetch_packaged_wheel(timeout: float = 120) -> Path:
    """Download the recbole wheel (no install, no dependencies) and check its sha256."""
    target = data_dir() / PACKAGED_WHEEL
    if target.exists() and _sha256(target) == PACKAGED_SHA256:
        return target
    with tempfile.TemporaryDirectory(dir=data_dir()) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--timeout", "15", "--retries", "1",
               "-d", tmp, "recbole==1.2.1"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"pip download of recbole==1.2.1 took longer than {timeout:.0f} s")
        got = Path(tmp) / PACKAGED_WHEEL
        if proc.returncode != 0 or not got.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UserError(f"pip download of recbole==1.2.1 failed: {tail[0]}")
        digest = _sha256(got)
        if digest != PACKAGED_SHA256:
            raise UserError(f"{PACKAGED_WHEEL} has sha256 {digest}, expected {PACKAGED_SHA256}")
        os.replace(got, target)
    return target


def load_packaged() -> Dataset:
    wheel = fetch_packaged_wheel()
    with zipfile.ZipFile(wheel) as z:
        texts = [z.read(PACKAGED_PREFIX + ext).decode("utf-8") for ext in ("inter", "item", "user")]
    parts = parse_packaged(*texts)
    return Dataset(_assemble(*parts), parts[1], parts[2], source="packaged", variant="100k")


def _internet(host: str = "files.grouplens.org", port: int = 443, timeout: float = 3.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(variant: str = "100k", download: bool = False, data_dir_: str | None = None) -> Dataset:
    """Read ``movielens/{variant}-ratings`` and ``-movies`` from tensorflow-datasets.

    Without ``download`` only an already prepared copy is used. A download is attempted
    only after a 3-second reachability check, so an offline machine fails in seconds.
    ``movielens/20m-ratings`` and ``25m-ratings`` carry no user features: as from GroupLens
    files, their users get age 0 and "unknown" gender, occupation and zip code.
    """
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    import absl.logging
    import tensorflow_datasets as tfds

    absl.logging.set_verbosity(absl.logging.ERROR)  # "no dataset_info.json" probes are not news
    names = (f"movielens/{variant}-ratings", f"movielens/{variant}-movies")
    builders = [tfds.builder(n, data_dir=data_dir_) for n in names]
    if not all(b.is_prepared() for b in builders):
        if not download:
            raise UserError(f"tensorflow-datasets has not prepared {names[0]} in {builders[0].data_dir}")
        if not _internet():
            raise UserError(f"tensorflow-datasets needs files.grouplens.org to download {names[0]}, "
                            "which is not reachable")
        for b in builders:
            b.download_and_prepare()
    dec = lambda s: s.map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v))
    if variant in CSV_VARIANTS:
        return _tfds_csv_variant(tfds, builders, names, variant)
    frame = tfds.as_dataframe(builders[0].as_dataset(split="train"))
    genre_names = builders[0].info.features["movie_genres"].feature.names
    genres = frame["movie_genres"].map(lambda g: "|".join(genre_names[int(i)] for i in g))
    age = frame["raw_user_age"] if "raw_user_age" in frame else frame["bucketized_user_age"]  # 100k has exact ages
    ratings = pd.DataFrame({
        "user_id": dec(frame["user_id"]), "movie_id": dec(frame["movie_id"]),
        "movie_title": dec(frame["movie_title"]), "user_rating": frame["user_rating"].astype(np.float32),
        "timestamp": frame["timestamp"].astype(np.int64), "user_age": age.astype(np.int32),
        "user_gender": np.where(frame["user_gender"].astype(bool), "M", "F"),
        "user_occupation": dec(frame["user_occupation_text"]), "user_zip_code": dec(frame["user_zip_code"]),
        "movie_genres": genres,
    })
    movies = ratings.drop_duplicates("movie_id")[["movie_id", "movie_title", "movie_genres"]]
    mframe = tfds.as_dataframe(builders[1].as_dataset(split="train"))
    catalog = pd.DataFrame({"movie_id": dec(mframe["movie_id"]), "movie_title": dec(mframe["movie_title"])})
    movies = catalog.merge(movies[["movie_id", "movie_genres"]], on="movie_id", how="left").fillna({"movie_genres": ""})
    users = ratings.drop_duplicates("user_id")[["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"]]
    return Dataset(ratings[RATING_COLUMNS], movies.reset_index(drop=True), users.reset_index(drop=True),
                   source="tfds", variant=variant)


def _tfds_csv_variant(tfds, builders: list, names: tuple, variant: str, batch: int = 1 << 20) -> Dataset:
    """20m / 25m from prepared TFDS builders, in the same coded form as ``parse_25m`` gives.

    The catalog (and each movie's genres) comes from ``-movies``; ratings are read a million at
    a time as numpy arrays (no per-rating Python objects) and joined to it by movie id.
    """
    dec = lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v)
    mframe = tfds.as_dataframe(builders[1].as_dataset(split="train"))
    genre_names = builders[1].info.features["movie_genres"].feature.names
    movies = pd.DataFrame({
        "movie_id": [dec(v) for v in mframe["movie_id"]],
        "movie_title": [dec(v) for v in mframe["movie_title"]],
        "movie_genres": ["|".join(genre_names[int(i)] for i in g if genre_names[int(i)] != NO_GENRES)
                         for g in mframe["movie_genres"]],
    })
    if not movies["movie_id"].is_unique:
        twice = movies["movie_id"][movies["movie_id"].duplicated()].iloc[0]
        raise UserError(f"tensorflow-datasets' {names[1]} lists movie {twice!r} twice")
    catalog = pd.Index(movies["movie_id"])
    keep = ("user_id", "movie_id", "user_rating", "timestamp")
    ds = builders[0].as_dataset(split="train").map(lambda x: {k: x[k] for k in keep}).batch(batch)
    user_pos: dict = {}
    users, movie_idx, stars, times = [], [], [], []
    for b in tfds.as_numpy(ds):
        codes, uniques = pd.factorize(b["user_id"])
        users.append(np.array([user_pos.setdefault(dec(u), len(user_pos)) for u in uniques], dtype=np.int64)[codes])
        codes, uniques = pd.factorize(b["movie_id"])
        pos = catalog.get_indexer([dec(m) for m in uniques])
        if (pos < 0).any():
            raise UserError(f"tensorflow-datasets' {names[0]} rates movie {dec(uniques[pos < 0][0])!r}, "
                            f"which {names[1]} does not list")
        movie_idx.append(pos[codes])
        stars.append(np.asarray(b["user_rating"], dtype=np.float32))
        times.append(np.asarray(b["timestamp"], dtype=np.int64))
    if not users:
        raise UserError(f"tensorflow-datasets' {names[0]} holds no ratings")
    user_ids = pd.Index(list(user_pos), dtype=object)
    ratings = pd.DataFrame({
        "user_id": pd.Categorical.from_codes(np.concatenate(users), categories=user_ids),
        "movie_id": pd.Categorical.from_codes(np.concatenate(movie_idx), categories=pd.Index(movies["movie_id"], dtype=object)),
        "user_rating": np.concatenate(stars), "timestamp": np.concatenate(times),
    })
    users_t = _unknown_users(user_ids)
    return Dataset(_assemble_coded(ratings, movies, users_t), movies, users_t, source="tfds", variant=variant)


# ----------------------------------------------------------------------------- cache


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cache_dir(variant: str, source: str, path: str | None) -> Path:
    tag = hashlib.sha1(str(Path(path).expanduser().resolve()).encode()).hexdigest()[:8] if path else "default"
    return data_dir() / f"ml-{variant}-{source}-{tag}"


def _cache_read(folder: Path) -> Dataset | None:
    """A cached parse, or None when absent or unreadable (a broken cache is re-parsed)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("version") != CACHE_VERSION:
            return None
        frames = [pd.read_parquet(folder / f"{n}.parquet") for n in ("ratings", "movies", "users")]
        return Dataset(frames[0], frames[1], frames[2], source=meta["source"], variant=meta["variant"])
    except Exception:
        return None


def _cache_write(folder: Path, ds: Dataset) -> None:
    """Write to a temporary folder and rename it into place: complete or absent, never half.

    A kill at any moment leaves the old cache, no cache or the new one (plus at worst a
    hidden ``.tmp-*`` folder, removed by a later write once it is an hour old): an old copy
    is renamed away in one step, never deleted file by file where a reader could find it.
    The cache only saves time, so failing to write it is not an error.
    """
    from . import atomic

    atomic.clean_leftovers(folder.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    except OSError:
        return
    try:
        ds.ratings[RATING_COLUMNS].to_parquet(tmp / "ratings.parquet", index=False)
        ds.movies.to_parquet(tmp / "movies.parquet", index=False)
        ds.users.to_parquet(tmp / "users.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps({"version": CACHE_VERSION, "source": ds.source,
                                                   "variant": ds.variant, "written": time.time()}))
        atomic.fsync_tree(tmp)
        if folder.exists():
            atomic.discard(folder)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process renamed its copy into place meanwhile: keep that one
            atomic.discard(tmp)
    except Exception:
        atomic.discard(tmp)


# ----------------------------------------------------------------------------- entry point


def load(source: str = "auto", variant: str = "100k", path: str | Path | None = None,
         use_cache: bool = True) -> Dataset:
    """Load MovieLens from ``source`` (see the module docstring for what ``auto`` tries).

    Raises ``UserError`` listing every source tried and why it failed.
    """
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    path = path or os.environ.get("RECSYS_GROUPLENS_PATH") or None
    if source == "grouplens" and not path:
        raise UserError("--source grouplens needs --path to a MovieLens folder or zip")

    if use_cache and source in ("auto", "packaged", "grouplens", "tfds"):
        from .atomic import clean_leftovers

        clean_leftovers(data_dir())  # hidden folders of writers killed over an hour ago
        candidates = [_cache_dir(variant, source, path if source == "grouplens" else None)]
        if source == "auto":
            candidates = [_cache_dir(variant, s, path if s == "grouplens" else None)
                          for s in ("tfds", "grouplens", "packaged")]
        for folder in candidates:
            if folder.exists() and (ds := _cache_read(folder)) is not None:
                return ds

    def no_path():
        raise UserError("no path given (--path or $RECSYS_GROUPLENS_PATH)")

    def packaged():
        if variant != "100k":
            raise UserError("the packaged copy holds ML-100k only")
        return load_packaged()

    tfds_prepared = ("tensorflow-datasets (prepared on disk)", lambda: load_tfds(variant))
    grouplens = ("GroupLens files", (lambda: load_grouplens(path, variant)) if path else no_path)
    packaged_copy = ("packaged copy (recbole==1.2.1 wheel from PyPI)", packaged)
    tfds_download = ("tensorflow-datasets (download)", lambda: load_tfds(variant, download=True))
    plan = {
        "auto": [tfds_prepared, grouplens, packaged_copy, tfds_download],
        "tfds": [tfds_prepared, tfds_download],
        "grouplens": [grouplens],
        "packaged": [packaged_copy],
    }[source]

    reasons = []
    for label, fn in plan:
        try:
            ds = fn()
        except UserError as e:
            if len(plan) == 1:
                raise
            reasons.append(f"- {label}: {e}")
            continue
        except Exception as e:  # a source library failing is a reason, not a crash
            reasons.append(f"- {label}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            continue
        if use_cache:
            _cache_write(_cache_dir(variant, ds.source, path if ds.source == "grouplens" else None), ds)
        return ds
    raise UserError(
        f"could not load MovieLens {variant}. Tried:\n" + "\n".join(reasons)
        + "\nSupply the files yourself: download ml-" + variant + ".zip from https://grouplens.org/datasets/movielens/"
        " and pass --path FILE (or set RECSYS_GROUPLENS_PATH)."
    )


# ----------------------------------------------------------------------------- split


@dataclass(frozen=True)
class Split:
    """Row positions (into ``Dataset.ratings``) of the training and test ratings."""

    train: np.ndarray
    test: np.ndarray
    kind: str
    seed: int
    fraction: float


def split(ds: Dataset, kind: str = "random", fraction: float = 0.8, seed: int = 42) -> Split:
    """Split ratings into train and test.

    ``random`` reproduces the tutorial: ``tf.random.set_seed(seed)`` then
    ``shuffle(n, seed=seed, reshuffle_each_iteration=False)`` over the ratings in source
    order; the first ``fraction`` trains. ``temporal``: the earliest ``fraction`` of
    ratings by timestamp train and the rest test, as in a real deployment where the
    model never sees the future.

    Above ``TF_SHUFFLE_MAX`` ratings (more than MovieLens 1M) the random order comes from
    numpy's ``permutation`` instead: TensorFlow's shuffle buffer costs ~300 bytes and
    several microseconds per rating (3 GB and minutes for 10M), numpy's 8 bytes and a
    fraction of a second. Both are seeded and reproducible; only the small sets need the
    tutorial's exact order.
    """
    if kind not in SPLITS:
        raise UserError(f"unknown split {kind!r}; choose one of {', '.join(SPLITS)}")
    if not 0.0 < fraction < 1.0:
        raise UserError(f"split fraction must be between 0 and 1, got {fraction}")
    n = len(ds.ratings)
    n_train = int(round(n * fraction))
    if kind == "random" and n > TF_SHUFFLE_MAX:
        order = np.random.default_rng(seed).permutation(n)
    elif kind == "random":
        order = _tf_shuffle_order(n, seed)
    else:
        order = np.argsort(ds.ratings["timestamp"].to_numpy(), kind="stable")
    return Split(train=order[:n_train], test=order[n_train:], kind=kind, seed=seed, fraction=fraction)


TF_SHUFFLE_MAX = 2_000_000


def _tf_shuffle_order(n: int, seed: int) -> np.ndarray:
    import tensorflow as tf

    tf.random.set_seed(seed)
    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=False)
    return ds.batch(n).get_single_element().numpy()
