"""``TrainConfig``: the one description of a training run, and of every setting in it.

Each field of ``TrainConfig`` carries its ``Lever``: a label, one line of help, its range
or choices, the widget that shows it, whether it is always in view (and in the URL), the
values a sweep offers and a short tag for run labels. Everything that presents a setting is
generated from that one description:

    the CLI's flags (``recsys/cli/flags.py``), the Train page's widgets and help
    (``app_pages/levers.py``, on the Train tabs), a link's parameters (``recsys/ui/links.py``), the sweep's axes
    (``recsys/experiments/sweep.py``) and a run's label (``TrainConfig.label``).

Adding a lever means adding one field here (with its ``lever(...)``) and the model code
that reads it; a field without a lever fails at import. ``runs.run_id`` hashes the settings
that differ from the defaults, so a new lever whose default keeps the old behaviour leaves
every saved run findable. Ranges are checked here, once, with messages meant for users.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from .errors import UserError

OPTIMIZERS = ("adagrad", "adam")
SPLITS = ("random", "temporal")
MOVIELENS_SIZES = ("100k", "1m", "20m", "25m")       # the dataset of a run (recsys.data loads them)
SOURCES = ("auto", "tfds", "grouplens", "packaged")  # where recsys.data finds them
KS = (1, 5, 10, 50, 100)
MAX_LAYER = 1024  # largest hidden size of the towers' MLP

KINDS = ("int", "float", "bool", "choice", "layers")
WIDGETS = ("slider", "select_slider", "number", "toggle", "select", "text")


@dataclass(frozen=True)
class Lever:
    """How one setting is shown, read and swept. ``kind`` types it, ``widget`` draws it.

    ``range``: (lo, hi) of a number; ``choices``: the words a "choice" may take;
    ``step``/``format``: the number widget's; ``stops``: a select-slider's log-spaced stops;
    ``main``: in view on the Train page (not under "More levers") and always in the URL;
    ``sweep``: the values a sweep offers (empty: not an axis); ``tag``: how a run label marks
    a non-default value (``{}`` is replaced by the value; empty: the main settings, which
    the label always shows).
    """

    label: str
    help: str
    kind: str
    widget: str
    range: tuple | None = None
    choices: tuple = ()
    step: float | None = None
    format: str | None = None
    stops: tuple = ()
    main: bool = False
    sweep: tuple = ()
    tag: str = ""

    def __post_init__(self):
        if self.kind not in KINDS or self.widget not in WIDGETS:
            raise ValueError(f"lever {self.label!r}: kind {self.kind!r} / widget {self.widget!r} unknown")
        if self.kind in ("int", "float") and self.range is None:
            raise ValueError(f"lever {self.label!r}: a number needs its range")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"lever {self.label!r}: a choice needs its choices")


def lever(default, **spec) -> object:
    """A settings field (``TrainConfig``, ``ItemToItemConfig``) with its default and its ``Lever`` (see the class)."""
    return field(default=default, metadata={"lever": Lever(**spec)})


def levers_of(cls) -> dict[str, Lever]:
    """``{field name: Lever}`` of a settings class, in field order; ``TypeError`` for a field without one."""
    missing = [f.name for f in fields(cls) if "lever" not in f.metadata]
    if missing:
        raise TypeError(f"{cls.__name__} fields without a lever(...): {', '.join(missing)}")
    return {f.name: f.metadata["lever"] for f in fields(cls)}


class Settings:
    """What every settings dataclass shares (``TrainConfig``, ``ItemToItemConfig``): its levers do the work."""

    @classmethod
    def levers(cls) -> dict[str, Lever]:
        return levers_of(cls)

    def validate(self):
        """Return self if every number is in its range and every choice one of its choices, else ``UserError``."""
        for name, spec in self.levers().items():
            v = getattr(self, name)
            if spec.kind in ("int", "float"):
                lo, hi = spec.range
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
                    raise UserError(f"{name} must be between {lo} and {hi}, got {v!r}")
            elif spec.kind == "choice" and v not in spec.choices:
                raise UserError(f"{name} must be one of {', '.join(spec.choices)}, got {v!r}")
        return self

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a dict (saved run, JSON); unknown keys are ignored."""
        levers = cls.levers()
        kw = {k: (tuple(int(x) for x in v) if levers[k].kind == "layers" else v)
              for k, v in d.items() if k in levers}
        return cls(**kw)

    def identity(self) -> dict:
        """The settings that differ from the defaults: what makes this run this run.

        Leaving defaults out keeps ids stable when a new lever is added later (its default
        reproduces the old behaviour), so saved runs stay findable across versions.
        """
        defaults = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if defaults.get(k, object()) != v}

    def tags(self) -> list[str]:
        """The ``Lever.tag`` of every setting that is not the default, each once, in field order."""
        out, defaults = [], type(self)()
        for name, spec in self.levers().items():
            value = getattr(self, name)
            if spec.tag and value != getattr(defaults, name):
                tag = spec.tag.format(value)
                if tag not in out:  # user and movie features share "feat"
                    out.append(tag)
        return out

    def with_(self, **changes):
        return replace(self, **changes)

    def split_of(self) -> tuple:
        """``(variant, split, split_fraction, seed)``: runs sharing it are scored on the same held-out ratings."""
        return (self.variant, self.split, self.split_fraction, self.seed)


LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384)
RANKING_BATCH_SIZES = (64, 128) + BATCH_SIZES


# The levers the settings classes share, each declared once: its label, kind, widget and range are
# the same in every class; a class gives its default and its help, and adds what is its own (a
# sweep, a tag, ``main``). The field order, which the widgets and the run labels follow, is each class's.


def embedding_dim_lever(hi: int, help: str, lo: int = 8, **more):
    return lever(32, label="Embedding dimension", kind="int", widget="slider", range=(lo, hi), main=True,
                 help=help, **more)


def epochs_lever(default: int, help: str, **more):
    return lever(default, label="Epochs", kind="int", widget="slider", range=(1, 100), main=True, help=help, **more)


def learning_rate_lever(default: float, help: str = "Step size of the optimizer.", **more):
    return lever(default, label="Learning rate", kind="float", widget="select_slider", range=(1e-4, 10.0),
                 stops=LEARNING_RATES, main=True, help=help, **more)


def batch_size_lever(default: int, help: str, stops: tuple = BATCH_SIZES, **more):
    """The range is the stops': from the smallest to the largest."""
    return lever(default, label="Batch size", kind="int", widget="select_slider", range=(stops[0], stops[-1]),
                 stops=stops, main=True, help=help, **more)


def optimizer_lever(default: str, help: str):
    return lever(default, label="Optimizer", kind="choice", widget="select", choices=OPTIMIZERS, main=True, help=help)


def split_lever(help: str, main: bool = True, **more):
    return lever("random", label="Split", kind="choice", widget="select", choices=SPLITS, main=main, help=help,
                 **more)


def seed_lever(help: str = "Fixes the split, the initial weights and the batch order: the same seed gives the same "
                           "run.", main: bool = True, **more):
    return lever(42, label="Seed", kind="int", widget="number", range=(0, 2**31 - 1), step=1, main=main, help=help,
                 **more)


def variant_lever(help: str = "Which MovieLens to train on (as for the retrieval model)."):
    return lever("100k", label="Dataset (MovieLens size)", kind="choice", widget="select", choices=MOVIELENS_SIZES,
                 tag="ml-{}", help=help)


def split_fraction_lever():
    return lever(0.8, label="Training share", kind="float", widget="slider", range=(0.5, 0.95), step=0.05,
                 tag="train{:g}", help="Share of ratings used for training; the rest is the test set.")


def validation_fraction_lever(default: float, tag: str, help: str, **more):
    return lever(default, label="Validation slice", kind="float", widget="slider", range=(0.0, 0.3), step=0.05,
                 tag=tag, help=help, **more)


def l2_lever(help: str, hi: float = 1.0, step: float = 1e-4, format: str = "%.5f", **more):
    return lever(0.0, label="L2 penalty", kind="float", widget="number", range=(0.0, hi), step=step, format=format,
                 tag="l2", help=help, **more)


def popularity_correction_lever(default: bool, tag: str, help: str, **more):
    return lever(default, label="Popularity correction (log-Q)", kind="bool", widget="toggle", tag=tag, help=help,
                 **more)


def user_features_lever(help: str):
    return lever(False, label="User features", kind="bool", widget="toggle", tag="feat", help=help)


def movie_features_lever(help: str):
    return lever(False, label="Movie features", kind="bool", widget="toggle", tag="feat", help=help)


