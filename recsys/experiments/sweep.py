"""Hyperparameter sweeps: train every combination of values of one or two settings.

A sweep is a grid: e.g. embedding dimension in (16, 32, 64) x epochs in (1, 3, 10) is nine
runs, each an ordinary saved run. A cell whose exact config was saved before is *reused*
(``runs.train_or_load``), so re-running a sweep, or widening it by one value, only trains
what is new. The result is one test top-K number per cell, shown as a heatmap with the
best cell marked; the popularity baseline is the number to beat.

Progress is reported through ``SweepCallback`` (the page draws an overall bar and one for
the run in training; the CLI prints a line per run).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pandas as pd

from recsys import config as cfg
from recsys.errors import UserError

# The settings that make sense on a grid axis, with the values offered for each: the levers
# that name sweep values (``Lever.sweep`` in recsys/config.py).
SWEEPABLE = tuple(name for name, spec in cfg.LEVERS.items() if spec.sweep)
LABELS = {name: cfg.LEVERS[name].label for name in SWEEPABLE}
CHOICES = {name: list(cfg.LEVERS[name].sweep) for name in SWEEPABLE}
MAX_CELLS = 64


class SweepCallback:
    """Receives sweep progress; override what you need (default: ignore).

    on_run_start(i, n, config)        before cell i (0-based) of n is looked up / trained
    on_batch(epoch, step, steps, loss) / on_epoch(record)   while a cell trains (as train.Callback)
    on_run_end(i, n, cell)            after cell i, with its result row (``cell["reused"]``)
    """

    def on_run_start(self, i: int, n: int, config: cfg.TrainConfig) -> None:
        pass

    def on_batch(self, epoch: int, step: int, steps: int, loss: float) -> None:
        pass

    def on_epoch(self, record: dict) -> None:
        pass

    def on_run_end(self, i: int, n: int, cell: dict) -> None:
        pass


@dataclass
class SweepResult:
    """The grid and one row per cell (axes values, run id, reused, test metrics, baseline)."""

    base: cfg.TrainConfig
    axes: dict                      # {setting: [values]}, one or two settings, in order
    cells: list = field(default_factory=list)

    @property
    def trained(self) -> int:
        return sum(not c["reused"] for c in self.cells)

    def frame(self, k: int = 100, candidates: str = "test") -> pd.DataFrame:
        """One row per cell: the axes, run id, reused, top-K of the model and of popularity."""
        check_k(k)
        rows = []
        for c in self.cells:
            rows.append({**{a: c["config"][a] for a in self.axes}, "run_id": c["run_id"], "reused": c["reused"],
                         "accuracy": c["metrics"]["model"][candidates][f"top_{k}"],
                         "popularity": c["metrics"]["popularity"][candidates][f"top_{k}"],
                         "seconds": c["seconds"]})
        return pd.DataFrame(rows)

    def best(self, k: int = 100, candidates: str = "test") -> dict:
        """The cell with the highest test top-K (first in grid order on ties)."""
        df = self.frame(k, candidates)
        return df.loc[df["accuracy"].idxmax()].to_dict()

    def to_dict(self, k: int = 100, candidates: str = "test") -> dict:
        return {"base": self.base.to_dict(), "axes": self.axes, "k": k, "variant": candidates,
                "trained": self.trained, "reused": len(self.cells) - self.trained,
                "cells": [{key: c[key] for key in ("run_id", "reused", "seconds", "config", "metrics")}
                          for c in self.cells],
                "best": self.best(k, candidates)}


def check_k(k: int) -> int:
    if k not in cfg.KS:
        raise UserError(f"K must be one of {', '.join(map(str, cfg.KS))}, got {k!r}")
    return k


def grid(base: cfg.TrainConfig, axes: dict) -> list[cfg.TrainConfig]:
    """Every combination of the axes' values on top of ``base`` (first axis varies slowest).

    Raises ``UserError`` for an unknown setting, an empty axis, more than two axes, a grid
    over ``MAX_CELLS`` or any value out of range, before anything is trained.
    """
    if not axes:
        raise UserError("a sweep needs at least one setting with several values")
    if len(axes) > 2:
        raise UserError(f"a sweep varies at most two settings, got {len(axes)}: {', '.join(axes)}")
    for name, values in axes.items():
        if name not in SWEEPABLE:
            raise UserError(f"cannot sweep {name!r}; choose from {', '.join(SWEEPABLE)}")
        if not values:
            raise UserError(f"give at least one value for {name}")
    n = 1
    for values in axes.values():
        n *= len(values)
    if n > MAX_CELLS:
        raise UserError(f"a {n}-cell grid is too large (at most {MAX_CELLS} runs per sweep)")
    names = list(axes)
    return [base.with_(**dict(zip(names, combo))).validate() for combo in itertools.product(*axes.values())]


def normalise_axes(axes: dict) -> dict:
    """Drop repeated values (keeping order) and cast them to the setting's type."""
    out = {}
    for name, values in axes.items():
        kind = type(getattr(cfg.TrainConfig(), name, 0))
        seen = []
        for v in values:
            v = kind(v)
            if v not in seen:
                seen.append(v)
        out[name] = seen
    return out


