"""Each lever of ``TrainConfig`` as the few lines of TFRS/Keras that express it.

One function per lever, registered under the lever's field name with ``@lever_code``. It
gets the run's config ``c`` and the notebook's ``Code`` (``recsys/notebook/slots.py``), in
which the TFRS tutorial's code already stands (``recsys/notebook/sections.py: tutorial``),
and writes what the run's value needs: the main settings always (``embedding_dimension =
32`` is the embedding-dimension slider), the other levers only when they are not at their
default. The maths is the lab's own (``recsys/model/two_tower.py``), written out in plain
Keras: the same loss, the same towers, the same initial values, so that the notebook
reproduces the run's numbers up to the seed. ``tests/test_notebook.py`` fails when a field of
``TrainConfig`` has no entry here, so a new lever brings its code with it.

Where a lever could not be written in plain TFRS code, its entry says so with ``caveat``; the
notebook lists those in its first cell and ``bench notebook`` shows the difference.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from recsys.config import TrainConfig


@dataclass(frozen=True)
class LeverCode:
    write: Callable          # (config, code) -> None: the lines of the lever's value
    caveat: Callable | None = None  # (config) -> str | None: what plain TFRS code cannot do of it


ENTRIES: dict[str, LeverCode] = {}


def lever_code(name: str, caveat: Callable | None = None):
    """Register the decorated ``write(c, code)`` as the code of lever ``name``."""
    def register(write):
        ENTRIES[name] = LeverCode(write, caveat)
        return write
    return register


def sampled(c: TrainConfig) -> bool:
    """Whether the loss is the tutorial's in-batch softmax (else the whole catalog is scored: nothing sampled)."""
    return not (c.full_softmax or getattr(c, "multinomial", False))


# ----------------------------------------------------------------------------- pieces several levers share


def rating_positions(code) -> None:
    code.add("rating_index", """
        # Each rating's user and title as positions in the towers' vocabularies (their StringLookup index is one more).
        user_pos = np.searchsorted(unique_user_ids, ratings["user_id"].to_numpy(str))
        title_pos = np.searchsorted(unique_movie_titles, ratings["movie_title"].to_numpy(str))""")


def movie_probability(code) -> None:
    code.add("movie_stats", """
        # P(movie): each title's share of the training ratings (row 0: a title the lookup does not know).
        title_counts = pd.Series(ratings["movie_title"].to_numpy(str)[⟨fit_rows⟩]).value_counts()
        movie_probability = np.concatenate(
            [[0.0], title_counts.reindex(unique_movie_titles, fill_value=0).to_numpy() / len(⟨fit_rows⟩)]
        ).astype(np.float32)""")


def title_lookup(code) -> None:
    code.add("model_init", "self.title_lookup = tf.keras.layers.StringLookup(vocabulary=unique_movie_titles, "
                           "mask_token=None)")


def zero_user_ids(code) -> None:
    """User ids start at 0 (not Keras' random start): an id never trained (a user with no ratings) stays the
    zero vector, the stranger that the movie bias and id dropout prepare for."""
    code.put("user_id_layer", """
        self.id_embedding = tf.keras.layers.Embedding(len(unique_user_ids) + 1, embedding_dimension,
                                                      embeddings_initializer="zeros")  # unseen users: 0""")


def task_argument(code, text: str) -> None:
    """One more argument of the task's call (the call then takes a line per argument)."""
    code.add("task_call", text)
    code.put("loss", """
        loss = self.task(
            user_embeddings, positive_movie_embeddings,
            ⟪task_call⟫
            compute_metrics=not training)""")


def distinct_rows(code) -> None:
    """Each user and movie of the batch through its tower once, as the lab does: a user's id dropout and the
    L2 penalty count per user of the batch, not per rating."""
    code.put("embed", """
        users, user_of_row = tf.unique(features["user_id"])  # each user and each movie of the batch once
        titles, title_of_row = tf.unique(features["movie_title"])
        user_vectors = self.user_model(users, training=training)
        movie_vectors = self.movie_model(titles, training=training)
        user_embeddings = tf.gather(user_vectors, user_of_row)
        positive_movie_embeddings = tf.gather(movie_vectors, title_of_row)""")