@dataclass(frozen=True)
class TrainConfig(Settings):
    """Hyperparameters of a two-tower retrieval run (defaults = the TFRS tutorial)."""

    # The main settings: always in view and in the URL. Defaults are the tutorial's.
    embedding_dim: int = embedding_dim_lever(
        1024, sweep=(8, 16, 32, 64, 128, 256, 512),
        help="Length of the user and movie vectors: more room to describe tastes, more to overfit.")
    epochs: int = epochs_lever(
        3, sweep=(1, 2, 3, 5, 10, 20),
        help="Passes over the training ratings. The chart shows whether more would help.")
    learning_rate: float = learning_rate_lever(
        0.1, sweep=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
        help="Step size of the optimizer. Too high and the loss diverges, too low and nothing is learned.")
    batch_size: int = batch_size_lever(
        8192, sweep=(1024, 2048, 4096, 8192, 16384),
        help="Ratings per step. In-batch softmax uses the other rows' movies as negatives, so larger batches "
             "mean more (and more popular) negatives.")
    optimizer: str = optimizer_lever(
        "adagrad", help="Adagrad (the tutorial's) adapts the step per embedding row; Adam adds momentum.")
    split: str = split_lever(
        help="Random: test ratings are a random 20 %. Temporal: the test set is the most recent ratings, "
             "which is harder and closer to real use.")
    seed: int = seed_lever(sweep=(0, 1, 2, 42))
    popularity_correction: bool = popularity_correction_lever(
        False, tag="logQ", main=True,
        help="Log-Q correction: subtract log P(movie in a batch) from each score, so popular movies are not "
             "over-penalised for being everyone's negative.")
    # Levers the tutorial does not pull (all off in the tutorial preset): under "More levers".
    variant: str = variant_lever(
        help="Which MovieLens to train on. 100k is built in; 1m, 20m and 25m need the GroupLens files "
             "(python -m recsys data --variant 1m --path ml-1m.zip) or tensorflow-datasets.")
    split_fraction: float = split_fraction_lever()
    validation_fraction: float = validation_fraction_lever(
        0.0, tag="val", sweep=(0.0, 0.1, 0.2),
        help="Hold out this slice of the training ratings and keep the epoch that does best on it "
             "(0 = keep the last epoch).")
    l2: float = l2_lever(
        sweep=(0.0, 1e-4, 1e-3, 1e-2),
        help="Penalty on the size of the embeddings used in each batch: pulls rarely seen users and movies "
             "toward 0.")
    user_features: bool = user_features_lever(
        help="Feed age, gender, occupation and when they joined (their first rating) into the user tower "
             "beside the user id. With the history encoder they are four more inputs of the encoder, beside the "
             "user's movies.")
    movie_features: bool = movie_features_lever(
        help="Feed genres and title words into the movie tower beside the title.")
    deep_layers: tuple = lever(
        (), label="MLP layers", kind="layers", widget="text", tag="deep",
        help="Hidden layer sizes of an MLP on top of each tower, e.g. 64,32 (empty: no MLP).")
    remove_accidental_hits: bool = lever(
        False, label="Remove accidental hits", kind="bool", widget="toggle", tag="noacc",
        help="Do not count a row's own movie as a negative when another row of the batch holds it.")
    temperature: float = lever(
        1.0, label="Temperature", kind="float", widget="number", range=(0.01, 10.0), step=0.05,
        sweep=(0.05, 0.1, 0.2, 0.5, 1.0), tag="T{:g}",
        help="Divide scores by this before the softmax: below 1 sharpens it, above 1 flattens it.")
    num_hard_negatives: int = lever(
        0, label="Hard negatives", kind="int", widget="number", range=(0, 8192), step=64,
        sweep=(0, 10, 100, 1000), tag="hard{}",
        help="Keep only this many highest-scoring negatives per row (0 = all of the batch).")
    movie_bias: bool = lever(
        False, label="Movie bias", kind="bool", widget="toggle", tag="bias",
        help="A learned score per movie, started at its log popularity: the model starts out as the popularity "
             "baseline and learns how each user departs from it.")
    user_id_dropout: float = lever(
        0.0, label="User-id dropout", kind="float", widget="number", range=(0.0, 0.9), step=0.05, tag="iddrop",
        help="Share of users in each batch trained without their id vector, as if never seen: the towers learn "
             "what to recommend from features and popularity alone, which is what a new user gets. When serving, "
             "the id counts with weight 1 - this share (classic dropout).")
    full_softmax: bool = lever(
        False, label="Full softmax", kind="bool", widget="toggle", tag="full",
        help="Score each user against the whole catalog at every step instead of against the batch's movies: the "
             "exact softmax loss, with no sampling bias to correct (log-Q then changes nothing). Affordable here: "
             "1,664 titles.")
    user_history: bool = lever(
        False, label="User history", kind="bool", widget="toggle", tag="hist",
        help="Add to each user's vector the mean of a learned vector per movie they rated in training. While "
             "training, the row's own movie is left out of that history, so the model learns to predict new "
             "movies from old ones rather than to repeat what the user has seen.")
    history_encoder: bool = lever(
        False, label="History encoder", kind="bool", widget="toggle", tag="enc",
        help="The user tower reads the user's training movies: a multi-hot vector over the catalog, scaled to "
             "length 1, through a linear layer (or an MLP with tanh hidden layers, see MLP layers). A user is what "
             "they watched, so anyone can be scored from a list of liked movies. EASE is this model with one "
             "catalog-sized layer.")
    history_dropout: float = lever(
        0.0, label="History dropout", kind="float", widget="number", range=(0.0, 0.9), step=0.05,
        sweep=(0.0, 0.25, 0.5, 0.75), tag="hdrop{:g}",
        help="With the history encoder (no effect without it): share of a user's movies hidden from the encoder at "
             "each step, as in a denoising autoencoder. The model must predict movies it was not shown, not copy "
             "its input.")
    user_id: bool = lever(
        True, label="User id", kind="bool", widget="toggle", tag="noid",
        help="Give each user a learned id vector in the user tower. Off (with the history encoder or user "
             "features): a user is only what the tower reads, so a new user's list needs no retraining.")
    multinomial: bool = lever(
        False, label="Multinomial loss", kind="bool", widget="toggle", tag="multi",
        help="One example per user instead of per rating: the log-likelihood of all the user's training movies "
             "under one softmax over the whole catalog (Mult-DAE, Liang et al. 2018). No negatives are sampled, "
             "so log-Q has nothing to correct (nor do full softmax and hard negatives change anything); a batch "
             "holds users whose ratings add up to the batch size. The epoch is kept for the seen-removed list: "
             "among all movies such a model ranks what you rated first.")

    def validate(self) -> "TrainConfig":
        """Return self if every value is in range, else raise ``UserError`` naming it."""
        super().validate()
        if any((not isinstance(h, int)) or h < 1 or h > MAX_LAYER for h in self.deep_layers):
            raise UserError(f"deep_layers must be sizes between 1 and {MAX_LAYER}, got {self.deep_layers!r}")
        if self.num_hard_negatives and self.num_hard_negatives >= self.batch_size:
            raise UserError("num_hard_negatives must be smaller than batch_size")
        if not (self.user_id or self.user_features or self.history_encoder):
            raise UserError("the user tower needs something to read: turn on user_id, user_features or "
                            "history_encoder")
        return self

    def label(self) -> str:
        """A short human label: ``dim 32 · 3 ep · adagrad 0.1 · bs 8192 · random · seed 42`` + tags."""
        base = (f"dim {self.embedding_dim} · {self.epochs} ep · {self.optimizer} {self.learning_rate:g} · "
                f"bs {self.batch_size} · {self.split} · seed {self.seed}")
        extras = self.tags()
        return base + (" · " + "+".join(extras) if extras else "")


