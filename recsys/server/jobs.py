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
- One training per session: a watcher that already waits for a queued or running job
  cannot queue another one (``Busy`` says which; cancel it first). Joining a job someone
  else queued, or loading a saved run, is always allowed.
- Training runs in worker processes (``recsys/server/worker.py``: one per concurrent training,
  long-lived, TensorFlow imported once), never in the server's interpreter. Their progress
  comes back as events; a worker that dies fails its job with a clear message and is replaced.
- Pages read ``job.snapshot()`` to draw progress (the Train page from an ``st.fragment`` that
  reruns every half second); ``follow`` replays a job's progress to a ``train.Callback`` until
  it ends, for code that waits (a sweep).
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
from recsys.server.worker import Worker
from recsys.data import prepared


class Busy(UserError):
    """This session already waits for another training (one at a time); ``job`` is that one."""

    def __init__(self, job):
        super().__init__(f"This session already has a training {job.state}: {job.config.label()}. One training per "
                         "session at a time: cancel it first, or wait for it.")
        self.job = job


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
    tag: str = ""                    # runs.data_tag(ds)
    pid: int = 0                     # the worker process that trains it
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


class JobQueue:
    """The server's queue; ``close()`` (or ``with``) stops its worker processes."""

    def __init__(self, max_concurrent: int | None = None, root=None):
        self.max_concurrent = max(1, int(max_concurrent or os.environ.get("RECSYS_MAX_TRAININGS", 1)))
        self.root = root
        self._lock = threading.RLock()    # re-entrant: a worker's event may finish a job and dispatch the next
        self._jobs: dict[str, Job] = {}   # run_id -> live (queued/running) job
        self._order: list[str] = []       # FIFO of queued run ids
        self._running = 0
        self._workers: list[Worker] = []
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Stop the worker processes (a job still training is lost)."""
        with self._lock:
            self._closed, workers, self._workers = True, self._workers, []
        for w in workers:
            w.close()

    def worker_pids(self) -> list[int]:
        """The worker processes alive now (for the load test and the crash test)."""
        with self._lock:
            return [w.pid for w in self._workers if w.alive]

    def submit(self, config: TrainConfig, ds=None, watcher: str | None = None) -> Job:
        """The job for this config: done at once if saved, shared if already in flight."""
        config = config.validate()
        ds = ds or prepared.load_dataset(config.variant)
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
            mine = self.watched_by(watcher)
            if mine:  # a new training would be this session's second one
                raise Busy(mine[0])
            job = Job(rid, config, watchers={watcher}, ds=ds, tag=runs.data_tag(ds))
            self._jobs[rid] = job
            self._order.append(rid)
            self._dispatch()
            return job

    def watched_by(self, watcher: str) -> list:
        """The queued or running jobs ``watcher`` waits for (call with the lock held, or accept a snapshot)."""
        return [j for j in list(self._jobs.values()) if not j.done and not j.stopping and watcher in j.watchers]

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
            elif orphan and job.state == "running":
                self._stop(job)

    def _dispatch(self) -> None:  # called with self._lock held
        while self._running < self.max_concurrent and self._order and not self._closed:
            worker = next((w for w in self._workers if w.alive and w.job is None), None)
            if worker is None:
                worker = self._spawn()
            rid = self._order.pop(0)
            job = self._jobs[rid]
            self._running += 1
            job.state, job.started, job.pid = "running", time.time(), worker.pid
            worker.train(rid, job.config, job.ds, job.tag, self.root)

    def _spawn(self) -> Worker:  # called with self._lock held
        holder: list[Worker] = []
        worker = Worker(lambda msg: self._on_event(holder[0], msg))
        holder.append(worker)
        self._workers.append(worker)
        return worker

    def _stop(self, job: Job) -> None:  # called with self._lock held: nobody watches a running job any more
        with job._lock:
            job.stopping = True
        worker = next((w for w in self._workers if w.job == job.run_id), None)
        if worker is not None:
            worker.cancel(job.run_id)

    def _on_event(self, worker: Worker, msg: tuple) -> None:
        """A message from a worker (its reader thread): progress, a job's end, or the worker's death."""
        kind, rid = msg[0], msg[1] if len(msg) > 1 else None
        with self._lock:
            job = self._jobs.get(rid) if isinstance(rid, str) else None
            if kind == "batch" and job is not None:
                with job._lock:
                    job.epoch, job.step, job.steps, job.loss = msg[2:6]
                    orphan = not job.watchers and not job.stopping
                if orphan:
                    self._stop(job)
            elif kind == "epoch" and job is not None:
                with job._lock:
                    job.history.append(msg[2])
            elif kind in ("done", "failed", "cancelled", "died"):
                if kind == "died" and worker in self._workers:
                    self._workers.remove(worker)
                    if worker.ready and not self._closed:
                        self._spawn()  # its replacement starts now, so the next click does not wait for it
                if job is None or job.state != "running":
                    self._dispatch()
                    return
                state = kind
                if kind == "done":
                    try:
                        job.run, job.reused = runs.load(rid, self.root), msg[2]
                    except UserError as e:
                        job.error, state = f"the training ended but its run could not be read: {e}", "failed"
                elif kind == "failed":
                    job.error = msg[2]
                elif kind == "died":
                    job.error, state = died_message(msg[2], job, worker.ready), "failed"
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


def died_message(exitcode, job: Job, started: bool = True) -> str:
    """What the Train page says when the worker process died under a job (or could not start at all)."""
    how = f"killed by signal {-exitcode}" if isinstance(exitcode, int) and exitcode < 0 else f"exit code {exitcode}"
    if not started:
        return (f"The training worker (process {job.pid}) could not start ({how}); the server's log says why. The app "
                "itself is fine: press Train to try again.")
    return (f"The training worker (process {job.pid}) stopped unexpectedly while training this model ({how}); "
            "this can be the machine running out of memory. The app itself is fine and a fresh worker takes the next "
            "training: press Train to try again.")
