"""The TFRS basic retrieval tutorial's sections, in its order, as cell templates.

    setup -> data -> split -> query tower -> candidate tower -> metrics and task -> model
          -> fit -> evaluate -> BruteForce -> SavedModel -> ScaNN -> export

Each ``Section`` has a title, one line on what the section does (the tutorial's own wording,
shortened) and a code template with holes (``recsys/notebook/slots.py``). ``tutorial(code)``
fills every hole with the tutorial's code; the levers of a run then overwrite or add to the
holes they need (``recsys/notebook/levers.py``). The towers are the tutorial's
``tf.keras.Sequential`` until a lever needs more than an id embedding, then a small
``tf.keras.Model`` class that reads the same ids.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    says: str           # one line: what the tutorial does here
    template: str       # code, with ⟨inline⟩ and ⟪block⟫ holes
    class_template: str = ""  # the towers: the template used when a lever asked for the class form (slot "<key>_class")


SETUP = """
import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # TFRS 0.7 is written for Keras 2 (tf-keras): set before TensorFlow loads

import hashlib
import json
import pathlib
import socket
import sys
import time
⟪std_imports⟫

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds
import tensorflow_recommenders as tfrs
⟪imports⟫

RUN_ID = "⟨run_id⟩"  # the lab's saved run this notebook rebuilds
PROJECT_ROOT = "⟨project_root⟩"  # the lab's checkout: its offline MovieLens loader is the fallback below
EXPORT_DIR = pathlib.Path("⟨export_dir⟩")  # the SavedModels, vectors and test figures are written here
EXPORT_DIR.mkdir(parents=True, exist_ok=True)
tf.config.experimental.enable_op_determinism()  # the same seed gives the same numbers, as in the lab
"""

DATA = """
VARIANT = "⟨variant⟩"
SOURCE = "tfds"  # "lab": read the ratings with the lab's loader, in the order the run read them (its exact split)


def load_tfds():
    \"\"\"MovieLens from tensorflow-datasets, as the tutorial loads it, as two pandas frames.\"\"\"
    names = [f"movielens/{VARIANT}-ratings", f"movielens/{VARIANT}-movies"]
    if not all(tfds.builder(name).is_prepared() for name in names):
        socket.create_connection(("files.grouplens.org", 443), timeout=3).close()  # offline: fail in seconds
    frame = tfds.as_dataframe(tfds.load(names[0], split="train"))
    movie_frame = tfds.as_dataframe(tfds.load(names[1], split="train"))
    genre_names = tfds.builder(names[1]).info.features["movie_genres"].feature.names
    text = lambda name, default="unknown": (frame[name].map(lambda v: v.decode("utf-8")) if name in frame
                                            else pd.Series(default, index=frame.index))
    ratings = pd.DataFrame({
        "user_id": text("user_id"), "movie_title": text("movie_title"),
        "timestamp": frame["timestamp"].astype(np.int64),
        "user_age": frame["raw_user_age"].astype(np.int64) if "raw_user_age" in frame else 0,
        "user_gender": np.where(frame["user_gender"], "M", "F") if "user_gender" in frame else "unknown",
        "user_occupation": text("user_occupation_text"),
    })
    catalog = pd.DataFrame({
        "movie_title": movie_frame["movie_title"].map(lambda v: v.decode("utf-8")),
        "movie_genres": movie_frame["movie_genres"].map(lambda g: "|".join(genre_names[i] for i in g)),
    })
    return ratings, catalog, "tensorflow-datasets"


def load_offline():
    \"\"\"The lab's own loader (recsys.data): the same ratings from its cache, GroupLens files or PyPI.\"\"\"
    if PROJECT_ROOT not in sys.path:
        sys.path.insert(0, PROJECT_ROOT)
    from recsys import data

    ds = data.load(variant=VARIANT)
    columns = ["user_id", "movie_title", "timestamp", "user_age", "user_gender", "user_occupation"]
    ratings = ds.ratings[columns].astype({"user_id": str, "movie_title": str, "user_gender": str,
                                          "user_occupation": str})
    return ratings, ds.movies[["movie_title", "movie_genres"]].astype(str), f"the lab's loader ({ds.source})"


try:
    ratings, catalog, source = load_tfds() if SOURCE == "tfds" else load_offline()
except Exception as error:  # no network, and nothing prepared on disk
    print(f"tensorflow-datasets cannot load MovieLens {VARIANT} here ({type(error).__name__}): "
          "using the lab's offline loader")
    ratings, catalog, source = load_offline()

