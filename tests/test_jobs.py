"""The shared training queue: identical requests train once, a limit on concurrent trainings, cancel."""
import threading

from recsys.store import jobs, runs
from tests.helpers import TINY

# Fresh runs differ from the other tests' by their learning rate, not their seed: the same split (seed 42),
# so they share its baselines, tuned once per session.


def test_identical_requests_share_one_training(ml100k, tmp_path):
    q = jobs.JobQueue(max_concurrent=1, root=tmp_path)
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
    assert len(runs.list_runs(tmp_path)) == 1
    later = q.submit(config, ml100k)                      # saved now: loaded, not trained
    assert later.state == "done" and later.reused and later.run.run_id == job.run.run_id


def test_queue_positions_and_cancel(ml100k, tmp_path):
    q = jobs.JobQueue(max_concurrent=1, root=tmp_path)
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
    assert [r.run_id for r in runs.list_runs(tmp_path)] == [third.run_id]