LEVERS: dict[str, Lever] = levers_of(TrainConfig)  # field name -> Lever, in field order
RANGES = {name: spec.range for name, spec in LEVERS.items() if spec.range}
TUTORIAL = TrainConfig()

# "Id tower": the best id-based preset (Our best until the history encoder), chosen on a validation
# slice only (see docs/report.md, "How chosen"):
# - log-Q correction and a per-movie bias: scores estimate log P(movie | user), popularity included;
# - Adam 0.003, batches of 4,096, L2 0.1, and the epoch that does best on a 10 % validation slice:
#   stop before the user's own training movies crowd the top of the list;
# - user/movie features and user-id dropout 0.5: a user with no ratings gets "what people like
#   them watch", which the temporal split (mostly new users) needs.
ID_TOWER = TrainConfig(
    embedding_dim=32, epochs=10, optimizer="adam", learning_rate=0.003, batch_size=4096,
    popularity_correction=True, validation_fraction=0.1, l2=0.1,
    user_features=True, movie_features=True, movie_bias=True, user_id_dropout=0.5,
)

# "Id tower + history": the id tower plus the mean of a learned vector per movie the user rated
# (user_history), the exact softmax over all 1,664 titles (full_softmax), 64 dimensions, 16 epochs
# (where the validation slice peaked), trained on all the training ratings.
ID_HISTORY = ID_TOWER.with_(embedding_dim=64, epochs=16, validation_fraction=0.0, user_history=True,
                            full_softmax=True)