unique_user_ids = np.unique(ratings["user_id"].to_numpy(str))
unique_movie_titles = np.unique(catalog["movie_title"].to_numpy(str))
movies = tf.data.Dataset.from_tensor_slices(unique_movie_titles)
print(f"{len(ratings):,} ratings of {len(unique_movie_titles):,} titles by {len(unique_user_ids):,} users, "
      f"from {source}")
"""

SPLIT = """
tf.random.set_seed(⟨seed⟩)
⟪order⟫
n_train = round(len(ratings) * ⟨split_fraction⟩)
train_rows, test_rows = order[:n_train], order[n_train:]
⟪validation⟫

# The run's test ratings? A fingerprint of the (user, title) pairs, computed the same way by the lab.
test_pairs = (ratings["user_id"].astype(str) + "\\t" + ratings["movie_title"].astype(str)).to_numpy()[test_rows]
test_key = hashlib.sha1("\\n".join(sorted(test_pairs)).encode()).hexdigest()[:12]
RUN_TEST_KEY = "⟨test_key⟩"  # the lab's fingerprint of the run's test ratings ("": not known)
print(f"{len(train_rows):,} training and {len(test_rows):,} test ratings (fingerprint {test_key}): " + (
    "the run's own test ratings" if test_key == RUN_TEST_KEY else "the run's is not known here" if not RUN_TEST_KEY
    else f"NOT the run's test ratings ({RUN_TEST_KEY}): these ratings came in another order than the run's, so "
         "compare the figures within seed noise only (SOURCE = 'lab' in the data cell reads the run's order)"))
⟪rating_index⟫
⟪movie_stats⟫


def as_dataset(rows):
    return tf.data.Dataset.from_tensor_slices({
        "user_id": ratings["user_id"].to_numpy(str)[rows],
        "movie_title": ratings["movie_title"].to_numpy(str)[rows],
    })


train = as_dataset(⟨fit_rows⟩)
test = as_dataset(test_rows)
"""

QUERY = """
tf.keras.utils.set_random_seed(⟨seed⟩)  # the initial weights (Keras draws them with Python's random too)
embedding_dimension = ⟨embedding_dim⟩

user_model = tf.keras.Sequential([
    tf.keras.layers.StringLookup(vocabulary=unique_user_ids, mask_token=None),
    # One more embedding row for an id the lookup does not know.
    tf.keras.layers.Embedding(len(unique_user_ids) + 1, embedding_dimension),
])
"""

QUERY_CLASS = """
tf.keras.utils.set_random_seed(⟨seed⟩)  # the initial weights (Keras draws them with Python's random too)
embedding_dimension = ⟨embedding_dim⟩
⟪user_tables⟫


class UserModel(tf.keras.Model):
    \"\"\"The query tower: user id strings in, user vectors out.\"\"\"

    def __init__(self):
        super().__init__()
        self.lookup = tf.keras.layers.StringLookup(vocabulary=unique_user_ids, mask_token=None)  # 0: unknown id
        ⟪user_id_layer⟫
        ⟪user_init⟫

    def tower(self, user_ids, training=False):
        index = self.lookup(user_ids)
        ⟪user_tower⟫
        ⟪user_dropout⟫
        ⟪user_features⟫
        ⟪user_mlp⟫
        ⟪user_projection⟫
        return x
    ⟪user_methods⟫

    def call(self, user_ids, training=False⟨user_call_args⟩):
        x = self.tower(user_ids, training=training)
        ⟪user_call⟫
        ⟪user_bias⟫
        return x


user_model = UserModel()
"""

CANDIDATE = """
movie_model = tf.keras.Sequential([
    tf.keras.layers.StringLookup(vocabulary=unique_movie_titles, mask_token=None),
    tf.keras.layers.Embedding(len(unique_movie_titles) + 1, embedding_dimension),
])
"""

CANDIDATE_CLASS = """
⟪movie_tables⟫


class MovieModel(tf.keras.Model):
    \"\"\"The candidate tower: movie titles in, movie vectors out.\"\"\"

    def __init__(self):
        super().__init__()
        self.lookup = tf.keras.layers.StringLookup(vocabulary=unique_movie_titles, mask_token=None)  # 0: unknown
        self.id_embedding = tf.keras.layers.Embedding(len(unique_movie_titles) + 1, embedding_dimension)
        ⟪movie_init⟫

    def tower(self, titles, training=False):
        index = self.lookup(titles)
        x = self.id_embedding(index)
        ⟪movie_features⟫
        ⟪movie_mlp⟫
        ⟪movie_projection⟫
        return x

    def call(self, titles, training=False):
        x = self.tower(titles, training=training)
        ⟪movie_bias⟫
        return x


