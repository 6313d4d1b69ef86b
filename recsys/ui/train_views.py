"""What the Train page shows of each kind of run: one ``TrainView`` per tab, in the tabs' order.

A view is the kind of run (``recsys/store/kinds.py``: its settings class, whose levers are the
tab's widgets, and its presets), the chart of its epochs (drawn live while it trains and again
in its result) and the sentence that reads its result against its baselines. The page's tabs
(``app_pages/train_*.py``) are built from these; nothing here imports Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from recsys.evaluation import item_to_item, ranking, topk
from recsys.store.kinds import KINDS, Kind
from recsys.ui import charts


@dataclass(frozen=True)
class TrainView:
    kind: Kind
    curves: Callable   # (history, reference or None, epochs, width=) -> the chart of the epochs so far
    verdict: Callable  # the run's metrics (as its result shows them) -> one sentence against the baselines

    @property
    def settings(self) -> type:
        return self.kind.settings

    @property
    def presets(self) -> dict:
        return self.kind.presets


RETRIEVAL = TrainView(KINDS["retrieval"], charts.training_curves,
                      partial(topk.read_against, candidates="test_filtered"))
ITEM_TO_ITEM = TrainView(KINDS["item_to_item"], charts.item_to_item_curves,
                         partial(item_to_item.read_result, who="item_to_item"))  # of run.metrics["item_to_item"]
RANKING = TrainView(KINDS["ranking"], charts.ranking_curves, ranking.read_result)
