"""``TrainConfig``: the one description of a training run.

Pages build it from widgets (and URL parameters), the CLI from flags, and ``runs.run_id``
hashes it, with the dataset, into a run id. Ranges are checked here, once, with messages
meant for users.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .errors import UserError

OPTIMIZERS = ("adagrad", "adam")
SPLITS = ("random", "temporal")
VARIANTS = ("100k", "1m", "20m", "25m")          # MovieLens sizes (recsys.data loads them)
SOURCES = ("auto", "tfds", "grouplens", "packaged")  # where recsys.data finds them
KS = (1, 5, 10, 50, 100)

# name: (min, max) for numeric settings; checked by TrainConfig.validate.
RANGES = {
    "embedding_dim": (8, 256),
    "epochs": (1, 100),
    "learning_rate": (1e-4, 10.0),
    "batch_size": (256, 16384),
    "seed": (0, 2**31 - 1),
    "split_fraction": (0.5, 0.95),
    "validation_fraction": (0.0, 0.3),
    "l2": (0.0, 1.0),
    "temperature": (0.01, 10.0),
    "num_hard_negatives": (0, 8192),
    "user_id_dropout": (0.0, 0.9),
}


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a two-tower retrieval run (defaults = the TFRS tutorial)."""

    embedding_dim: int = 32
    epochs: int = 3
    optimizer: str = "adagrad"
    learning_rate: float = 0.1
    batch_size: int = 8192
    split: str = "random"
    split_fraction: float = 0.8
    seed: int = 42
    variant: str = "100k"
    # Levers the tutorial does not pull (all off in the tutorial preset).
    popularity_correction: bool = False   # log-Q: subtract log P(candidate in batch) from logits
    validation_fraction: float = 0.0      # slice of *training* data used to pick the best epoch
    l2: float = 0.0                       # L2 penalty on the embeddings looked up in a batch
    user_features: bool = False           # age, gender, occupation beside the user id
    movie_features: bool = False          # genres and title words beside the title id
    deep_layers: tuple = ()               # hidden sizes of an MLP on top of each tower
    remove_accidental_hits: bool = False  # do not treat a row's own movie elsewhere in the batch as a negative
    temperature: float = 1.0              # logits / temperature
    num_hard_negatives: int = 0           # keep only the hardest negatives per row (0 = all)
    movie_bias: bool = False              # a learned score per movie added to every dot product (starts at log popularity)
    user_id_dropout: float = 0.0          # share of users per batch trained without their id, as if never seen
    user_history: bool = False            # add the mean of the user's training movies (leave-one-out when training)

    def validate(self) -> "TrainConfig":
        """Return self if every value is in range, else raise ``UserError`` naming it."""
        for name, (lo, hi) in RANGES.items():
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
                raise UserError(f"{name} must be between {lo} and {hi}, got {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.split not in SPLITS:
            raise UserError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if any((not isinstance(h, int)) or h < 1 or h > 1024 for h in self.deep_layers):
            raise UserError(f"deep_layers must be sizes between 1 and 1024, got {self.deep_layers!r}")
        if self.num_hard_negatives and self.num_hard_negatives >= self.batch_size:
            raise UserError("num_hard_negatives must be smaller than batch_size")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["deep_layers"] = list(self.deep_layers)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict (saved run, JSON); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "deep_layers" in kw:
            kw["deep_layers"] = tuple(int(x) for x in kw["deep_layers"])
        return cls(**kw)

    def identity(self) -> dict:
        """The settings that differ from the defaults: what makes this run this run.

        Leaving defaults out keeps ids stable when a new lever is added later (its default
        reproduces the old behaviour), so saved runs stay findable across versions.
        """
        defaults = TrainConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if defaults.get(k, object()) != v}

    def label(self) -> str:
        """A short human label: ``dim 32 · 3 ep · adagrad 0.1 · bs 8192 · random``."""
        extras = [name for name, on in (("logQ", self.popularity_correction), ("feat", self.user_features
                  or self.movie_features), ("deep", bool(self.deep_layers)), ("val", self.validation_fraction > 0),
                  ("l2", self.l2 > 0), ("bias", self.movie_bias), ("iddrop", self.user_id_dropout > 0),
                  ("hist", self.user_history)) if on]
        base = (f"dim {self.embedding_dim} · {self.epochs} ep · {self.optimizer} {self.learning_rate:g} · "
                f"bs {self.batch_size} · {self.split} · seed {self.seed}")
        return base + (" · " + "+".join(extras) if extras else "")

    def with_(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


TUTORIAL = TrainConfig()

# Our default ("Our best"), chosen on a validation slice only (see recsys/report.py, HOW_CHOSEN):
# - log-Q correction and a per-movie bias: scores estimate log P(movie | user), popularity included;
# - Adam 0.003, batches of 4,096, L2 0.1, and the epoch that does best on a 10 % validation slice:
#   stop before the user's own training movies crowd the top of the list;
# - user/movie features and user-id dropout 0.5: a user with no ratings gets "what people like
#   them watch", which the temporal split (mostly new users) needs.
# `python -m recsys report` compares it with the tutorial and the popularity baseline.
BEST = TrainConfig(
    embedding_dim=32, epochs=10, optimizer="adam", learning_rate=0.003, batch_size=4096,
    popularity_correction=True, validation_fraction=0.1, l2=0.1,
    user_features=True, movie_features=True, movie_bias=True, user_id_dropout=0.5,
)

PRESETS = {"TFRS tutorial": TUTORIAL, "Our best": BEST}
PRESET_KEYS = {"tutorial": "TFRS tutorial", "best": "Our best"}
