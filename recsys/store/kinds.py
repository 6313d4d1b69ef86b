"""The kinds of run the store holds, in one table: a fourth kind is one entry in ``KINDS``.

A run is a trained model saved with its settings and its numbers (``recsys/store/runs.py``).
Three kinds share the store, and each differs only in data, never in code paths:

- ``retrieval``: the two-tower user -> movie model (``TrainConfig``), scored by test top-K;
- ``item_to_item``: movie -> movie (``ItemToItemConfig``), scored by the held-out hit rate;
- ``ranking``: the stars a user gives a movie (``RankingConfig``), scored by test RMSE.

Everything that asks "what kinds are there, and what does a run of this kind look like?"
reads this table: the store (which settings class reads a run.json, which metrics a complete
one holds, which array of vectors.npz is the query side, which module trains one),
``python -m recsys runs --kind``,
the Compare page (one table, one curve and the delete box for every kind), run labels, and
``python -m recsys ready`` (the *Our best* run of every kind that a newcomer's first visit shows).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from recsys import config as cfg

MetricPath = tuple  # keys into a run's metrics (or an epoch record): ("model", "test", "rmse")


@dataclass(frozen=True)
class Kind:
    """One kind of run: its settings, its headline number, how Compare tabulates and plots it."""

    name: str                 # run.json's "kind", ``runs --kind NAME``
    noun: str                 # one of them, in a sentence: "ranking run"
    title: str                # what Compare calls a table of them
    settings: type            # the settings dataclass a run.json's "config" is read into
    presets: dict             # preset name -> settings ("Our best" is what ``ready`` trains)
    command: str              # the CLI command that trains one
    trainer: str              # the module whose ``fit(config, ds, callback)`` trains one (imported when needed)
    query_vectors: str        # the query side's array in vectors.npz (movies are always "movie_vectors")
    headline: MetricPath      # the one number that sums a run up, in its metrics
    headline_label: str       # how that number is named: "top-100", "hit@10", "RMSE"
    digits: int               # decimals of the headline in a run's label
    lower_is_better: bool
    required: tuple           # metric paths a complete run.json holds (a run without one is damaged)
    columns: dict = field(default_factory=dict)  # Compare's table: column -> (label, help, metric path)
    curve: MetricPath = ()    # Compare's chart: this field of every epoch record
    curve_label: str = ""     # its axis
    curve_title: str = ""

    @property
    def default(self):
        """The settings ``ready`` trains for a newcomer, and the run the Recommend page prefers: *Our best*."""
        return self.presets["Our best"]

    def preset(self, key: str):
        """The preset named ``key`` ("best", "tutorial", …), or *Our best* when this kind has none of that name."""
        return self.presets.get(cfg.PRESET_KEYS.get(key, key), self.default)

    def headline_of(self, metrics: dict) -> float:
        return float(lookup(metrics, self.headline))

    def headline_text(self, metrics: dict, digits: int | None = None) -> str:
        """``"RMSE 0.9111"``: the headline with its name."""
        return f"{self.headline_label} {self.headline_of(metrics):.{self.digits if digits is None else digits}f}"


def lookup(tree: dict, path: MetricPath, missing=None):
    """``tree[path[0]][path[1]]…``, or ``missing`` where a key is absent (runs saved before a metric existed)."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return missing
        tree = tree[key]
    return tree


def _hit(who: str, k: int) -> MetricPath:
    return ("item_to_item", who, f"hit_{k}")


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(name="retrieval", noun="retrieval run", title="Retrieval runs", settings=cfg.TrainConfig,
         presets=cfg.PRESETS, command="train", trainer="recsys.training.train",
         query_vectors="user_vectors", headline=("model", "test", "top_100"), headline_label="top-100", digits=3,
         lower_is_better=False,
         required=tuple((who, part, "top_100") for part in ("test", "test_filtered")
                        for who in ("model", "popularity")),
         # Compare draws retrieval runs with its own table (top-K at a chosen K beside every baseline, sweeps).
         curve=("test", "top_100"), curve_label="test top-100", curve_title="Test top-100 per epoch"),
    Kind(name="item_to_item", noun="item-to-item run", title="Item-to-item runs", settings=cfg.ItemToItemConfig,
         presets={"Our best": cfg.ITEM_DEFAULT}, command="train-item-to-item", trainer="recsys.training.item_to_item",
         query_vectors="query_vectors",
         headline=_hit("item_to_item", 10), headline_label="hit@10", digits=3, lower_is_better=False,
         required=(_hit("item_to_item", 10),),
         columns={"hit_1": ("hit@1", "Held-out hit rate @1 of the item-to-item model", _hit("item_to_item", 1)),
                  "hit_10": ("hit@10", "Is the next movie a user rated among the 10 neighbours of the one before?",
                             _hit("item_to_item", 10)),
                  "hit_50": ("hit@50", None, _hit("item_to_item", 50)),
                  "itemknn_hit_10": ("item-kNN hit@10", "The same measure for item-kNN on the run's split",
                                     _hit("itemknn", 10)),
                  "popularity_hit_10": ("popularity hit@10", "The 10 most rated movies, whatever the query",
                                        _hit("popularity", 10))},
         curve=("test", "hit_10"), curve_label="hit@10", curve_title="Held-out hit rate @10 per epoch"),
    Kind(name="ranking", noun="ranking run", title="Ranking runs", settings=cfg.RankingConfig,
         presets=cfg.RANKING_PRESETS,
         command="train-ranking", trainer="recsys.training.ranking", query_vectors="user_vectors", headline=("model", "test", "rmse"),
         headline_label="RMSE", digits=4, lower_is_better=True,
         required=tuple((who, "test", "rmse") for who in ("model", "global_mean", "biases")),
         columns={"rmse": ("test RMSE", "Root mean squared error of the predicted stars on the test ratings "
                                        "(lower is better)", ("model", "test", "rmse")),
                  "biases_rmse": ("user + movie biases RMSE", "The classic baseline mu + b_u + b_i, tuned on the "
                                  "run's split", ("biases", "test", "rmse")),
                  "global_mean_rmse": ("global mean RMSE", "Predicting the mean of all training stars",
                                       ("global_mean", "test", "rmse")),
                  "retrieval_top_100": ("top-100 of u·m (seen removed)", "Retrieval from the same vectors (a "
                                        "multitask run trades RMSE for it); empty for runs saved before it was "
                                        "measured", ("retrieval", "test_filtered", "top_100"))},
         curve=("test", "rmse"), curve_label="test RMSE", curve_title="Test RMSE per epoch (lower is better)"),
)}


def kind_of(settings) -> Kind:
    """The kind whose settings class ``settings`` is."""
    return next(k for k in KINDS.values() if isinstance(settings, k.settings))


def companion(kind: str, run_config):
    """*Our best* of ``kind`` on ``run_config``'s split: the run that fills a retrieval run's other sections.

    The Recommend page's item-to-item column and its second stage score on the same held-out
    ratings as the active run, so they must share its split (dataset, split, share, seed).
    """
    variant, split, fraction, seed = run_config.split_of()
    return KINDS[kind].default.with_(variant=variant, split=split, split_fraction=fraction, seed=seed)


def same_split(a, b) -> bool:
    """Whether two runs' settings are scored on the same held-out ratings (dataset, split, share, seed)."""
    return a.split_of() == b.split_of()


def split_words(config) -> str:
    """A run's split as the pages name it: ``"random, seed 42"``."""
    return f"{config.split}, seed {config.seed}"
