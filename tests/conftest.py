"""Shared fixtures: a fresh $RECSYS_HOME for the whole session, the real ML-100k loaded once, a tiny run.

The suite never touches a developer's own ``$RECSYS_HOME``: it always works in a new
temporary folder, removed when the session ends, seeded with the ML-100k that
``tests/data_cache.py`` fetches and parses once per machine. With ``pytest -n 2`` each worker
has a home of its own (its runs), and the workers share one ``data/`` folder (a link to one
made by the controller, or given as ``$RECSYS_TEST_DATA``): the
parsed dataset, and each split's strong baselines, tuned once for the whole run
(``recsys/training/baselines.py`` locks a split while one process tunes it).
"""
import atexit
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

# One thread per pool (TensorFlow's two, the BLAS's) in every process of the suite: the two test workers, their
# app servers and training workers share two cores, and pools sized for the whole machine in each process only
# contend (one run each: 231 s with them, 218 s on one thread). Set before anything imports NumPy or TensorFlow.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOME = tempfile.mkdtemp(prefix="recsys-test-")
os.environ["RECSYS_HOME"] = HOME  # always our own, whatever the shell exported
atexit.register(shutil.rmtree, HOME, ignore_errors=True)
if not os.environ.get("RECSYS_TEST_DATA"):  # the controller of `pytest -n` (or a plain run): the run's data folder
    DATA = tempfile.mkdtemp(prefix="recsys-test-data-")
    os.environ["RECSYS_TEST_DATA"] = DATA  # the workers, started after this, inherit it
    atexit.register(shutil.rmtree, DATA, ignore_errors=True)
os.symlink(os.environ["RECSYS_TEST_DATA"], Path(HOME) / "data")

import recsys  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before anything imports TensorFlow)
import pytest  # noqa: E402

from tests import data_cache  # noqa: E402

data_cache.seed(HOME)


# The longest files first: with ``pytest -n 2 --dist loadfile --no-loadscope-reorder`` (make test) each worker takes
# the next file when it is free, so the two finish close together when the long ones are not left for last.
# (Without --no-loadscope-reorder, pytest-xdist orders files by their number of tests instead.) Two files that need
# neither a saved run nor the default split's baselines come second: the browser tests' first start tunes those
# (~6 s, one process at a time), and the other worker, on a file that saves a run, would only wait for them. Then
# the notebook tests, whose kernel works beside the worker: two busy processes while the browser tests mostly wait
# on the page.
SLOWEST_FIRST = ("test_browser.py", "test_data.py", "test_formats.py", "test_notebook.py", "test_export.py",
                 "test_server.py", "test_pages.py", "test_two_tower.py", "test_item_to_item.py", "test_two_stage.py",
                 "test_distributed.py", "test_atomic.py", "test_kinds.py", "test_topk.py")
# Handed out last: its ``quiet`` tests wait for the other workers to finish (pytest_runtest_call below).
LAST = ("test_latency.py",)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST + ("",) + LAST)}
    items.sort(key=lambda item: rank.get(item.path.name, rank[""]))  # stable: a file's tests keep their order


def pytest_collection_finish(session):
    """What collecting imported (TensorFlow, Streamlit, Playwright, every test module: a million objects) lives as
    long as the worker: frozen out of the cycle collector's full walks, each of which would visit it all again."""
    gc.freeze()


def _finished(worker: str = "*") -> Path:
    """The file a test worker of this run leaves when its session is over (a glob pattern for all of them)."""
    return Path(os.environ["RECSYS_TEST_DATA"]) / f"finished-{os.environ['PYTEST_XDIST_TESTRUNUID']}-{worker}"


def pytest_sessionfinish(session):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _finished(os.environ["PYTEST_XDIST_WORKER"]).touch()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(pytest-xdist's controller) Whether each test file stays on one worker: then a ``quiet`` test can wait for
    the others. With ``--dist load`` (plain ``pytest -n 2``) two quiet tests may sit on two workers, each waiting
    for the other to finish: they do not wait there."""
    node.workerinput["whole_files"] = node.config.getoption("dist") in ("loadfile", "loadscope")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A ``quiet`` test makes contention of its own and asserts it was seen: it runs alone (its fixtures are set up
    already), once every other test worker has finished its session; another worker's load would make what it sees
    a coin toss."""
    me = os.environ.get("PYTEST_XDIST_WORKER")
    if me is None or item.get_closest_marker("quiet") is None or not item.config.workerinput.get("whole_files"):
        return
    others = int(os.environ["PYTEST_XDIST_WORKER_COUNT"]) - 1  # this worker's own session is not over: not counted
    pattern = _finished()
    deadline = time.monotonic() + 900
    while len(list(pattern.parent.glob(pattern.name))) < others:
        if time.monotonic() > deadline:
            pytest.fail(f"the other {others} test worker(s) did not finish within 900 s; a quiet test runs alone")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def ml100k():
    """The real ML-100k through the default `auto` loader."""
    from recsys.data import prepared

    return prepared.load_dataset("100k")


@pytest.fixture(scope="session")
def tutorial_run(ml100k):
    """The TFRS tutorial's preset, trained once per test run (3 epochs): the tutorial's numbers to check."""
    from recsys.config import TUTORIAL
    from tests import shared_runs

    return shared_runs.get(TUTORIAL, ml100k)


@pytest.fixture(scope="session")
def tiny_run(ml100k):
    """A tiny trained and saved run (dim 8, 1 epoch), trained once per test run: enough to exercise serving code."""
    from tests import shared_runs
    from tests.helpers import TINY

    return shared_runs.get(TINY, ml100k)


class CliResult:
    """What a command printed and returned, named as ``subprocess.run``'s result."""

    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys):
    """``python -m recsys ...`` in-process (no TensorFlow start-up per call): ``cli("runs", "--json")``."""
    from recsys.cli import main

    def run(*args):
        capsys.readouterr()
        rc = main(list(args))
        out = capsys.readouterr()
        return CliResult(rc, out.out, out.err)
    return run


# The browser tests' Chromium (one per test file).
from tests.browser import chromium  # noqa: E402,F401