def plan(base: cfg.TrainConfig, axes: dict, ds, root=None) -> list[tuple[cfg.TrainConfig, bool]]:
    """The grid's configs, each with whether it is saved already (so it will be reused)."""
    from recsys.store import runs

    return [(c, runs.find(c, ds, root) is not None) for c in grid(base, normalise_axes(axes))]


def run_sweep(base: cfg.TrainConfig, axes: dict, ds=None, callback: SweepCallback | None = None,
              root=None, trainer=None) -> SweepResult:
    """Train (or reuse) every cell of the grid; returns the cells in grid order.

    ``trainer(config, ds, callback) -> (run, reused)`` defaults to ``runs.train_or_load``
    (the app passes its own, which also queues behind other sessions' training).
    """
    from recsys.store import runs
    from recsys.data import prepared

    axes = normalise_axes(axes)
    configs = grid(base, axes)
    ds = ds or prepared.load_dataset(base.variant)
    callback = callback or SweepCallback()
    trainer = trainer or (lambda config, ds, cb: runs.train_or_load(config, ds, cb, root))
    result = SweepResult(base=base, axes=axes)
    for i, config in enumerate(configs):
        callback.on_run_start(i, len(configs), config)
        run, reused = trainer(config, ds, callback)  # a SweepCallback is also a training callback
        cell = {"run_id": run.run_id, "reused": reused, "seconds": run.seconds, "config": run.config.to_dict(),
                "metrics": run.metrics, "history": run.history}
        result.cells.append(cell)
        callback.on_run_end(i, len(configs), cell)
    return result


def grid_text(result: SweepResult, k: int = 100, candidates: str = "test") -> str:
    """The grid as text: rows = first axis, columns = second axis, best cell starred."""
    df = result.frame(k, candidates)
    names = list(result.axes)
    best = result.best(k, candidates)["run_id"]
    mark = lambda r: f"{r.accuracy:.4f}{'*' if r.run_id == best else ' '}"
    if len(names) == 1:
        lines = [f"{LABELS[names[0]]:>20}  test top-{k}"]
        lines += [f"{getattr(r, names[0])!s:>20}  {mark(r)}" for r in df.itertuples()]
    else:
        rows, cols = names
        lines = [f"{LABELS[rows]} \\ {LABELS[cols]}", f"{'':>12}" + "".join(f"{v!s:>12}" for v in result.axes[cols])]
        at = {(getattr(r, rows), getattr(r, cols)): r for r in df.itertuples()}
        for v in result.axes[rows]:
            lines.append(f"{v!s:>12}" + "".join(f"{mark(at[v, c]):>12}" for c in result.axes[cols]))
    pop = df["popularity"].iloc[0] if df["popularity"].nunique() == 1 else None
    lines.append(f"* best: test top-{k} {df['accuracy'].max():.4f}" +
                 (f" (popularity baseline {pop:.4f})" if pop is not None else ""))
    lines.append(f"{result.trained} trained, {len(result.cells) - result.trained} reused from earlier runs")
    return "\n".join(lines)