# "Our best" (the default): the user tower *reads* the history (Mult-DAE, Liang et al. 2018):
# the user's training movies as a multi-hot vector at length 1, half of them dropped at each step,
# through one linear layer to 400 numbers; the user's features (age, gender, occupation, when they
# joined) enter the same vector as four more tokens, which is all a user without ratings has (the
# temporal split); no user id, so anyone can be scored from a list of movies. The multinomial loss:
# one example per user, every training movie a target of one softmax over the whole catalog. A movie
# bias. Adam 0.001, 25 epochs: where the 10 % validation slice peaked (random split, seeds 42 and 43:
# epochs 24 and 22; temporal, seed 42: 27, flat from 17). The preset then trains on all the training
# ratings, as EASE and iALS do once tuned. docs/report.md has what was tried and how it compares.
BEST = TrainConfig(
    embedding_dim=400, epochs=25, optimizer="adam", learning_rate=0.001, batch_size=8192,
    history_encoder=True, history_dropout=0.5, user_id=False, user_features=True, multinomial=True,
    movie_bias=True,
)

PRESETS = {"TFRS tutorial": TUTORIAL, "Our best": BEST, "Id tower": ID_TOWER, "Id tower + history": ID_HISTORY}
PRESET_KEYS = {"tutorial": "TFRS tutorial", "best": "Our best", "ids": "Id tower", "history": "Id tower + history"}


PAIRS = ("next", "window")  # which pairs of movies the item-to-item model learns from


@dataclass(frozen=True)
class ItemToItemConfig(Settings):
    """Hyperparameters of an item-to-item two-tower run: movie -> movie, trained on pairs of movies.

    The TFRS tutorial ends: "an item-to-item recommender ... would use the same two-tower
    recipe, with two movie towers, trained on (movie, movie) pairs". The pairs come from the
    training ratings of one split (the same split as a retrieval run, so both are scored on
    the same held-out ratings). The defaults were chosen on the validation slice (held-out hit
    rate @10 + @50 of the cosine neighbours, seed 42, random split): pairs within a window of 5
    ratings, both ways round, beat consecutive pairs (0.519 against 0.474), two towers (0.457)
    and dimension 64 (0.501 with a window of 2); with that many pairs 5 epochs are enough.
    """

    embedding_dim: int = embedding_dim_lever(256, help="Length of the movie vectors of both towers.")
    epochs: int = epochs_lever(5, help="Passes over the training pairs; the epoch best on the validation slice is kept.")
    learning_rate: float = learning_rate_lever(0.01)
    batch_size: int = batch_size_lever(
        4096, help="Pairs per step; the other pairs' second movies are the in-batch negatives.")
    optimizer: str = optimizer_lever("adam", help="Adagrad adapts the step per embedding row; Adam adds momentum.")
    pairs: str = lever(
        "window", label="Pairs", kind="choice", widget="select", choices=PAIRS, main=True, tag="{}",
        help="next: each movie and the one the same user rated right after it (a direction: what people watch "
             "next). window: every two movies a user rated within `window` ratings of each other, both ways "
             "(a symmetric 'watched together').")
    window: int = lever(
        5, label="Window (ratings)", kind="int", widget="number", range=(1, 50), step=1, tag="w{}",
        help="With pairs = window: how many ratings apart two movies of one user may be and still make a pair.")
    shared_towers: bool = lever(
        True, label="One tower for both movies", kind="bool", widget="toggle", main=True, tag="two-towers",
        help="On: the query movie and the candidate movie go through the same tower, so similarity is symmetric. "
             "Off: two towers, 'movies watched after this one' differ from 'movies watched before'.")
    popularity_correction: bool = popularity_correction_lever(
        True, tag="nologQ",
        help="Subtract log P(movie is a candidate) from each in-batch score, so popular movies are not pushed "
             "down for being everyone's negative.")
    movie_features: bool = movie_features_lever(help="Feed genres and title words into the towers beside the title.")
    l2: float = l2_lever(help="Penalty on the size of the embeddings used in each batch.")
    validation_fraction: float = validation_fraction_lever(
        0.1, tag="val{:g}",
        help="A slice of the training ratings (on the temporal split, the latest), held out to score every epoch "
             "and keep the best (0 = keep the last epoch).")
    split: str = split_lever(
        main=False, tag="{}",
        help="The split whose training ratings make the pairs; a retrieval run on the same split is compared "
             "on the same held-out ratings.")
    split_fraction: float = split_fraction_lever()
    seed: int = seed_lever(main=False, tag="seed {}", help="Fixes the split, the initial weights and the batch order.")
    variant: str = variant_lever()

    def label(self) -> str:
        """``item-to-item · dim 32 · 10 ep · adam 0.01 · bs 4096`` + what differs from the defaults."""
        base = (f"item-to-item · dim {self.embedding_dim} · {self.epochs} ep · {self.optimizer} "
                f"{self.learning_rate:g} · bs {self.batch_size}")
        extras = self.tags()
        return base + (" · " + "+".join(extras) if extras else "")