def projection(code, side: str) -> None:
    """A last linear layer back to ``embedding_dimension`` after features or an MLP (the lab's ``projection``)."""
    code.add(f"{side}_init", "self.projection = tf.keras.layers.Dense(embedding_dimension)")
    code.put(f"{side}_projection", "x = self.projection(x)")


# ----------------------------------------------------------------------------- the main settings


@lever_code("embedding_dim")
def _embedding_dim(c, code):
    code.put("embedding_dim", str(c.embedding_dim))


@lever_code("epochs")
def _epochs(c, code):
    code.put("epochs", str(c.epochs))


@lever_code("learning_rate")
def _learning_rate(c, code):
    code.put("learning_rate", f"{c.learning_rate:g}")


@lever_code("batch_size")
def _batch_size(c, code):
    code.put("batch_size", str(c.batch_size))


@lever_code("optimizer")
def _optimizer(c, code):
    code.put("optimizer", {"adagrad": "Adagrad", "adam": "Adam"}[c.optimizer])


@lever_code("split")
def _split(c, code):
    if c.split == "random":
        code.put("order", """
            order = (tf.data.Dataset.range(len(ratings))  # the tutorial's shuffle (of row numbers: one for all columns)
                     .shuffle(len(ratings), seed=⟨seed⟩, reshuffle_each_iteration=False)
                     .batch(len(ratings)).get_single_element().numpy())""")
    else:
        code.put("order", 'order = np.argsort(ratings["timestamp"].to_numpy(), kind="stable")  '
                          '# oldest first: the test ratings are the latest')


@lever_code("seed")
def _seed(c, code):
    code.put("seed", str(c.seed))


@lever_code("popularity_correction")
def _popularity_correction(c, code):
    if not c.popularity_correction or not sampled(c):  # scoring the whole catalog samples nothing to correct
        return
    movie_probability(code)
    title_lookup(code)
    code.add("task_inputs", """
        # log-Q: the task takes log P(movie) off every score
        probability = tf.gather(movie_probability, self.title_lookup(features["movie_title"]))""")
    task_argument(code, "candidate_sampling_probability=probability,")


# ----------------------------------------------------------------------------- the other levers


@lever_code("variant")
def _variant(c, code):
    code.put("variant", c.variant)


@lever_code("split_fraction")
def _split_fraction(c, code):
    code.put("split_fraction", f"{c.split_fraction:g}")


@lever_code("validation_fraction")
def _validation_fraction(c, code):
    if not c.validation_fraction:
        return
    code.put("validation_fraction", f"{c.validation_fraction:g}")
    code.add("imports", "import scipy.sparse", credit=False)
    code.put("validation", """
        n_val = round(len(train_rows) * ⟨validation_fraction⟩)  # the last of the training ratings (temporal: latest)
        fit_rows, val_rows = train_rows[:len(train_rows) - n_val], train_rows[len(train_rows) - n_val:]""")
    code.put("fit_rows", "fit_rows")
    rating_positions(code)
    code.put("callbacks", '''
        fit_seen = scipy.sparse.csr_array((np.ones(len(fit_rows), bool), (user_pos[fit_rows], title_pos[fit_rows])),
                                          shape=(len(unique_user_ids), len(unique_movie_titles)))


        def ranks(user_vectors, movie_vectors, users, titles, seen, batch=4096):
            """Rank of each (user, title) among all titles, and among the titles the user did not rate (0 = top)."""
            every, unseen = [], []
            for start in range(0, len(users), batch):
                u, t = users[start:start + batch], titles[start:start + batch]
                scores = user_vectors[u] @ movie_vectors.T
                higher = scores > scores[np.arange(len(u)), t][:, None]
                every.append(higher.sum(axis=1))
                unseen.append((higher & ~seen[u].toarray()).sum(axis=1))
            return np.concatenate(every), np.concatenate(unseen)


        class KeepBestEpoch(tf.keras.callbacks.Callback):
            """Score the validation slice after every epoch; when training ends, keep the best epoch's weights."""

            def on_train_begin(self, logs=None):
                self.best_score, self.best_epoch, self.best_weights = -1.0, 0, None

            def on_epoch_end(self, epoch, logs=None):
                user_vectors = self.model.user_model(tf.constant(unique_user_ids)⟨validation_history⟩).numpy()
                movie_vectors = self.model.movie_model(tf.constant(unique_movie_titles)).numpy()
                every, unseen = ranks(user_vectors, movie_vectors, user_pos[val_rows], title_pos[val_rows], fit_seen)
                score = sum(np.mean(r < k) for r in ⟨validation_variants⟩ for k in (10, 100))  # top-10 + top-100
                print(f"epoch {epoch + 1}: validation top-100 {np.mean(unseen < 100):.4f} (seen removed), "
                      f"{np.mean(every < 100):.4f} (all movies)")
                if score > self.best_score:
                    self.best_score, self.best_epoch, self.best_weights = score, epoch + 1, self.model.get_weights()

            def on_train_end(self, logs=None):
                self.model.set_weights(self.best_weights)
                print(f"kept epoch {self.best_epoch} of {self.params['epochs']}: the best on the validation slice")

''')
    code.add("fit_args", ", KeepBestEpoch()", sep="")


