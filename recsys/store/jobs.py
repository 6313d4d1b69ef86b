"""A training queue shared by every browser session of one server.

Streamlit serves all sessions from one process, so a class that opens the app at once
must not train the same model thirty times, nor thirty models at once on two cores.

- ``submit(config)`` returns a ``Job``. A config already saved is done at once (loaded);
  a config already queued or training returns *the same* job, so identical requests
  train once and every session watching gets the result.
- At most ``max_concurrent`` jobs train at a time (default 1, ``$RECSYS_MAX_TRAININGS``);
  the others wait in FIFO order and know their place in the queue.
- A session that stops watching (``cancel``) detaches; the job itself is cancelled when
  nobody watches it any more (it stops at the next batch and saves nothing).
- Training runs in a worker thread. Pages read ``job.snapshot()`` to draw progress (the
  Train page from an ``st.fragment`` that reruns every half second); ``follow`` replays a
  job's progress to a ``train.Callback`` until it ends, for code that waits (a sweep).
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field

from recsys.config import TrainConfig
from recsys.errors import UserError
from recsys.store import runs
from recsys.training import train


class Cancelled(Exception):
    """Raised inside training when every watcher has left."""


@dataclass
class Job:
    run_id: str
    config: TrainConfig
    state: str = "queued"            # queued | running | done | failed | cancelled
    epoch: int = 0
    step: int = 0
    steps: int = 0
    loss: float = float("nan")
    history: list = field(default_factory=list)
    run: object = None               # the saved runs.Run when done
    reused: bool = False             # True when the run was loaded instead of trained
    error: str = ""
    submitted: float = field(default_factory=time.time)
    started: float = 0.0
    finished: float = 0.0
    watchers: set = field(default_factory=set)
    stopping: bool = False           # cancelled while training: stops at the next batch, joins nobody
    ds: object = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict:
        """A consistent copy of the progress, for drawing."""
        with self._lock:
            return {"state": self.state, "epoch": self.epoch, "step": self.step, "steps": self.steps,
                    "loss": self.loss, "history": list(self.history), "error": self.error,
                    "reused": self.reused, "epochs": self.config.epochs}

    @property
    def done(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class _Progress(train.Callback):
    def __init__(self, job: Job):
        self.job = job

    def on_batch(self, epoch, step, steps, loss):
        with self.job._lock:
            self.job.epoch, self.job.step, self.job.steps, self.job.loss = epoch, step, steps, loss
            if not self.job.watchers:
                self.job.stopping = True
                raise Cancelled()

    def on_epoch(self, record):
        with self.job._lock:
            self.job.history.append(record)


class JobQueue:
    def __init__(self, max_concurrent: int | None = None, root=None):
        self.max_concurrent = max(1, int(max_concurrent or os.environ.get("RECSYS_MAX_TRAININGS", 1)))
        self.root = root
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}   # run_id -> live (queued/running) job
        self._order: list[str] = []       # FIFO of queued run ids
        self._running = 0

    def submit(self, config: TrainConfig, ds=None, watcher: str | None = None) -> Job:
        """The job for this config: done at once if saved, shared if already in flight."""
        config = config.validate()
        ds = ds or train.load_dataset(config.variant)
        rid = runs.run_id(config, runs.data_tag(ds))
        watcher = watcher or uuid.uuid4().hex
        with self._lock:
            live = self._jobs.get(rid)
            if live is not None and not live.done:
                with live._lock:
                    if not live.stopping:  # a job already giving up is not joined: a new one queues
                        live.watchers.add(watcher)
                        return live
            saved = runs.find(config, ds, self.root)
            if saved is not None:
                job = Job(rid, config, state="done", run=saved, reused=True, history=list(saved.history),
                          watchers={watcher}, finished=time.time())
                return job
            job = Job(rid, config, watchers={watcher}, ds=ds)
            self._jobs[rid] = job
            self._order.append(rid)
            self._dispatch()
            return job

    def live(self, run_id: str) -> Job | None:
        """The queued or training job of this run id, if any (what a new request for it would join)."""
        with self._lock:
            job = self._jobs.get(run_id)
            return job if job is not None and not job.done else None

    def ahead(self, job: Job) -> int:
        """How many jobs will train before this one starts: those training, plus those queued before it."""
        with self._lock:
            if job.state != "queued" or job.run_id not in self._order:
                return 0
            return self._running + self._order.index(job.run_id)

    def position(self, job: Job) -> int:
        """0 while training, n when n jobs are ahead in the queue (1 = next)."""
        with self._lock:
            if job.state != "queued":
                return 0
            return self._order.index(job.run_id) + 1 if job.run_id in self._order else 0

    def cancel(self, job: Job, watcher: str) -> None:
        """Stop watching; the job is cancelled when it has no watchers left."""
        with self._lock:
            with job._lock:
                job.watchers.discard(watcher)
                orphan = not job.watchers
            if orphan and job.state == "queued":
                self._order.remove(job.run_id)
                self._finish(job, "cancelled")

    def _dispatch(self) -> None:  # called with self._lock held
        while self._running < self.max_concurrent and self._order:
            rid = self._order.pop(0)
            job = self._jobs[rid]
            self._running += 1
            job.state, job.started = "running", time.time()
            threading.Thread(target=self._work, args=(job,), name=f"train-{rid}", daemon=True).start()

    def _work(self, job: Job) -> None:
        try:
            run, reused = runs.train_or_load(job.config, job.ds, _Progress(job), self.root)
            job.run, job.reused = run, reused
            state = "done"
        except Cancelled:
            state = "cancelled"
        except UserError as e:
            job.error, state = str(e), "failed"
        except Exception as e:  # a bug: keep the server alive, show what happened
            job.error, state = f"{type(e).__name__}: {e}", "failed"
        with self._lock:
            self._running -= 1
            self._finish(job, state)
            self._dispatch()

    def _finish(self, job: Job, state: str) -> None:  # called with self._lock held
        with job._lock:
            job.state, job.finished = state, time.time()
        if self._jobs.get(job.run_id) is job:  # not a newer job for the same config
            del self._jobs[job.run_id]

    def follow(self, job: Job, callback=None, on_wait=None, poll: float = 0.25) -> tuple:
        """Wait for ``job``, replaying its progress to ``callback``; ``(run, reused)`` once it is done.

        Every ``poll`` seconds the job's snapshot is read: each new epoch record goes to
        ``callback.on_epoch``, the latest batch to ``callback.on_batch``. While the job is
        queued, ``on_wait(ahead, seconds)`` is called each time (``ahead``: the jobs that train
        before it). A failed or cancelled job raises ``UserError`` with its message.

        Streamlit stops a script only where it draws, so a page's ``callback``/``on_wait``
        should draw on every call: a click elsewhere then ends this wait at once.
        """
        began, epochs_seen, last_step = time.monotonic(), 0, None
        while True:
            snap = job.snapshot()
            if callback is not None:
                for record in snap["history"][epochs_seen:]:
                    callback.on_epoch(record)
                epochs_seen = len(snap["history"])
                step = (snap["epoch"], snap["step"])
                if snap["steps"] and step != last_step:
                    last_step = step
                    callback.on_batch(snap["epoch"], snap["step"], snap["steps"], snap["loss"])
            if snap["state"] == "queued" and on_wait is not None:
                on_wait(self.ahead(job), time.monotonic() - began)
            if snap["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(poll)
        if snap["state"] == "failed":
            raise UserError(snap["error"] or "training failed")
        if snap["state"] == "cancelled":
            raise UserError("the training was cancelled")
        return job.run, job.reused

    def wait(self, job: Job, timeout: float | None = None, poll: float = 0.05) -> Job:
        """Block until the job ends (for the CLI and tests; pages poll instead)."""
        end = None if timeout is None else time.time() + timeout
        while not job.done:
            if end is not None and time.time() > end:
                raise TimeoutError(f"job {job.run_id} still {job.state} after {timeout} s")
            time.sleep(poll)
        return job
