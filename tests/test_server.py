"""The training server (``recsys/server/``): a queue of worker processes; identical requests train once, a limit
on concurrent trainings, cancel; every kind of run trains there."""
import os
import threading
from pathlib import Path

import pytest

from recsys.server import jobs, worker
from recsys.store import runs
from tests.helpers import TINY, TINY_RANKING

# Fresh runs differ from the other tests' by their learning rate, not their seed: the same split (seed 42),
# so they share its baselines, tuned once per session.


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    """One queue (one worker process, TensorFlow imported once) for the tests below, in its own run store."""
    with jobs.JobQueue(max_concurrent=1, root=tmp_path_factory.mktemp("queue-runs")) as q:
        yield q


@pytest.mark.slow
def test_identical_requests_share_one_training(ml100k, queue):
    q = queue
    config = TINY.with_(learning_rate=0.101)
    results = []

    def session(name):
        job = q.submit(config, ml100k, watcher=name)
        results.append(q.wait(job, timeout=300))

    threads = [threading.Thread(target=session, args=(f"s{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(j) for j in results}) == 1            # one job for all three sessions
    job = results[0]
    assert job.state == "done" and not job.reused and job.watchers == {"s0", "s1", "s2"}
    assert [r.run_id for r in runs.list_runs(q.root)].count(job.run_id) == 1
    later = q.submit(config, ml100k)                      # saved now: loaded, not trained
    assert later.state == "done" and later.reused and later.run.run_id == job.run.run_id


@pytest.mark.slow
def test_queue_positions_and_cancel(ml100k, queue):
    q = queue
    first = q.submit(TINY.with_(learning_rate=0.201, epochs=3), ml100k, watcher="a")
    second = q.submit(TINY.with_(learning_rate=0.202), ml100k, watcher="b")
    third = q.submit(TINY.with_(learning_rate=0.203), ml100k, watcher="c")
    assert first.state == "running" and q.position(first) == 0
    assert (q.position(second), q.position(third)) == (1, 2)
    assert (q.ahead(first), q.ahead(second), q.ahead(third)) == (0, 1, 2)  # the training one counts as ahead
    assert q.live(second.run_id) is second and q.submit(second.config, ml100k, watcher="b2") is second
    q.cancel(second, "b2")
    q.cancel(second, "b")                                 # its only watcher left: never trains
    assert second.state == "cancelled" and q.position(third) == 1
    q.cancel(first, "a")                                  # running: stops at the next batch
    q.wait(first, timeout=300)
    assert first.state == "cancelled"
    q.wait(third, timeout=300)
    assert third.state == "done"
    saved = {r.run_id for r in runs.list_runs(q.root)}
    assert third.run_id in saved and not {first.run_id, second.run_id} & saved


@pytest.mark.slow
def test_one_training_per_session(ml100k, queue):
    """A session waiting for a training cannot queue a second one; it may still join another's, or load a saved run."""
    q = queue
    mine = q.submit(TINY.with_(learning_rate=0.301, epochs=3), ml100k, watcher="a")
    theirs = q.submit(TINY.with_(learning_rate=0.302), ml100k, watcher="b")
    try:
        q.submit(TINY.with_(learning_rate=0.303), ml100k, watcher="a")
        raise AssertionError("a second training from the same session was queued")
    except jobs.Busy as e:
        assert e.job is mine and "One training per session" in str(e)
    assert q.submit(theirs.config, ml100k, watcher="a") is theirs   # joining someone else's job: allowed
    assert q.position(theirs) == 1 and len(q.watched_by("a")) == 2
    q.cancel(theirs, "a")
    q.cancel(mine, "a")                                             # cancelled: the session may queue again
    q.wait(mine, timeout=300)
    assert mine.state == "cancelled" and q.watched_by("a") == []
    again = q.submit(TINY.with_(learning_rate=0.303), ml100k, watcher="a")
    q.wait(again, timeout=300)
    q.wait(theirs, timeout=300)
    assert (again.state, theirs.state) == ("done", "done")
    busy = q.submit(TINY.with_(learning_rate=0.304), ml100k, watcher="a")
    assert q.submit(again.config, ml100k, watcher="a").reused       # a saved run loads while "a" trains another
    q.cancel(busy, "a")
    q.wait(busy, timeout=300)


@pytest.mark.slow
def test_the_server_worker_trains_a_ranking_run(ml100k, queue):
    config = TINY_RANKING.with_(learning_rate=0.11, epochs=1)
    job = queue.wait(queue.submit(config, ml100k), timeout=300)
    assert job.state == "done", job.error
    assert job.run.kind == "ranking" and [r["epoch"] for r in job.history] == [1]
    assert job.run.run_id == runs.run_id(config, runs.data_tag(ml100k))


@pytest.mark.slow
def test_training_runs_in_worker_processes_and_is_reproducible_two_at_a_time(ml100k, queue, tmp_path):
    """Two trainings at once, each in its own worker process, give what one alone gives (seeds are per process).

    The module's queue, allowed a second training at once from here on: its worker takes one job, a second worker
    starts for the other (the last test of the file, so no test above sees the higher limit)."""
    import numpy as np

    a, b = TINY.with_(learning_rate=0.401, epochs=2), TINY.with_(learning_rate=0.402, epochs=2)
    q = queue
    q.max_concurrent = 2
    ja, jb = q.submit(a, ml100k, watcher="a"), q.submit(b, ml100k, watcher="b")
    assert ja.state == jb.state == "running" and ja.pid != jb.pid and os.getpid() not in (ja.pid, jb.pid)
    assert sorted(q.worker_pids()) == sorted([ja.pid, jb.pid])
    for pid in (ja.pid, jb.pid):  # below the server's priority, every thread of it (TensorFlow's included)
        threads = list(Path(f"/proc/{pid}/task").iterdir())
        assert len(threads) >= 2
        assert {os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in threads} == {os.nice(0) + worker.NICE}
    q.wait(ja, timeout=300)
    q.wait(jb, timeout=300)
    (tmp_path / "alone").mkdir()
    alone, reused = runs.train_or_load(a, ml100k, root=tmp_path / "alone")  # in this process, by itself
    assert (ja.state, jb.state) == ("done", "done"), (ja.error, jb.error)
    assert not reused
    assert ja.run.metrics["model"] == alone.metrics["model"]
    for mine, theirs in zip(ja.run.vectors, alone.vectors):
        np.testing.assert_array_equal(mine, theirs)
    assert ja.run.metrics["model"] != jb.run.metrics["model"]
