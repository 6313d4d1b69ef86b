"""Latency a page can stand behind: the median of several timed queries, measured again as time passes,
and trusted only when the query had the processor to itself.

One timing kept for good can be wrong for good: a query timed while another thread of the server
runs Python (a page script, a training's events) waits for the interpreter lock (a 1.4 ms
BruteForce query measured 20 ms and more). Contention only ever adds time, and it comes and goes; so:

- A measurement is a **burst**: one untimed query (the first call of an op at a new shape is slower), then
  ``repeats`` single queries, each timed; the burst's figure is their median.
- Each burst says whether it was **contended**. Just before each timed query the thread gives up
  the processor for an instant (``time.sleep(0)`` releases the interpreter lock and enters the
  kernel) and times how long it takes to get it back: microseconds when nothing else wants it;
  milliseconds when another thread of the server runs Python (a page script). (Other
  processes hardly show here: a yield mostly returns at once even on a core another process wants.) Two slow
  returns in a burst make it a busy one.
- A ``Meter`` keeps the last ``keep`` bursts per key (an index and a query shape) and shows the
  median of the quiet ones; busy ones only while there is no quiet one, and then flagged.
- It measures again, when a page asks, if nothing is known yet; if everything known is busy and
  the processor is free now (or the newest is older than ``refresh_s`` anyway); if the newest
  quiet burst is older than ``refresh_s`` and the processor is free now. A busy moment never
  replaces a quiet figure; a quiet one replaces every busy one at once.

The CLI (``python -m recsys recommend --json``) times one burst in a fresh process
(``index.compare`` without a meter); on an idle machine both say the same within noise.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

REPEATS = 9          # timed queries per burst (after one untimed)
KEEP = 5             # bursts kept per key
REFRESH_S = 60.0     # a figure older than this is measured again (when the processor is free)
SLOW_RETURN_MS = 0.5  # getting the processor back slower than this: something else was running
BUSY_RETURNS = 2     # this many slow returns in a burst make it a busy one
FREE_SAMPLES = 20    # fast returns in a row that make the processor free (~2 ms when it is)


@dataclass(frozen=True)
class Burst:
    """One measurement: the median of ``queries`` timed single queries, when, and whether it was contended."""

    ms: float
    queries: int
    at: float         # time.time(), for people
    clock: float      # time.monotonic(), for ages
    slow_returns: int  # timed queries before which the processor came back late
    busy: bool


@dataclass(frozen=True)
class Figure:
    """What a page shows: a latency and how it was measured."""

    ms: float
    bursts: tuple     # the Bursts it is the median of, oldest first
    busy: bool        # True: no quiet measurement yet, these were taken while something else ran

    @property
    def newest(self) -> Burst:
        return self.bursts[-1]

    def describe(self) -> str:
        """One sentence for a page's help: what the number is, how many queries, when, and under what load."""
        n = len(self.bursts)
        queries = sum(b.queries for b in self.bursts)
        when = time.strftime("%H:%M:%S", time.localtime(self.newest.at))
        what = (f"Median of {n} measurements ({queries} single queries in all)" if n > 1
                else f"Median of {queries} single queries")
        load = ("taken while other work held the processor (no quiet moment yet; measured again as soon as there "
                "is one)" if self.busy else "taken when nothing else was running")
        return f"{what}, the last at {when} (server time), {load}; measured again every {REFRESH_S:.0f} s."


def processor_return_ms() -> float:
    """How long this thread waits to run again after yielding: ~0.05 ms when nothing else wants the processor."""
    t = time.perf_counter()
    time.sleep(0)
    return (time.perf_counter() - t) * 1000


def free_now(samples: int = FREE_SAMPLES) -> bool:
    """Whether the processor is ours right now (no other thread of this process in the way).

    A thread that wants the interpreter does not always get it on a yield (the yielding thread may take it back
    first), so one fast return proves little: a spinning thread went unseen in 3 returns in a row up to 1 time in 30
    (fewer when the machine is quiet), in 20 about 1 time in 3,000 to 5,000.
    """
    return all(processor_return_ms() < SLOW_RETURN_MS for _ in range(samples))


def measure(query, repeats: int = REPEATS) -> Burst:
    """One burst: an untimed ``query()``, then ``repeats`` timed ones; their median and whether it was contended."""
    query()
    ms, slow = [], 0
    for _ in range(repeats):
        slow += processor_return_ms() >= SLOW_RETURN_MS
        t = time.perf_counter()
        query()
        ms.append((time.perf_counter() - t) * 1000)
    return Burst(ms=float(np.median(ms)), queries=repeats, at=time.time(), clock=time.monotonic(),
                 slow_returns=int(slow), busy=slow >= BUSY_RETURNS)


def due(bursts: list, now: float, free: bool, refresh_s: float = REFRESH_S) -> bool:
    """Whether to measure again: ``bursts`` known (oldest first), ``now`` (monotonic), whether the processor is free.

    Only busy bursts known: at the next free moment (but not more often than every ``refresh_s / 12``, so that a
    page viewed again and again on a noisy machine does not time on every view), and after ``refresh_s`` anyway.
    """
    if not bursts:
        return True
    quiet = [b for b in bursts if not b.busy]
    if quiet:
        return free and now - quiet[-1].clock >= refresh_s
    age = now - bursts[-1].clock
    return (free and age >= refresh_s / 12) or age >= refresh_s


def shown(bursts: list) -> Figure:
    """The figure of what is known: the median of the quiet bursts, else of the busy ones (flagged)."""
    quiet = tuple(b for b in bursts if not b.busy)
    use = quiet or tuple(bursts)
    return Figure(ms=float(np.median([b.ms for b in use])), bursts=use, busy=not quiet)


class Meter:
    """Latency per key (an index and a query shape), shared by every session of a server; thread-safe.

    ``figure(key, query)`` answers at once from what is known, measuring first (one burst, ~10
    queries) only when ``due``. A busy burst is dropped as soon as a quiet one is known.
    """

    def __init__(self, repeats: int = REPEATS, keep: int = KEEP, refresh_s: float = REFRESH_S):
        self.repeats, self.keep, self.refresh_s = repeats, keep, refresh_s
        self._bursts: dict = {}
        self._measuring: set = set()
        self._lock = threading.Lock()

    def figure(self, key, query) -> Figure:
        with self._lock:
            known = list(self._bursts.get(key, ()))
            elsewhere = key in self._measuring  # another session is measuring this key right now
        now = time.monotonic()
        if known and (elsewhere or not due(known, now, True, self.refresh_s) or not due(known, now, free_now(),
                                                                                        self.refresh_s)):
            return shown(known)
        if elsewhere:  # the very first burst is being taken by another session: take one of our own, keep nothing
            return shown([measure(query, self.repeats)])
        with self._lock:
            self._measuring.add(key)
        try:
            burst = measure(query, self.repeats)
        finally:
            with self._lock:
                self._measuring.discard(key)
        with self._lock:
            kept = [b for b in self._bursts.get(key, ()) if not (b.busy and not burst.busy)] + [burst]
            self._bursts[key] = kept = kept[-self.keep:]
        return shown(kept)

    def bursts(self, key) -> tuple:
        """What is known about ``key``, oldest first (for tests and reports)."""
        with self._lock:
            return tuple(self._bursts.get(key, ()))
