"""Where the ratings come from: MovieLens in one schema, split into train and test.

- ``movielens``: the ``Dataset`` schema, the sources (tensorflow-datasets, GroupLens files,
  the packaged copy), the parsed cache under ``$RECSYS_HOME/data`` and the split;
- ``prepared``: a split as the integer arrays every model trains and is scored on (``prepare``);
- ``formats``: the bytes of each MovieLens file format, read and checked line by line;
- ``features``: the side features the towers can read (age, gender, occupation, genres, title words);
- ``synthetic``: MovieLens-like data of any size, to see how costs grow past ML-100k.

``from recsys import data; ds = data.load(); sp = data.split(ds)`` is all most code needs.
"""
from recsys.data.movielens import (RATING_COLUMNS, Dataset, Split, fetch_packaged_wheel, load, load_grouplens,
                                   load_packaged, load_tfds, split)

__all__ = ["RATING_COLUMNS", "Dataset", "Split", "fetch_packaged_wheel", "load", "load_grouplens", "load_packaged",
           "load_tfds", "split"]