movie_model = MovieModel()
"""

TASK = """
⟪task_pre⟫
metrics = tfrs.metrics.FactorizedTopK(
    candidates=movies.batch(128).map(⟨candidates⟩)
)
task = tfrs.tasks.Retrieval(
    metrics=metrics,
    ⟪task_args⟫
)
"""

MODEL = """
class MovielensModel(tfrs.Model):

    def __init__(self, user_model, movie_model):
        super().__init__()
        self.movie_model: tf.keras.Model = movie_model
        self.user_model: tf.keras.Model = user_model
        self.task: tf.keras.layers.Layer = task
        ⟪model_init⟫

    def compute_loss(self, features, training=False):
        ⟪evaluate_first⟫
        ⟪embed⟫
        ⟪rows⟫
        ⟪rows_bias⟫
        ⟪task_inputs⟫
        ⟪loss⟫
        ⟪penalty⟫
        ⟪penalty_total⟫
        return loss
⟪model_methods⟫


model = MovielensModel(user_model, movie_model)
"""

FIT = """
model.compile(optimizer=tf.keras.optimizers.⟨optimizer⟩(learning_rate=⟨learning_rate⟩))

⟪train_examples⟫
cached_train = ⟨train_batches⟩
cached_test = test.batch(4096).cache()
⟪callbacks⟫
# One line per epoch (FactorizedTopK is computed by evaluate only: while training it would read 0).
loss_per_epoch = tf.keras.callbacks.LambdaCallback(
    on_epoch_end=lambda epoch, logs: print(f"epoch {epoch + 1}: loss {logs['loss']:,.0f}"))

started = time.perf_counter()
model.fit(cached_train, epochs=⟨epochs⟩, verbose=0, callbacks=[loss_per_epoch⟨fit_args⟩])
training_seconds = time.perf_counter() - started
print(f"trained in {training_seconds:.1f} s")
"""

EVALUATE = """
test_metrics = model.evaluate(cached_test, return_dict=True, verbose=0)
print(test_metrics)
"""

BRUTEFORCE = """
# Create a model that takes in raw query features, and
index = tfrs.layers.factorized_top_k.BruteForce(model.user_model)
# recommends movies out of the entire movies dataset.
index.index_from_dataset(
    tf.data.Dataset.zip((movies.batch(100), movies.batch(100).map(model.movie_model)))
)

QUERY_USER = "42" if "42" in unique_user_ids else str(unique_user_ids[0])
decode = lambda row: [t.decode("utf-8") for t in row.numpy()]
# Get recommendations.
_, titles = index(tf.constant([QUERY_USER]))
print(f"Recommendations for user {QUERY_USER}: {decode(titles[0])}")
"""

SAVEDMODEL = """
path = str(EXPORT_DIR / "bruteforce")
# Save the index.
tf.saved_model.save(index, path)
# Load it back; can also be done in TensorFlow Serving.
loaded = tf.saved_model.load(path)
# Pass a user id in, get top predicted movie titles back.
scores, reloaded_titles = loaded(tf.constant([QUERY_USER]))
print(f"Recommendations for user {QUERY_USER} from the reloaded SavedModel: {decode(reloaded_titles[0])}")
print("the same titles as the index in memory:", decode(reloaded_titles[0]) == decode(titles[0]))
"""

SCANN = """
scann_index = tfrs.layers.factorized_top_k.ScaNN(model.user_model)
scann_index.index_from_dataset(
    tf.data.Dataset.zip((movies.batch(100), movies.batch(100).map(model.movie_model)))
)
_, scann_titles = scann_index(tf.constant([QUERY_USER]))
print(f"ScaNN's recommendations for user {QUERY_USER}: {decode(scann_titles[0])}")

path = str(EXPORT_DIR / "scann")
# ScaNN's searcher is a custom op: whitelist its namespace to save it (and `import scann` before loading it).
tf.saved_model.save(scann_index, path, options=tf.saved_model.SaveOptions(namespace_whitelist=["Scann"]))
loaded = tf.saved_model.load(path)
_, reloaded_titles = loaded(tf.constant([QUERY_USER]))
print(f"from the reloaded ScaNN SavedModel: {decode(reloaded_titles[0])}")
"""

EXPORT = """
def all_vectors(tower, keys):
    return np.concatenate([tower(batch).numpy() for batch in tf.data.Dataset.from_tensor_slices(keys).batch(4096)])


