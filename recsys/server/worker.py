"""The training worker: a separate, long-lived process that trains what the job queue sends it.

Why a process and not a thread of the Streamlit server:

- a training holds a Python interpreter for seconds to minutes (TensorFlow's graph building,
  the evaluator's NumPy); in the server's own interpreter it slows every page view of every
  session while it runs;
- TensorFlow's seeds and determinism settings are process-wide: two trainings in two threads of
  one process would share them, and a run would no longer be reproducible from its config;
- a crash in native code (out of memory, a segfault in a kernel) kills the process it runs in:
  here that is the worker, and the server says so and starts a fresh one.

The worker runs at a lower CPU priority (``nice`` 10, ``$RECSYS_WORKER_NICE`` to change it): on a
two-core machine a training would otherwise take a full share of the cores from the server, and
every student's page view would wait behind it. Page views are short and someone is waiting for
each; a training is long and waits anyway. When nobody is browsing, the training gets the cores.

One worker trains one model at a time, so ``$RECSYS_MAX_TRAININGS`` workers train that many at
once, each with its own seeds. The worker imports TensorFlow once when it starts; then each job
costs only its training.

The protocol over one socket pair (``multiprocessing.connection``: pickled tuples):

    server -> worker   ("train", run_id, config, data_tag, dataset or None, root, $RECSYS_HOME)
                       ("cancel", run_id)           stop at the next batch, save nothing
                       ("stop",)                    exit after the current job
    worker -> server   ("ready", pid)
                       ("batch", run_id, epoch, step, steps, loss)   at most every 50 ms
                       ("epoch", run_id, record)
                       ("done", run_id, reused) | ("failed", run_id, message) | ("cancelled", run_id)

A dataset crosses the pipe once per worker (the worker keeps the last two it was sent); the run
itself comes back through the run store on disk, where the worker saved it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

BATCH_EVERY_S = 0.05   # batch events are throttled to this interval (the page redraws twice a second)
KEEP_DATASETS = 2
NICE = 10              # the worker's CPU priority below the server's (see the module docstring)


class Worker:
    """The server's handle on one worker process: send it jobs, get their events through ``on_event``.

    ``on_event(msg)`` is called from this handle's reader thread for every message the worker
    sends, and once with ``("died", run_id or None, exit code)`` if the process ends while the
    server still uses it (killed, out of memory, a crash in native code).
    """

    def __init__(self, on_event):
        import recsys

        self.on_event = on_event
        # A fresh interpreter (``python -m recsys.server.worker``), not a fork: no TensorFlow state is copied, and
        # nothing depends on how the server itself was started (streamlit, pytest, a notebook).
        mine, theirs = socket.socketpair()
        env = dict(os.environ)
        here = str(Path(recsys.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([here, *filter(None, [env.get("PYTHONPATH")])])
        self.process = subprocess.Popen([sys.executable, "-m", "recsys.server.worker", str(theirs.fileno())],
                                        pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(mine.detach())
        self.job: str | None = None     # the run id it trains now
        self.tags: list[str] = []       # the datasets it holds, oldest first
        self.alive = True
        self.ready = False              # it started and imported TensorFlow (a worker that never did is not restarted)
        self._send_lock = threading.Lock()
        self._stopping = False
        threading.Thread(target=self._read, name=f"worker-{self.process.pid}-reader", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def train(self, run_id: str, config, ds, tag: str, root) -> None:
        """Start training ``config`` on ``ds`` (sent only if the worker does not hold it already)."""
        self.job = run_id
        send = None if tag in self.tags else ds
        if send is not None:
            self.tags = (self.tags + [tag])[-KEEP_DATASETS:]
        home = os.environ.get("RECSYS_HOME")  # the server's, now: a worker outlives changes to it
        self._send(("train", run_id, config, tag, send, None if root is None else str(root), home))

    def cancel(self, run_id: str) -> None:
        self._send(("cancel", run_id))

    def close(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit (after its current job), then make sure it has."""
        self._stopping = True
        self._send(("stop",))
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        self._conn.close()

    def _send(self, msg) -> None:
        with self._send_lock:
            try:
                self._conn.send(msg)
            except (OSError, ValueError):  # the worker is gone: the reader reports it
                pass

    def _read(self) -> None:
        while True:
            try:
                msg = self._conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "ready":
                self.ready = True
            if msg[0] in ("done", "failed", "cancelled"):
                self.job = None
            self.on_event(msg)
        self.alive = False
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        if not self._stopping:
            self.on_event(("died", self.job, code))


# ----------------------------------------------------------------------------- inside the worker process


class _Cancelled(Exception):
    pass


def main(conn) -> None:
    """The worker process: import TensorFlow once, then train each job it is sent, one at a time."""
    try:  # first, so that every thread TensorFlow starts inherits it (on Linux a thread's priority is its own)
        os.nice(int(os.environ.get("RECSYS_WORKER_NICE", NICE)))
    except (OSError, ValueError):  # not allowed here, or a bad value: train at the server's priority
        pass
    import queue

    from recsys.errors import UserError
    from recsys.store import runs
    from recsys.training import train

    inbox: queue.Queue = queue.Queue()
    cancelled: set = set()

    def listen():
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the server is gone: nobody to train for
                os._exit(0)
            if msg[0] == "cancel":
                cancelled.add(msg[1])
            else:
                inbox.put(msg)
                if msg[0] == "stop":
                    return

    threading.Thread(target=listen, daemon=True).start()
    conn.send(("ready", os.getpid()))
    datasets: dict = {}

    class Relay(train.Callback):
        def __init__(self, rid):
            self.rid, self.last = rid, 0.0

        def on_batch(self, epoch, step, steps, loss):
            if self.rid in cancelled:
                raise _Cancelled()
            now = time.monotonic()
            if now - self.last >= BATCH_EVERY_S or step == steps:
                self.last = now
                conn.send(("batch", self.rid, epoch, step, steps, float(loss)))

        def on_epoch(self, record):
            conn.send(("epoch", self.rid, record))

    while True:
        msg = inbox.get()
        if msg[0] == "stop":
            return
        _, rid, config, tag, ds, root, home = msg
        if home is None:
            os.environ.pop("RECSYS_HOME", None)
        else:
            os.environ["RECSYS_HOME"] = home
        if ds is not None:
            datasets[tag] = ds
            while len(datasets) > KEEP_DATASETS:
                datasets.pop(next(iter(datasets)))
        try:
            if rid in cancelled:
                raise _Cancelled()
            _, reused = runs.train_or_load(config, datasets[tag], Relay(rid), None if root is None else Path(root))
            conn.send(("done", rid, reused))
        except _Cancelled:
            conn.send(("cancelled", rid))
        except UserError as e:
            conn.send(("failed", rid, str(e)))
        except Exception as e:  # a bug: this job fails with its message, the worker goes on
            conn.send(("failed", rid, f"{type(e).__name__}: {e}"))
        cancelled.discard(rid)


if __name__ == "__main__":  # python -m recsys.server.worker FD: started by Worker, talks over the socket FD
    main(Connection(int(sys.argv[1])))
    # Asked to stop, between jobs: every run it trained is saved. Skip the interpreter's teardown (~1 s of CPU
    # with TensorFlow loaded), so that a server's shutdown does not wait for it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