@lever_code("l2")
def _l2(c, code):
    if not c.l2:
        return
    distinct_rows(code)
    code.put("l2", f"{c.l2:g}")
    code.put("penalty", """
        penalty = tf.reduce_sum(tf.square(user_vectors[:, :embedding_dimension]))  # the batch's users
        penalty += tf.reduce_sum(tf.square(movie_vectors[:, :embedding_dimension]))  # and movies""")
    code.put("penalty_total", "loss += ⟨l2⟩ * penalty")


@lever_code("user_features")
def _user_features(c, code):
    if not c.user_features:
        return
    code.put("query_class", "yes")
    code.add("user_tables", """
        # Side features, one row per user in the lookup's order (row 0: an unknown user), constant per user.
        AGE_BUCKETS = [1, 18, 25, 35, 45, 50, 56]  # MovieLens' age groups
        users = ratings.groupby("user_id").agg(age=("user_age", "first"), gender=("user_gender", "first"),
                                               occupation=("user_occupation", "first"),
                                               first_rating=("timestamp", "min")).reindex(unique_user_ids)
        pad = lambda values: np.concatenate([[0], values]).astype(np.int32)
        user_age = pad(np.searchsorted(AGE_BUCKETS, users["age"].to_numpy(), side="right"))
        user_gender = pad((users["gender"].to_numpy() == "M") + 1)
        user_occupation = pad(pd.Categorical(users["occupation"]).codes + 1)
        # When the user joined: their first rating, from 0 (the first in the data) to 1 (the last).
        times = ratings["timestamp"].to_numpy(np.float64)
        joined = (users["first_rating"].to_numpy(np.float64) - times.min()) / max(times.max() - times.min(), 1.0)
        user_joined = np.concatenate([[0.0], joined]).astype(np.float32)[:, None]""")
    if not user_tower(c):  # no id: the history encoder reads the features, as tokens (see history_encoder)
        return
    code.add("user_init", """
        small = max(4, embedding_dimension // 4)
        self.age = tf.keras.layers.Embedding(int(user_age.max()) + 1, small)
        self.gender = tf.keras.layers.Embedding(int(user_gender.max()) + 1, small)
        self.occupation = tf.keras.layers.Embedding(int(user_occupation.max()) + 1, small)
        self.joined = tf.keras.layers.Dense(embedding_dimension, use_bias=False)""")
    first = "x, " if c.user_id else ""
    code.put("user_features", f"""
        x = tf.concat([{first}self.age(tf.gather(user_age, index)), self.gender(tf.gather(user_gender, index)),
                       self.occupation(tf.gather(user_occupation, index)),
                       self.joined(tf.gather(user_joined, index))], axis=1)""")
    projection(code, "user")


