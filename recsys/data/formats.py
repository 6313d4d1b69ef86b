"""MovieLens file formats: the bytes of GroupLens' (and RecBole's) files into three frames.

Each ``parse_*`` turns one variant's files into

    ratings (user_id, movie_id, user_rating, timestamp), movies (movie_id, movie_title,
    movie_genres "|"-joined), users (user_id, user_age, user_gender, user_occupation, user_zip_code)

which ``recsys.data`` joins into its ``Dataset``. The formats:

- ml-100k (``parse_100k``), Latin-1, no header. ``u.data``: user, movie, rating (1-5), unix
  time, tab-separated. ``u.item``: id, "Title (Year)", release date, video date, IMDb URL and
  19 genre flags 0/1 (``GENRES_100K``), "|"-separated. ``u.user``: id, age, gender (M/F),
  occupation, zip code, "|"-separated.
- ml-1m (``parse_1m``), Latin-1, no header, fields separated by "::". ``ratings.dat`` as
  u.data; ``movies.dat``: id, title, genres already "|"-joined; ``users.dat``: id, gender,
  age, occupation as a code 0-20 (``OCCUPATIONS_1M``), zip code.
- ml-20m and ml-25m (``parse_25m``), UTF-8 CSV with a header line. ``ratings.csv``
  (``RATINGS_CSV``, half stars) is streamed, never held as text; ``movies.csv``
  (``MOVIES_CSV``) quotes a title holding a comma and writes ``NO_GENRES`` for none. No users
  file: every user has age 0 and ``UNKNOWN`` gender, occupation and zip code.
- RecBole's ML-100k (``parse_packaged``), the files ``ml-100k.inter/.item/.user`` inside the
  ``PACKAGED_WHEEL``: UTF-8, tab-separated, a typed header line (``user_id:token``).

Why every error names a file and a line: a download can be cut short or damaged, and a file
can be edited by hand. "ml-1m/users.dat, line 1234: user_age must be a whole number, found
'x'" sends the user straight to the fault, where a pandas traceback would not; and nothing is
guessed (a line with the wrong number of fields is an error, never padded or dropped).
"""
from __future__ import annotations

import csv
import io
import itertools
import warnings

import numpy as np
import pandas as pd

from recsys.errors import UserError

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

# The wheel RecBole ships ML-100k in; errors in those files name it as their origin.
PACKAGED_WHEEL = "recbole-1.2.1-py3-none-any.whl"


# ----------------------------------------------------------------------------- line tables (ml-100k, ml-1m, RecBole)


def _not_valid(values: np.ndarray, whole) -> np.ndarray:
    """Where ``values`` (floats, NaN = not a number) are not finite, or, where ``whole``, not
    an exact whole number (beyond 2**53 a float no longer holds every whole number)."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(values) | (whole & ((np.abs(values) > 2.0 ** 53) | (values != np.round(values))))


def read_table(text: str, name: str, sep: str, columns: list[str], header_lines: int = 0,
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
    bad = np.argwhere(_not_valid(values, whole))  # row-major: the first bad line, then its first bad column
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
    ratings = read_table(u_data, f"{origin}/u.data", "\t", ["user_id", "movie_id", "user_rating", "timestamp"],
                          numeric={"user_rating": float, "timestamp": np.int64})
    item_cols = ["movie_id", "movie_title", "release", "video", "url"] + [f"g{i}" for i in range(19)]
    items = read_table(u_item, f"{origin}/u.item", "|", item_cols, numeric={f"g{i}": int for i in range(19)})
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
    users = read_table(u_user, f"{origin}/u.user", "|", ["user_id", "user_age", "user_gender",
                                                          "user_occupation", "user_zip_code"],
                        numeric={"user_age": int})
    _check_unique(users, "user_id", f"{origin}/u.user")
    _check_range(users, "user_age", 0, 200, f"{origin}/u.user")
    return _finish_ratings(ratings, f"{origin}/u.data"), movies, users


def parse_1m(ratings_dat: str, movies_dat: str, users_dat: str, origin: str = "ml-1m") -> tuple:
    """Parse the three ML-1m ``::``-separated files into ratings, movies, users."""
    ratings = read_table(ratings_dat, f"{origin}/ratings.dat", "::", ["user_id", "movie_id", "user_rating", "timestamp"],
                          numeric={"user_rating": float, "timestamp": np.int64})
    movies = read_table(movies_dat, f"{origin}/movies.dat", "::", ["movie_id", "movie_title", "movie_genres"])
    _check_unique(movies, "movie_id", f"{origin}/movies.dat")
    users = read_table(users_dat, f"{origin}/users.dat", "::",
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
    ratings = read_table(inter, f"{origin}:ml-100k.inter", "\t", ["user_id", "movie_id", "user_rating", "timestamp"],
                          header_lines=1, numeric={"user_rating": float, "timestamp": np.int64})
    items = read_table(item, f"{origin}:ml-100k.item", "\t", ["movie_id", "title", "year", "genres"], header_lines=1)
    _check_unique(items, "movie_id", f"{origin}:ml-100k.item", 1)
    unknown = items["title"].isin(["unkonwn", "unknown"])
    items["movie_title"] = np.where(unknown, "unknown", items["title"] + " (" + items["year"] + ")")
    items["movie_genres"] = items["genres"].str.replace(" ", "|", regex=False)
    users = read_table(user, f"{origin}:ml-100k.user", "\t",
                        ["user_id", "user_age", "user_gender", "user_occupation", "user_zip_code"],
                        header_lines=1, numeric={"user_age": int})
    _check_unique(users, "user_id", f"{origin}:ml-100k.user", 1)
    _check_range(users, "user_age", 0, 200, f"{origin}:ml-100k.user", 1)
    return (_finish_ratings(ratings, f"{origin}:ml-100k.inter", 1), items[["movie_id", "movie_title", "movie_genres"]],
            users)

# ----------------------------------------------------------------------------- CSV (ml-20m, ml-25m)
# GroupLens' current format: UTF-8 CSV files with a header line, titles in double quotes when
# they hold a comma, and no users file.


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
        if _not_valid(frame[col].to_numpy(), np.issubdtype(np.dtype(kind), np.integer)).any():
            return None, f"{col} is not a valid number"
    return frame, ""


def _diagnose_csv(open_, name: str, columns: list[str], numeric: dict, block_lines: int = 500_000) -> None:
    """Raise the ``UserError`` naming the first bad line of a headed CSV file without quoting.

    The slow path, taken only after the one-pass read found something wrong: the file is read
    again a block of lines at a time (never whole); a block that fails the fast check is
    checked line by line by ``read_table``.
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
                read_table(text, name, ",", columns, numeric=numeric, first_line=line)
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
    bad = np.flatnonzero(_not_valid(ids, True))
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
    return ratings, movies, unknown_users(user_ids)


def unknown_users(user_ids) -> pd.DataFrame:
    """The user table of a set without demographics: age 0, gender, occupation and zip code ``UNKNOWN``."""
    n = len(user_ids)
    unknown = np.full(n, UNKNOWN, dtype=object)
    return pd.DataFrame({"user_id": np.asarray(user_ids, dtype=object), "user_age": np.zeros(n, dtype=np.int64),
                         "user_gender": unknown, "user_occupation": unknown.copy(), "user_zip_code": unknown.copy()})