ITEM_LEVERS: dict[str, Lever] = levers_of(ItemToItemConfig)
ITEM_DEFAULT = ItemToItemConfig()


@dataclass(frozen=True)
class RankingConfig(Settings):
    """Hyperparameters of a ranking run: predict a user's star rating of a movie (defaults = the TFRS tutorial).

    The TFRS basic ranking tutorial: a user embedding and a movie embedding (32 numbers each),
    concatenated, through Dense(256, relu) -> Dense(64, relu) -> Dense(1), trained with the mean
    squared error on the 1-5 stars (``tfrs.tasks.Ranking``, RMSE reported), Adagrad 0.1, batches
    of 8,192, 3 epochs, on the same 80/20 split as retrieval. The levers after ``seed`` are
    ours (all off in the tutorial preset); ``RANKING_BEST`` is what they buy, chosen on a
    validation slice (``docs/ranking.md``).
    """

    embedding_dim: int = embedding_dim_lever(256, lo=4, help="Length of the user and movie vectors fed to the MLP.")
    layers: tuple = lever(
        (256, 64), label="MLP layers", kind="layers", widget="text", main=True,
        help="Hidden layer sizes of the MLP that turns the user and movie vectors into a rating, e.g. 256,64 "
             "(empty: one linear layer).")
    epochs: int = epochs_lever(
        3, help="Passes over the training ratings; with a validation slice the best epoch on it is kept.")
    learning_rate: float = learning_rate_lever(0.1)
    batch_size: int = batch_size_lever(
        8192, stops=RANKING_BATCH_SIZES,
        help="Ratings per step: smaller batches take more (noisier) steps per epoch.")
    optimizer: str = optimizer_lever(
        "adagrad", help="Adagrad (the tutorial's) adapts the step per weight; Adam adds momentum.")
    split: str = split_lever(
        help="The same split as a retrieval run: a random 20 % of ratings for test, or the most recent 20 %.")
    seed: int = seed_lever()
    biases: bool = lever(
        False, label="Rating biases", kind="bool", widget="toggle", tag="bias",
        help="Add a global mean and a learned number per user and per movie to the MLP's output (the classic "
             "baseline predictor mu + b_u + b_i); the MLP then learns only how a pair departs from it.")
    dot: bool = lever(
        False, label="Dot product", kind="bool", widget="toggle", tag="dot",
        help="Also add the dot product of the user and movie vectors (matrix factorisation, as in SVD) to the "
             "prediction.")
    history: bool = lever(
        False, label="User history (SVD++)", kind="bool", widget="toggle", tag="hist",
        help="Add to each user's vector the mean (scaled by 1/sqrt(count)) of a learned vector per movie they "
             "rated in training, as SVD++ does: which movies a user chose to rate says something too.")
    user_features: bool = user_features_lever(
        help="Feed age, gender, occupation and when they joined into the user vector beside the user id.")
    movie_features: bool = movie_features_lever(
        help="Feed genres and title words into the movie vector beside the title.")
    l2: float = l2_lever(
        hi=10.0, step=1e-3, format="%.4f",
        help="Penalty on the squared size of each rating's user and movie vectors, added to its squared error: "
             "keeps the vectors from memorising the training stars.")
    dropout: float = lever(
        0.0, label="Dropout", kind="float", widget="number", range=(0.0, 0.9), step=0.05, tag="drop",
        help="Share of the MLP's hidden units switched off at random in each training step (none when "
             "predicting).")
    clip: bool = lever(
        False, label="Clip to 1-5 stars", kind="bool", widget="toggle", tag="clip",
        help="Clip predictions to the 1-5 range of the stars: a prediction of 5.4 is never better than 5.")
    rating_weight: float = lever(
        1.0, label="Rating loss weight", kind="float", widget="number", range=(0.0, 10.0), step=0.1,
        format="%.2f", sweep=(0.0, 0.1, 1.0), tag="rat{:g}",
        help="Weight of the rating task (mean squared error of the stars) in the loss. With a retrieval weight "
             "too, one model learns both tasks on the same user and movie vectors (the TFRS multitask tutorial); "
             "0 leaves only retrieval, and the rating head is never trained.")
    retrieval_weight: float = lever(
        0.0, label="Retrieval loss weight", kind="float", widget="number", range=(0.0, 10.0), step=0.001,
        format="%.3f", sweep=(0.0, 0.001, 0.01, 0.1, 1.0), tag="ret{:g}",
        help="Weight of a retrieval task (in-batch softmax on u . m, as a retrieval run) added to the rating loss "
             "on the same vectors (0 = the pure ranking model). Retrieval wants u . m to say *which* movies a "
             "user rates, ranking *how many stars*: more weight buys test top-K and costs RMSE. The retrieval "
             "loss is a sum over the batch, the rating loss a mean: 0.01 is already a strong pull.")
    validation_fraction: float = validation_fraction_lever(
        0.0, tag="val{:g}",
        help="Hold out this slice of the training ratings (on the temporal split, the latest) and keep the epoch "
             "with the lowest RMSE on it (0 = keep the last epoch).")
    split_fraction: float = split_fraction_lever()
    variant: str = variant_lever()

    def validate(self) -> "RankingConfig":
        """Return self if every value is in range, else raise ``UserError`` naming it."""
        super().validate()
        if any((not isinstance(h, int)) or h < 1 or h > MAX_LAYER for h in self.layers):
            raise UserError(f"layers must be sizes between 1 and {MAX_LAYER}, got {self.layers!r}")
        if not self.rating_weight and not self.retrieval_weight:
            raise UserError("rating_weight and retrieval_weight are both 0: nothing to learn")
        return self

    def label(self) -> str:
        """``ranking · dim 32 · mlp 256,64 · 3 ep · adagrad 0.1 · bs 8192 · random · seed 42`` + tags."""
        mlp = ",".join(map(str, self.layers)) or "linear"
        base = (f"ranking · dim {self.embedding_dim} · mlp {mlp} · {self.epochs} ep · {self.optimizer} "
                f"{self.learning_rate:g} · bs {self.batch_size} · {self.split} · seed {self.seed}")
        extras = self.tags()
        return base + (" · " + "+".join(extras) if extras else "")


RANKING_LEVERS: dict[str, Lever] = levers_of(RankingConfig)
RANKING_TUTORIAL = RankingConfig()
# "Our best" ranking preset, chosen on a 10 % validation slice (seed 42, random split; docs/ranking.md
# has the measurements): biased matrix factorisation, mu + b_u + b_i + u . m, 128 dimensions, L2 0.1 on
# the vectors, Adam 0.002, batches of 1,024, clipped to 1-5 stars. The MLP (with or without dropout) and
# the side features did not help on validation (the MLP overfits within a few epochs), so the hidden
# layers are gone: the tutorial's Dense(1) on [u ; m] stays, a linear term. The 27 epochs are where the
# validation slice bottomed out; the preset then trains on all the training ratings, as the bias
# baseline is refitted on them once its lambdas are chosen.
RANKING_BEST = RankingConfig(
    embedding_dim=128, layers=(), epochs=27, optimizer="adam", learning_rate=0.002, batch_size=1024,
    biases=True, dot=True, l2=0.1, clip=True,
)
RANKING_PRESETS = {"TFRS tutorial": RANKING_TUTORIAL, "Our best": RANKING_BEST}
RANKING_PRESET_KEYS = {"tutorial": "TFRS tutorial", "best": "Our best"}