@lever_code("movie_features")
def _movie_features(c, code):
    if not c.movie_features:
        return
    code.put("candidate_class", "yes")
    code.add("std_imports", "import re", credit=False)
    code.add("movie_tables", """
        # Side features, one row per title in the lookup's order (row 0: an unknown title).
        title_genres = catalog.drop_duplicates("movie_title").set_index("movie_title")["movie_genres"]
        title_genres = title_genres.reindex(unique_movie_titles).fillna("")
        genre_names = sorted({g for gs in title_genres for g in gs.split("|") if g})
        movie_genres = np.zeros((len(unique_movie_titles) + 1, len(genre_names)), np.float32)  # multi-hot
        for row, gs in enumerate(title_genres, start=1):
            for g in gs.split("|"):
                if g:
                    movie_genres[row, genre_names.index(g)] = 1.0
        words = [re.findall(r"[a-z0-9']+", title.lower())[:12] for title in unique_movie_titles]
        vocabulary = {w: i + 1 for i, w in enumerate(sorted({w for ws in words for w in ws}))}  # 0: padding
        title_words = np.zeros((len(unique_movie_titles) + 1, 12), np.int32)
        for row, ws in enumerate(words, start=1):
            title_words[row, :len(ws)] = [vocabulary[w] for w in ws]""")
    code.add("movie_init", """
        self.genres = tf.keras.layers.Dense(embedding_dimension, use_bias=False)
        self.words = tf.keras.layers.Embedding(len(vocabulary) + 1, embedding_dimension, mask_zero=True)""")
    code.put("movie_features", """
        tokens = tf.gather(title_words, index)
        mask = tf.cast(tokens > 0, tf.float32)[..., None]  # the mean of the title's word vectors
        words = tf.reduce_sum(self.words(tokens) * mask, axis=-2) / tf.maximum(tf.reduce_sum(mask, axis=-2), 1.0)
        x = tf.concat([x, self.genres(tf.gather(movie_genres, index)), words], axis=1)""")
    projection(code, "movie")


@lever_code("deep_layers")
def _deep_layers(c, code):
    if not c.deep_layers:
        return
    sizes = ", ".join(map(str, c.deep_layers)) + ("," if len(c.deep_layers) == 1 else "")
    code.put("deep_layers", sizes)
    for side in ("user", "movie") if user_tower(c) else ("movie",):
        code.put("query_class" if side == "user" else "candidate_class", "yes")
        code.add(f"{side}_init", "self.mlp = [tf.keras.layers.Dense(size, activation=\"relu\") "
                                 "for size in (⟨deep_layers⟩)]")
        code.put(f"{side}_mlp", """
            for layer in self.mlp:
                x = layer(x)""")
        projection(code, side)


@lever_code("remove_accidental_hits")
def _remove_accidental_hits(c, code):
    if not c.remove_accidental_hits or not sampled(c):
        return
    code.put("task_pre", "title_ids = tf.keras.layers.StringLookup(vocabulary=unique_movie_titles, mask_token=None)"
                         "  # titles as numbers")
    code.add("task_args", "remove_accidental_hits=True,")
    task_argument(code, 'candidate_ids=title_ids(features["movie_title"]),')
    # The task then checks the metrics by id: the candidates carry theirs.
    code.put("candidates", "lambda titles: (title_ids(titles), movie_model(titles))")


@lever_code("temperature")
def _temperature(c, code):
    if c.temperature == 1.0:
        return
    if sampled(c):
        code.add("task_args", f"temperature={c.temperature:g},")
    else:
        code.put("full_temperature", f" / {c.temperature:g}")


@lever_code("num_hard_negatives")
def _num_hard_negatives(c, code):
    if c.num_hard_negatives and sampled(c):
        code.add("task_args", f"num_hard_negatives={c.num_hard_negatives},")


def user_tower(c) -> bool:
    """Whether the user side has an id/feature tower (else it is only what the history encoder reads).

    With the history encoder the user features are tokens of the encoder's input, not a tower of their own.
    """
    return c.user_id or (c.user_features and not c.history_encoder)


