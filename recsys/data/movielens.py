"""MovieLens in one schema, from whichever source is at hand, and the train/test split.

Every source is turned into the schema the TFRS tutorial sees from
tensorflow-datasets (``movielens/100k-ratings``): one row per rating with

    user_id (str), movie_id (str), movie_title ("Title (Year)"), user_rating (float),
    timestamp (int), user_age (int), user_gender ("M"/"F"), user_occupation (str),
    user_zip_code (str), movie_genres ("Action|Adventure", "|"-joined)

plus a movie catalog (movie_id, movie_title, movie_genres) and a user table.

Variants: ``100k`` and ``1m`` describe their users; ``20m`` and ``25m`` (GroupLens' current CSV
format, ratings in half stars) do not, so there user_age is 0 and user_gender, user_occupation
and user_zip_code are "unknown" (``formats.UNKNOWN``): user features are then one constant
value. Their string columns are pandas categoricals, so 25M ratings fit in about 1 GB.

How each file format is read and checked line by line is ``recsys.data.formats``; this module finds
the files, joins the three frames a parser returns into a ``Dataset``, caches it and splits it.

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

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from recsys import atomic
from recsys.config import MOVIELENS_SIZES, SOURCES, SPLITS
from recsys.data.formats import (NO_GENRES, PACKAGED_WHEEL, parse_1m, parse_25m, parse_100k, parse_packaged,
                                 unknown_users)
from recsys.errors import UserError
from recsys.paths import data_dir

CSV_VARIANTS = ("20m", "25m")  # GroupLens' current CSV format: ratings.csv and movies.csv, no users file

RATING_COLUMNS = [
    "user_id", "movie_id", "movie_title", "user_rating", "timestamp",
    "user_age", "user_gender", "user_occupation", "user_zip_code", "movie_genres",
]

PACKAGED_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
PACKAGED_PREFIX = "recbole/dataset_example/ml-100k/ml-100k."
CACHE_VERSION = 1


# ----------------------------------------------------------------------------- dataset


@dataclass(eq=False)  # compared and hashed by identity: a loaded dataset is one object, keyed as such
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
    if variant not in MOVIELENS_SIZES:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(MOVIELENS_SIZES)}")
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
    if variant not in MOVIELENS_SIZES:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(MOVIELENS_SIZES)}")
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
    users_t = unknown_users(user_ids)
    return Dataset(_assemble_coded(ratings, movies, users_t), movies, users_t, source="tfds", variant=variant)


# ----------------------------------------------------------------------------- cache


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_dir(variant: str, source: str, path: str | None) -> Path:
    tag = hashlib.sha1(str(Path(path).expanduser().resolve()).encode()).hexdigest()[:8] if path else "default"
    return data_dir() / f"ml-{variant}-{source}-{tag}"


def cache_read(folder: Path) -> Dataset | None:
    """A cached parse, or None when absent or unreadable (a broken cache is re-parsed)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("version") != CACHE_VERSION:
            return None
        frames = [pd.read_parquet(folder / f"{n}.parquet") for n in ("ratings", "movies", "users")]
        return Dataset(frames[0], frames[1], frames[2], source=meta["source"], variant=meta["variant"])
    except Exception:
        return None


def cache_write(folder: Path, ds: Dataset) -> None:
    """Write to a temporary folder and rename it into place: complete or absent, never half.

    A kill at any moment leaves the old cache, no cache or the new one (plus at worst a
    hidden ``.tmp-*`` folder, removed by a later write once it is an hour old): an old copy
    is renamed away in one step, never deleted file by file where a reader could find it.
    The cache only saves time, so failing to write it is not an error.
    """
    atomic.clean_leftovers(folder.parent)  # hidden folders of writers killed over an hour ago
    try:
        with atomic.staging(folder.parent) as tmp:
            ds.ratings[RATING_COLUMNS].to_parquet(tmp / "ratings.parquet", index=False)
            ds.movies.to_parquet(tmp / "movies.parquet", index=False)
            ds.users.to_parquet(tmp / "users.parquet", index=False)
            (tmp / "meta.json").write_text(json.dumps({"version": CACHE_VERSION, "source": ds.source,
                                                       "variant": ds.variant, "written": time.time()}))
    except Exception:
        return
    if folder.exists():
        atomic.discard(folder)
    try:
        os.rename(tmp, folder)
    except OSError:  # another process renamed its copy into place meanwhile: keep that one
        atomic.discard(tmp)


# ----------------------------------------------------------------------------- entry point


def load(source: str = "auto", variant: str = "100k", path: str | Path | None = None,
         use_cache: bool = True) -> Dataset:
    """Load MovieLens from ``source`` (see the module docstring for what ``auto`` tries).

    A ``path`` given here means those files: ``auto`` then reads them (as ``grouplens``)
    instead of a cached or prepared copy from elsewhere. Raises ``UserError`` listing every
    source tried and why it failed.
    """
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if source == "auto" and path:
        source = "grouplens"
    if variant not in MOVIELENS_SIZES:
        raise UserError(f"unknown variant {variant!r}; choose one of {', '.join(MOVIELENS_SIZES)}")
    path = path or os.environ.get("RECSYS_GROUPLENS_PATH") or None
    if source == "grouplens" and not path:
        raise UserError("--source grouplens needs --path to a MovieLens folder or zip")

    if use_cache and source in ("auto", "packaged", "grouplens", "tfds"):
        candidates = [cache_dir(variant, source, path if source == "grouplens" else None)]
        if source == "auto":
            candidates = [cache_dir(variant, s, path if s == "grouplens" else None)
                          for s in ("tfds", "grouplens", "packaged")]
        for folder in candidates:
            if folder.exists() and (ds := cache_read(folder)) is not None:
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
            cache_write(cache_dir(variant, ds.source, path if ds.source == "grouplens" else None), ds)
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


@lru_cache(maxsize=4)  # one order per (size, seed): a process's splits of one dataset share it, read-only
def _tf_shuffle_order(n: int, seed: int) -> np.ndarray:
    import tensorflow as tf

    tf.random.set_seed(seed)
    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=False)
    order = ds.batch(n).get_single_element().numpy()
    order.flags.writeable = False
    return order
