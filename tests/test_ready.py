"""A newcomer's first start: ``python -m recsys ready`` (what ``make run`` calls), then every page in Chromium.

``ready`` on an empty home trains one run of every kind (retrieval, then item-to-item and ranking
on its split), one progress bar per run; a second start finds them and loads no TensorFlow. Then
a real server on that home shows every section of every page full on the first visit, with no
click: the item-to-item column of *Per movie* and both stages of *Per user* included.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.store import kinds
from tests.browser import home_with_data, new_page
from tests.serve import IDLE_JS, ROOT, streamlit_server

pytestmark = pytest.mark.browser  # the real app in Chromium (tests/browser.py)

# What a page says when a section is empty and needs a click or a training first.
EMPTY = ("No trained run", "No item-to-item run", "No ranking run", "Train one now", "No saved runs")


def recsys_cli(home: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recsys", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "RECSYS_HOME": str(home)})


@pytest.fixture(scope="module")
def first_start(ml100k, tmp_path_factory):
    """A fresh home (the parsed dataset shared), after one ``ready`` (tutorial presets, where a kind has one)."""
    home = home_with_data(tmp_path_factory, "first-start")
    out = recsys_cli(home, "ready", "--preset", "tutorial")
    assert out.returncode == 0, out.stderr[-2000:]
    return home, out


def test_ready_trains_every_kind_once_with_one_bar_each(first_start, cli, monkeypatch):
    from recsys.store import runs

    home, out = first_start
    monkeypatch.setenv("RECSYS_HOME", str(home))  # in this process too, for the store and the commands below
    found = {name: runs.list_runs(kind=name) for name in kinds.KINDS}
    assert {name: len(r) for name, r in found.items()} == {name: 1 for name in kinds.KINDS}
    retrieval = found["retrieval"][0]
    for name, (run,) in found.items():  # each kind's preset, all on the retrieval run's split
        assert run.config == kinds.KINDS[name].preset("tutorial").with_(**dict(zip(
            ("variant", "split", "split_fraction", "seed"), retrieval.config.split_of())))
    # one bar per run: each ends on its own line, naming the run it trained
    finished = [line.rsplit("\r", 1)[-1] for line in out.stderr.splitlines() if "%" in line and "trained" in line]
    assert len(finished) == 3 and all("100%" in line for line in finished)
    for i, (name, line) in enumerate(zip(kinds.KINDS, finished), 1):  # in the table's order: retrieval first
        assert line.startswith(f"[{i}/3] {kinds.KINDS[name].noun}") and found[name][0].run_id in line, line

    # A second start finds all three and trains nothing, without loading TensorFlow.
    again = subprocess.run(
        [sys.executable, "-c", "import sys, json; from recsys.cli import main; main(['ready', '--json']); "
                               "print(json.dumps('tensorflow' in sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "RECSYS_HOME": str(home)})
    assert again.returncode == 0, again.stderr[-2000:]
    report, tf_loaded = [json.loads(line) for line in again.stdout.strip().splitlines()[-2:]]
    assert report["trained"] == [] and not tf_loaded
    assert report["runs"] == {name: run.run_id for name, (run,) in found.items()}

    # runs --delete takes a unique prefix, for any kind; a wrong id is one line, no traceback (in this process:
    # a command's behaviour, not a start-up's, so no second TensorFlow start)
    out = cli("runs", "--delete", found["ranking"][0].run_id[:6], "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"deleted": found["ranking"][0].run_id}
    out = cli("runs", "--delete", "zzzz")
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    out = cli("ready", "--preset", "tutorial", "--json")  # the missing kind is trained again, alone
    assert out.returncode == 0 and len(json.loads(out.stdout.strip().splitlines()[-1])["trained"]) == 1


def test_every_section_of_every_page_is_full_on_the_first_visit(first_start, chromium):
    home, _ = first_start
    pages = {  # path -> (text that shows the page is done, how many tables at least)
        "/": ("Where to go next", 0),
        "/train": ("Nothing trained in this session yet", 0),
        "/recommend": ("NDCG@10, after stage 2", 5),  # profile, BruteForce, ScaNN, stage 1, stage 2
        "/recommend?mode=movie": ("Item-to-item model · hit rate @10", 5),  # three answers, BruteForce, ScaNN
        "/ann": ("Speedup (one query at a time)", 1),
        "/compare": ("Ranking runs", 3),  # retrieval, item-to-item and ranking runs
        "/embeddings": ("Embedding map", 0),
    }
    # A server of its own on the home ``ready`` filled. Each page is loaded afresh (``goto``): a new Streamlit
    # session, so a first visit (one browser tab: a new context per page costs Chromium seconds of its start-up).
    with streamlit_server(home, timeout_s=120) as url, new_page(chromium) as page:
        for path, (done, tables) in pages.items():
            page.goto(url + path)
            page.get_by_text(done, exact=False).first.wait_for(timeout=300_000)
            page.wait_for_function(f"() => {IDLE_JS} && !document.querySelector('[data-testid=\"stSpinner\"]')",
                                   timeout=300_000)
            body = page.inner_text("body")
            assert page.locator('[data-testid="stException"]').count() == 0, path
            assert "Traceback" not in body and "Error:" not in body, (path, body[:2000])
            assert not [e for e in EMPTY if e in body], (path, [e for e in EMPTY if e in body])
            assert page.locator('[data-testid="stDataFrame"]').count() >= tables, path