def feature_tokens(c) -> bool:
    """The history encoder reads the user's features as four more entries of its input (the lab's ``inputs``)."""
    return c.history_encoder and c.user_features


def read_from(c) -> tuple[str, str]:
    """The names of what a user's history part reads while fitting and when serving."""
    return ("fit_inputs", "serving_inputs") if feature_tokens(c) else ("fit_history", "serving_history")


def rows_in_loss(c) -> bool:
    """Whether compute_loss assembles each row's user vector itself (from the tower and a history)."""
    return c.user_history or c.history_encoder or c.multinomial


def histories(code) -> None:
    """Each user's training movies as a ragged tensor: what a history is read from, and multinomial's targets."""
    rating_positions(code)
    code.add("user_tables", """

        def histories(rows, more=None):
            \"\"\"Each user's distinct movies in ``rows`` (and ``more``): ragged [users + 1, None] lookup indexes.\"\"\"
            pairs = pd.DataFrame({"user": user_pos[rows] + 1, "title": title_pos[rows] + 1}).drop_duplicates()
            pairs = pd.concat([pairs, more]).sort_values(["user", "title"])  # sorted: a row's movie is found by search
            return tf.RaggedTensor.from_value_rowids(pairs["title"].to_numpy(), pairs["user"].to_numpy(),
                                                     nrows=len(unique_user_ids) + 1)


        fit_history = histories(⟨fit_rows⟩)  # what training reads: the fitted ratings
        serving_history = histories(train_rows)  # all training ratings: what serving, and the test, read""")


def evaluate_on_serving_vectors(c, code) -> None:
    """compute_loss builds each training row's user from the *other* training movies; evaluate must score the
    users as served, from all their training movies (``user_model``), as the lab's evaluator does."""
    ids = 'candidate_ids=title_ids(features["movie_title"]), ' if c.remove_accidental_hits and sampled(c) else ""
    code.put("evaluate_first", f"""
        if not training:  # model.evaluate: FactorizedTopK on the users as served (all their training movies)
            return self.task(self.user_model(features["user_id"]), self.movie_model(features["movie_title"]),
                             {ids}compute_metrics=True)""")


def reads_history(c, code) -> None:
    """The user vector plus what the user's history says (``read``, written by the history lever)."""
    fit, serving = read_from(c)
    code.put("query_class", "yes")
    code.put("user_call_args", ", history=None")
    code.put("user_call", f"x = x + self.read(self.lookup(user_ids), {serving} if history is None else history, "
                          "training)")
    code.put("validation_history", f", history={fit}")


def a_history_lever(c, code) -> None:
    """What the two history levers share: the histories, the title lookup, the read, evaluation as served."""
    histories(code)
    title_lookup(code)
    reads_history(c, code)
    evaluate_on_serving_vectors(c, code)


@lever_code("movie_bias")
def _movie_bias(c, code):
    if not c.movie_bias:
        return
    code.put("query_class", "yes")
    code.put("candidate_class", "yes")
    movie_probability(code)
    zero_user_ids(code)
    code.add("movie_init", """
        # b_m, a learned score per movie, starts at log P(movie): the model starts as the popularity baseline.
        self.bias = tf.keras.layers.Embedding(len(unique_movie_titles) + 1, 1, embeddings_initializer=(
            tf.keras.initializers.Constant(np.log(np.clip(movie_probability, 1e-6, 1.0))[:, None])))""")
    code.put("movie_bias", "x = tf.concat([x, self.bias(self.lookup(titles))], axis=1)  # movies end in b_m")
    code.put("user_bias", "x = tf.concat([x, tf.ones_like(x[:, :1])], axis=1)  # users end in 1: u . m + b_m")
    if rows_in_loss(c):  # the rows' user vectors are assembled in compute_loss: they need the 1 too
        code.put("rows_bias", "user_embeddings = tf.concat([user_embeddings, tf.ones_like(user_embeddings[:, :1])], "
                              "axis=1)")


