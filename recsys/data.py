"""MovieLens in one schema, from whichever source is at hand, and the train/test split.

Every source is turned into the schema the TFRS tutorial sees from
tensorflow-datasets (``movielens/100k-ratings``): one row per rating with

    user_id (str), movie_id (str), movie_title ("Title (Year)"), user_rating (float),
    timestamp (int), user_age (int), user_gender ("M"/"F"), user_occupation (str),
    user_zip_code (str), movie_genres ("Action|Adventure", "|"-joined)

plus a movie catalog (movie_id, movie_title, movie_genres) and a user table.

Sources, tried in this order by ``source="auto"``:

1. the parsed cache under ``$RECSYS_HOME/data`` (a second start does not re-parse);
2. tensorflow-datasets, when the dataset is already prepared on disk;
3. GroupLens files (a folder or the original zip) from ``path`` or ``$RECSYS_GROUPLENS_PATH``;
4. the packaged copy: the ``recbole==1.2.1`` wheel on PyPI ships ML-100k; we download the
   wheel (never install it), check its sha256 and read three files out of the zip;
5. tensorflow-datasets download (needs the open internet, fails fast without it).

The movie tower of the tutorial is keyed by *title*: the 1,682 ML-100k movies have 1,664
distinct titles (a few films are listed twice), so the candidate catalog is the distinct titles.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UserError
from .home import data_dir

SOURCES = ("auto", "tfds", "grouplens", "packaged")
VARIANTS = ("100k", "1m")
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
                numeric: dict[str, type] | None = None) -> pd.DataFrame:
    """Parse delimited text into string columns, checking every line's shape.

    Errors name the file, the 1-based line number and what was expected, so a user
    with a damaged download knows exactly where to look. Windows line ends (CRLF) are
    accepted; any other stray character stays inside its field, so one text line is
    always one row. Numeric columns must hold finite numbers (whole ones for int columns).
    """
    shown_sep = sep
    text = text.replace("\r\n", "\n")
    if sep != "\t" and len(sep) > 1:
        if "\t" in text:  # a tab would read as a separator once "::" becomes one
            i = text[:text.index("\t")].count("\n")
            if i >= header_lines:
                raise UserError(f"{name}, line {i + 1}: unexpected tab character (fields are separated by {sep!r})")
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
            f"{name}, line {i + 1 + header_lines}: expected {len(columns)} columns "
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
        raise UserError(f"{name}, line {i + 1 + header_lines}: {cols[j]} must be {what}, found {raw[i, j]!r}")
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


# ----------------------------------------------------------------------------- sources


def _read_member(files: dict, name: str, encoding: str) -> str:
    if name not in files:
        raise UserError(f"{name} is missing (found: {', '.join(sorted(files)) or 'nothing'})")
    return files[name]().decode(encoding)


def _grouplens_files(path: Path) -> dict:
    """Name → reader for the files of a GroupLens folder or zip (any sub-folder)."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if path.is_dir():
        return {p.name: p.read_bytes for p in path.rglob("*") if p.is_file()}
    if zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        return {Path(n).name: (lambda n=n: z.read(n)) for n in z.namelist() if not n.endswith("/")}
    raise UserError(f"{path}: not a folder or a zip of MovieLens files")


def load_grouplens(path: str | Path, variant: str = "100k") -> Dataset:
    """Load the original GroupLens ml-100k (u.data, u.item, u.user) or ml-1m (*.dat) files."""
    path = Path(path).expanduser()
    files = _grouplens_files(path)
    if variant == "100k":
        if "u.data" not in files and "ratings.dat" in files:
            raise UserError(f"{path} holds ml-1m files; ask for --variant 1m")
        parts = parse_100k(*(_read_member(files, n, "latin-1") for n in ("u.data", "u.item", "u.user")),
                           origin=str(path))
    else:
        parts = parse_1m(*(_read_member(files, n, "latin-1") for n in ("ratings.dat", "movies.dat", "users.dat")),
                         origin=str(path))
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
    """
    import absl.logging
    import tensorflow_datasets as tfds

    absl.logging.set_verbosity(absl.logging.ERROR)  # "no dataset_info.json" probes are not news
    names = (f"movielens/{variant}-ratings", f"movielens/{variant}-movies")
    builders = [tfds.builder(n, data_dir=data_dir_) for n in names]
    if not all(b.is_prepared() for b in builders):
        if not download:
            raise UserError(f"tensorflow-datasets has not prepared {names[0]} in {builders[0].data_dir}")
        if not _internet():
            raise UserError("tensorflow-datasets needs files.grouplens.org, which is not reachable")
        for b in builders:
            b.download_and_prepare()
    frame = tfds.as_dataframe(builders[0].as_dataset(split="train"))
    dec = lambda s: s.map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v))
    genre_names = builders[0].info.features["movie_genres"].feature.names
    genres = frame["movie_genres"].map(lambda g: "|".join(genre_names[int(i)] for i in g))
    ratings = pd.DataFrame({
        "user_id": dec(frame["user_id"]), "movie_id": dec(frame["movie_id"]),
        "movie_title": dec(frame["movie_title"]), "user_rating": frame["user_rating"].astype(np.float32),
        "timestamp": frame["timestamp"].astype(np.int64), "user_age": frame["raw_user_age"].astype(np.int32),
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