np.savez(EXPORT_DIR / "vectors.npz",
         user_ids=unique_user_ids, user_vectors=all_vectors(model.user_model, unique_user_ids),
         titles=unique_movie_titles, movie_vectors=all_vectors(model.movie_model, unique_movie_titles))
(EXPORT_DIR / "results.json").write_text(json.dumps({
    "run_id": RUN_ID, "test": {name: float(value) for name, value in test_metrics.items()},
    "training_seconds": training_seconds, "test_key": test_key, "source": source}, indent=1))
print(f"wrote {EXPORT_DIR}: bruteforce/ and scann/ (SavedModels), vectors.npz, results.json")
"""

SECTIONS = (
    Section("setup", "Imports", "TensorFlow Recommenders on Keras 2, and where this notebook writes.", SETUP),
    Section("data", "The data", "MovieLens ratings: who rated which movie, and the catalog of titles.", DATA),
    Section("split", "Train and test", "The run's split of the ratings into training and test.", SPLIT),
    Section("query", "The query tower", "A user id in, a vector out.", QUERY, QUERY_CLASS),
    Section("candidate", "The candidate tower", "A movie title in, a vector in the same space out.", CANDIDATE,
            CANDIDATE_CLASS),
    Section("task", "Metrics and task",
            "FactorizedTopK scores every test rating against the whole catalog; the Retrieval task is the loss.",
            TASK),
    Section("model", "The full model",
            "`tfrs.Model` with `compute_loss`: both towers, then the task.", MODEL),
    Section("fit", "Fitting", "Compile, batch, fit.", FIT),
    Section("evaluate", "Evaluating", "Test top-K accuracy among all movies, as the tutorial prints it.", EVALUATE),
    Section("bruteforce", "Making predictions", "A BruteForce index: the user tower, then every movie scored.",
            BRUTEFORCE),
    Section("savedmodel", "Model serving", "The index as a SavedModel: user ids in, titles out.", SAVEDMODEL),
    Section("scann", "Approximate retrieval with ScaNN", "The same index, approximate, saved with its custom ops.",
            SCANN),
    Section("export", "Take it home", "The vectors and the test figures, for the lab (or anyone) to check.",
            EXPORT),
)


BLOCKS = ("std_imports", "imports", "validation", "rating_index", "movie_stats", "user_tables", "user_init",
          "user_dropout", "user_features", "user_mlp", "user_projection", "user_methods", "user_call", "user_bias",
          "movie_tables", "movie_init", "movie_features", "movie_mlp", "movie_projection", "movie_bias", "task_pre",
          "task_args", "model_init", "evaluate_first", "rows", "rows_bias", "task_inputs", "task_call", "penalty",
          "penalty_total", "model_methods", "callbacks", "train_examples")  # empty in the tutorial
INLINES = ("read_fit", "user_call_args", "fit_args", "full_temperature", "validation_history")
DEFAULTS = {"validation_variants": "(every, unseen)", "encoder_dropout": "0.0"}


def tutorial(code) -> None:
    """Fill every hole with the TFRS tutorial's code (the levers then change what their setting needs)."""
    for slot in BLOCKS + INLINES:
        code.put(slot, "")
    code.put("order", """
        order = (tf.data.Dataset.range(len(ratings))  # the tutorial's shuffle (of row numbers: one for all columns)
                 .shuffle(len(ratings), seed=⟨seed⟩, reshuffle_each_iteration=False)
                 .batch(len(ratings)).get_single_element().numpy())""")
    code.put("fit_rows", "train_rows")
    code.put("candidates", "movie_model")
    for slot, value in DEFAULTS.items():
        code.put(slot, value)
    code.put("user_id_layer", "self.id_embedding = tf.keras.layers.Embedding(len(unique_user_ids) + 1, "
                              "embedding_dimension)")
    code.put("user_tower", "x = self.id_embedding(index)")
    code.put("embed", """
        user_embeddings = self.user_model(features["user_id"])
        positive_movie_embeddings = self.movie_model(features["movie_title"])""")
    code.put("loss", "loss = self.task(user_embeddings, positive_movie_embeddings, compute_metrics=not training)")
    # The tutorial caches after shuffling, so every epoch sees one order of batches; the lab draws a fresh
    # order every epoch (train.run_epoch), and so does the notebook: cache first, then shuffle.
    code.put("train_batches", "train.cache().shuffle(100_000, seed=⟨seed⟩).batch(⟨batch_size⟩)  "
                              "# a fresh order every epoch")