@lever_code("user_id_dropout")
def _user_id_dropout(c, code):
    if not c.user_id_dropout or not c.user_id:  # no id, nothing to drop
        return
    code.put("query_class", "yes")
    zero_user_ids(code)
    code.put("user_id_dropout", f"{c.user_id_dropout:g}")
    code.put("user_dropout", """
        if training:  # this share of the batch's users is trained without its id, as if never seen
            x = x * tf.cast(tf.random.uniform(tf.shape(index)) >= ⟨user_id_dropout⟩, x.dtype)[:, None]
        else:  # serving: the id at its average weight in training (classic dropout)
            x = x * (1.0 - ⟨user_id_dropout⟩)""")
    distinct_rows(code)


@lever_code("full_softmax")
def _full_softmax(c, code):
    if not c.full_softmax:
        return
    title_lookup(code)
    code.add("model_init", "self.catalog = tf.constant(unique_movie_titles)")
    code.put("loss", """
        all_movie_embeddings = self.movie_model(self.catalog, training=training)  # the whole catalog, every step
        scores = tf.matmul(user_embeddings, all_movie_embeddings, transpose_b=True)⟨full_temperature⟩
        positive = tf.gather(scores, self.title_lookup(features["movie_title"]) - 1, batch_dims=1)
        loss = tf.reduce_sum(tf.reduce_logsumexp(scores, axis=1) - positive)
        if not training:  # model.evaluate: FactorizedTopK over the catalog, as the tutorial
            self.task(user_embeddings, positive_movie_embeddings, compute_metrics=True)""")


@lever_code("user_history")
def _user_history(c, code):
    if not c.user_history:
        return
    a_history_lever(c, code)
    code.add("user_init", """
        self.history_embedding = tf.keras.layers.Embedding(len(unique_movie_titles) + 1, embedding_dimension,
                                                           embeddings_initializer="zeros")""")
    code.put("user_methods", '''

        def history_sum(self, index, history):
            """Sum of the learned vector h_c over each user's movies c in ``history``."""
            return tf.reduce_sum(tf.ragged.map_flat_values(self.history_embedding, tf.gather(history, index)), axis=1)

        def read(self, index, history, training=False):
            """The mean of h_c over each user's movies c in ``history``."""
            count = tf.cast(tf.maximum(tf.gather(history.row_lengths(), index), 1), tf.float32)
            return self.history_sum(index, history) / count[:, None]''')
    code.put("embed", TOWER_ROWS)
    code.put("rows", """
        # Each row's user: the tower's vector plus the mean h over the user's *other* training movies.
        user_index = tf.gather(self.user_model.lookup(users), user_of_row)
        sums = tf.gather(self.user_model.history_sum(self.user_model.lookup(users), fit_history), user_of_row)
        own = self.user_model.history_embedding(self.title_lookup(features["movie_title"]))
        others = tf.maximum(tf.cast(tf.gather(fit_history.row_lengths(), user_index), tf.float32) - 1.0, 1.0)
        user_embeddings = tf.gather(user_vectors, user_of_row) + (sums - own) / others[:, None]""")


TOWER_ROWS = """
    users, user_of_row = tf.unique(features["user_id"])  # each user and each movie of the batch once
    titles, title_of_row = tf.unique(features["movie_title"])
    user_vectors = self.user_model.tower(users, training=training)  # the id/feature part (the history comes below)
    movie_vectors = self.movie_model(titles, training=training)
    positive_movie_embeddings = tf.gather(movie_vectors, title_of_row)"""

