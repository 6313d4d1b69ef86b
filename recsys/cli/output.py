"""What every command shares: one-line errors, ``--json`` output, a terminal progress bar.

Mistakes a user can make print one line on stderr and exit with status 2 (``Parser.error``
raises ``UserError``, which ``recsys.cli.main`` prints); ``--json`` prints one JSON object
(or list) on stdout, numpy values included.
"""
from __future__ import annotations

import argparse
import json
import sys

from recsys.config import KS
from recsys.errors import UserError


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line and exit 2, not a usage dump."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")


def emit(obj, as_json: bool, text: str = "") -> None:
    """Print ``obj`` as JSON, or ``text`` for people."""
    if as_json:
        print(json.dumps(obj, default=jsonable))
    else:
        print(text)


def jsonable(o):
    """``json.dumps``' fallback: numpy scalars and arrays as Python values, anything else as text."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def progress(quiet: bool):
    """``print`` to stderr for progress lines, or nothing when ``quiet``."""
    return (lambda message: None) if quiet else (lambda message: print(message, file=sys.stderr, flush=True))


class TrainingBar:
    """Terminal progress for training (a ``train.Callback``): one line, rewritten per batch, on stderr."""

    def __init__(self, epochs: int, quiet: bool):
        self.epochs, self.quiet = epochs, quiet

    def on_batch(self, epoch, step, steps, loss):
        if not self.quiet:
            done = int(30 * step / steps)
            sys.stderr.write(f"\repoch {epoch}/{self.epochs} [{'#' * done}{'.' * (30 - done)}] "
                             f"{step}/{steps} loss {shown_loss(loss)}   ")
            sys.stderr.flush()

    def on_epoch(self, record):
        if not self.quiet:
            test = record["test"]  # top-K of a retrieval run, hit rates of an item-to-item run, RMSE of a ranking run
            shown = (f"top-100 {test['top_100']:.4f}" if "top_100" in test else f"RMSE {test['rmse']:.4f}"
                     if "rmse" in test else f"hit@10 {test['hit_10']:.4f}")
            sys.stderr.write(f"\repoch {record['epoch']}/{self.epochs} loss {shown_loss(record['loss'])} "
                             f"test {shown} ({record['seconds']:.1f} s)\n")


class RunBar:
    """One run's bar on one terminal line (a ``train.Callback``), rewritten per batch over all its epochs.

    ``python -m recsys ready`` trains several runs in a row: one line each, from "starting" (a
    retrieval run first tunes its split's baselines) to a last state that stays on screen
    (``done``), so the terminal ends with one finished line per run instead of a line per epoch.
    """

    WIDTH = 30

    def __init__(self, title: str, epochs: int, quiet: bool):
        self.title, self.epochs, self.quiet, self.shown, self.last = title, epochs, quiet, 0, None
        self._draw(0.0, "starting (TensorFlow, the split, its baselines)…")

    def _draw(self, done: float, text: str, end: str = "") -> None:
        if self.quiet:
            return
        filled = int(self.WIDTH * min(max(done, 0.0), 1.0))
        line = f"{self.title} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:4.0%} {text}"
        sys.stderr.write("\r" + line.ljust(self.shown) + end)  # pad: a shorter line hides the longer one before
        sys.stderr.flush()
        self.shown = 0 if end else len(line)

    def on_batch(self, epoch, step, steps, loss):
        done = ((epoch - 1) * steps + step) / (self.epochs * steps)
        if (epoch, int(100 * done)) != self.last:  # redrawn once per percent: a log file stays short
            self.last = (epoch, int(100 * done))
            self._draw(done, f"epoch {epoch}/{self.epochs} · loss {shown_loss(loss)}")

    def on_epoch(self, record):
        pass

    def done(self, text: str) -> None:
        """The run's last state, kept on its line (``reused`` or what it scored and how long it took)."""
        self._draw(1.0, text, end="\n")


def shown_loss(loss: float) -> str:
    """A loss for the bar: whole numbers for the retrieval losses (thousands), 4 decimals for a mean squared error."""
    return f"{loss:,.0f}" if abs(loss) >= 100 else f"{loss:.4f}"


def metrics_table(metrics: dict) -> str:
    """A run's top-K, model and baselines (those it has), both metric variants, as aligned text."""
    rows = [f"{'':27}" + "".join(f"{'top-' + str(k):>9}" for k in KS)]
    for candidates in ("test", "test_filtered"):
        for who in ("model", "popularity", "ease", "itemknn", "ials"):
            if who not in metrics:
                continue
            vals = metrics[who][candidates]
            label = f"{who} {'(seen removed)' if candidates == 'test_filtered' else '(all)'}"
            rows.append(f"{label:27}" + "".join(f"{vals[f'top_{k}']:9.4f}" for k in KS))
    return "\n".join(rows)