ENCODER = '''

class HistoryEncoder(tf.keras.layers.Layer):
    """A user's movies as a multi-hot vector x at length 1, through x/||x|| W_1 + b_1 (then tanh and Dense layers)."""

    def __init__(self, widths, dropout=0.0):
        super().__init__()
        # W_1 as an embedding: row c is input c's row (a movie, or a feature token), summed per user below.
        self.first = tf.keras.layers.Embedding(EMBEDDING_ROWS, widths[0])
        self.first_bias = self.add_weight(name="b0", shape=[widths[0]], initializer="zeros")
        self.rest = [tf.keras.layers.Dense(width) for width in widths[1:]]
        self.dropout = dropout

    def keep(self, movies, training=False):
        """Each input movie's weight: while training 0 (hidden) or 1/(1 - p) (inverted dropout), else 1."""
        if training and self.dropout:
            kept = tf.cast(tf.random.uniform(tf.shape(movies.flat_values)) >= self.dropout, tf.float32)
            return kept / (1.0 - self.dropout)
        return tf.ones(tf.shape(movies.flat_values), tf.float32)

    def bag(self, movies, keep):
        """x/||x|| W_1: the rows of W_1 of each user's movies, times their weight, summed, over sqrt(how many)."""
        scale = tf.gather(tf.math.rsqrt(tf.maximum(tf.cast(movies.row_lengths(), tf.float32), 1.0)),
                          movies.value_rowids())
        rows = self.first(movies.flat_values) * (keep * scale)[:, None]
        return tf.reduce_sum(movies.with_flat_values(rows), axis=1)

    def finish(self, h):
        """+ b_1, then the hidden layers (tanh in between; the last layer is linear)."""
        h = h + self.first_bias
        for layer in self.rest:
            h = layer(tf.tanh(h))
        return h

    def call(self, movies, training=False):
        """movies: ragged [users, None] lookup indexes -> [users, embedding_dimension]."""
        return self.finish(self.bag(movies, self.keep(movies, training)))

    def leave_one_out(self, lists, user_of_row, titles, training=False):
        """Per row: the encoding of its user's list without the row's own movie (one dropout draw per user)."""
        keep = self.keep(lists, training)
        bags = self.bag(lists, keep)
        n_titles = tf.cast(self.first.input_dim, tf.int64)
        user_of_row, titles = tf.cast(user_of_row, tf.int64), tf.cast(titles, tf.int64)
        keys = lists.value_rowids() * n_titles + tf.cast(lists.flat_values, tf.int64)  # sorted: lists are sorted
        own_keep = tf.gather(keep, tf.searchsorted(keys, user_of_row * n_titles + titles))
        n = tf.gather(tf.cast(lists.row_lengths(), tf.float32), user_of_row)
        own = self.first(titles) * own_keep[:, None]
        rows = tf.gather(bags, user_of_row) * tf.sqrt(n)[:, None] - own  # the sum of the others' rows
        return self.finish(rows * tf.math.rsqrt(tf.maximum(n - 1.0, 1.0))[:, None])

    def kernels(self):
        """The weight matrices, for the L2 penalty (row 0 of W_1, the unknown title, is never used)."""
        return [self.first.embeddings[1:]] + [layer.kernel for layer in self.rest]'''


@lever_code("history_encoder")
def _history_encoder(c, code):
    if not c.history_encoder:
        return
    a_history_lever(c, code)
    fit, _ = read_from(c)
    inputs = "len(unique_movie_titles) + 1"
    if feature_tokens(c):
        inputs += " + n_tokens"
        code.add("user_tables", """

            # The user's features as four tokens of the encoder's input, after the titles: age bucket, gender,
            # occupation and which eighth of the data's time span they joined in (a user without ratings has these).
            offsets = np.cumsum([0, len(AGE_BUCKETS) + 1, 3, int(user_occupation.max()) + 1])
            joined_eighth = np.minimum((user_joined[1:, 0] * 8).astype(np.int64), 7)
            user_tokens = offsets + np.stack([user_age, user_gender, user_occupation, [0, *joined_eighth]], axis=1)[1:]
            n_tokens = offsets[-1] + 8
            token_pairs = pd.DataFrame({"user": np.repeat(np.arange(1, len(unique_user_ids) + 1), 4),
                                        "title": len(unique_movie_titles) + 1 + user_tokens.ravel()})
            fit_inputs = histories(⟨fit_rows⟩, token_pairs)  # what the encoder reads: movies, then features
            serving_inputs = histories(train_rows, token_pairs)""")
    code.add("user_tables", ENCODER.replace("EMBEDDING_ROWS", inputs))
    widths = "".join(f"{size}, " for size in c.deep_layers)
    code.add("user_init", f"self.encoder = HistoryEncoder([{widths}embedding_dimension], dropout=⟨encoder_dropout⟩)")
    code.put("user_methods", '''

        def read(self, index, history, training=False):
            """The history encoder on what each user's row of ``history`` holds."""
            return self.encoder(tf.gather(history, index), training=training)''')
    code.put("read_fit", fit)
    code.put("embed", TOWER_ROWS)
    code.put("rows", """
        # Each row's user: the tower's vector plus the encoder of the user's *other* training movies.
        lists = tf.gather(⟨read_fit⟩, self.user_model.lookup(users))
        user_embeddings = tf.gather(user_vectors, user_of_row) + self.user_model.encoder.leave_one_out(
            lists, user_of_row, self.title_lookup(features["movie_title"]), training=training)""")
    if c.l2:
        code.add("penalty", "penalty += tf.add_n([tf.reduce_sum(tf.square(w)) for w in "
                            "self.user_model.encoder.kernels()])  # its weights")


@lever_code("history_dropout")
def _history_dropout(c, code):
    if c.history_dropout and c.history_encoder:
        code.put("encoder_dropout", f"{c.history_dropout:g}")


@lever_code("user_id")
def _user_id(c, code):
    if c.user_id:
        return
    code.put("query_class", "yes")
    code.put("user_id_layer", "")
    if user_tower(c):  # the features alone describe the user
        code.put("user_tower", "")
    else:  # no tower at all: the user is what the history encoder reads
        code.put("user_tower", "x = tf.zeros([tf.shape(index)[0], embedding_dimension])  # no id, no feature tower")


@lever_code("multinomial")
def _multinomial(c, code):
    if not c.multinomial:
        return
    histories(code)
    code.put("query_class", "yes")  # the loss reads the tower and the history apart
    code.add("model_init", "self.catalog = tf.constant(unique_movie_titles)")
    reads = c.user_history or c.history_encoder
    history = f" + self.user_model.read(index, {read_from(c)[0]}, training)" if reads else ""
    evaluate_on_serving_vectors(c, code)  # test batches are ratings, not users
    code.put("embed", f"""
        users = features["user_id"]  # a batch of users, each with all of its training movies as targets
        index = self.user_model.lookup(users)
        targets = tf.gather(fit_history, index)  # ragged [users, None]
        user_vectors = self.user_model.tower(users, training=training)
        user_embeddings = user_vectors{history}""")
    code.put("rows", "")
    code.put("loss", """
        movie_vectors = self.movie_model(self.catalog, training=training)  # the whole catalog, every step
        scores = tf.matmul(user_embeddings, movie_vectors, transpose_b=True)⟨full_temperature⟩
        positive = tf.gather_nd(scores, tf.stack([targets.value_rowids(), targets.flat_values - 1], axis=1))
        # -sum over the user's movies of log softmax = |H_u| log sum_c exp s(u, c) - sum_{m in H_u} s(u, m)
        loss = tf.reduce_sum(tf.reduce_logsumexp(scores, axis=1) * tf.cast(targets.row_lengths(), tf.float32))
        loss -= tf.reduce_sum(positive)""")
    code.put("validation_variants", "(unseen,)")  # it rebuilds the history: judged with seen movies removed
    code.put("train_examples", '''
        # One example per user with training ratings; a batch takes users until their ratings reach the batch size.
        fit_users = np.unique(user_pos[⟨fit_rows⟩])
        fit_sizes = fit_history.row_lengths().numpy()[fit_users + 1]
        batch_order = np.random.default_rng(⟨seed⟩)


        def user_batches():
            """A fresh order of the users every epoch (Keras calls this once per epoch)."""
            order = batch_order.permutation(len(fit_users))
            step_of = (np.cumsum(fit_sizes[order]) - fit_sizes[order]) // ⟨batch_size⟩
            for rows in np.split(order, np.flatnonzero(np.diff(step_of)) + 1):
                yield {"user_id": unique_user_ids[fit_users[rows]]}

''')
    code.put("train_batches", "tf.data.Dataset.from_generator(\n"
                              '    user_batches, output_signature={"user_id": tf.TensorSpec([None], tf.string)})')
