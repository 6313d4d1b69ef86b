"""A newcomer's first start, then the app in a real browser: ``python -m recsys ready``, and ``streamlit run app.py``
on the home it filled, driven by Debian's chromium through Playwright.

``ready`` on an empty home trains one run of every kind (retrieval, then item-to-item and ranking on
its split), one progress bar per run; a second start finds them and loads no TensorFlow. Then one
app server on that home: every section of every page is full on its first visit, with no button to press (the
item-to-item column of *Per movie* and both stages of *Per user* included), the server's very first
request being a deep link. Then, on the same server, what a newcomer does: trains a tiny model
through the UI, shows its code and downloads it, asks for recommendations for user 42, "for me" and
for "Star Wars (1977)", trains the item-to-item model from the Recommend page, and takes the run home
from Compare; and a history-encoder run lists movies for a few liked ones. No error or traceback is
ever shown. With ``$RECSYS_SCREENSHOTS`` set (``make screenshots`` points it at docs/screenshots/,
the README's copies) a full-page screenshot of each page goes there; the suite alone saves none, so
it never changes a tracked file.
"""
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from recsys.notebook import writer
from recsys.store import kinds, runs
from tests import shared_runs
from tests.browser import check_clean, home_with_data, new_page, open_train, settle
from tests.serve import ROOT, streamlit_server

SHOTS = os.environ.get("RECSYS_SCREENSHOTS")
# What a page says when a section is empty and needs a click or a training first.
EMPTY = ("No trained run", "No item-to-item run", "No ranking run", "Train one now", "No saved runs")
# A tiny model; 2 epochs so the curves are lines; a learning rate of its own (no test outside this file trains it)
# so that the URL shows it was mirrored. The journey's click trains it; the *for me* test's click may load it.
TINY_QUERY = "embedding_dim=8&epochs=2&batch_size=4096&learning_rate=0.3"
DONE = re.compile("and saved as run|Loaded a saved run")  # trained now, or trained by an earlier test of the file


def screenshot(page, name: str) -> None:
    """Full-page screenshot into ``$RECSYS_SCREENSHOTS`` when set: grow the viewport to the main area's height."""
    if not SHOTS:
        return
    height = page.evaluate(
        "() => Math.max(document.body.scrollHeight,"
        " ...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], section.main, "
        "[data-testid=\"stAppViewContainer\"]')).map(e => e.scrollHeight))")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(800)  # vega and graphviz draw after their data arrives
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SHOTS) / name), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


@pytest.fixture(scope="module")
def first_start(ml100k, tmp_path_factory):
    """A fresh home (the parsed dataset shared) after one ``ready --preset tutorial``, and what it printed on stderr.

    ``ready`` runs in this process (the command's behaviour is what is checked here; the second start below is
    a process of its own, since loading no TensorFlow is a property of a process)."""
    from recsys.cli import main

    home = home_with_data(tmp_path_factory, "first-start")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        mp.setenv("RECSYS_HOME", str(home))
        rc = main(["ready", "--preset", "tutorial"])
    assert rc == 0, err.getvalue()[-2000:]
    for run in runs.list_runs(home / "runs", kind=None):  # its item-to-item run is tests/test_kinds.py's "our best"
        shared_runs.publish(run)
    return home, err.getvalue()


@pytest.fixture(scope="module")
def server(first_start):
    """One ``streamlit run app.py`` on the home ``ready`` filled, for every test of this file."""
    with streamlit_server(first_start[0], timeout_s=120) as url:
        yield url


@pytest.mark.slow
def test_ready_trains_every_kind_once_with_one_bar_each(first_start, cli, monkeypatch):
    home, stderr = first_start
    monkeypatch.setenv("RECSYS_HOME", str(home))  # in this process too, for the store and the commands below
    found = {name: runs.list_runs(kind=name) for name in kinds.KINDS}
    assert {name: len(r) for name, r in found.items()} == {name: 1 for name in kinds.KINDS}
    retrieval = found["retrieval"][0]
    for name, (run,) in found.items():  # each kind's preset, all on the retrieval run's split
        assert run.config == kinds.KINDS[name].preset("tutorial").with_(**dict(zip(
            ("variant", "split", "split_fraction", "seed"), retrieval.config.split_of())))
    # one bar per run: each ends on its own line, naming the run it trained
    finished = [line.rsplit("\r", 1)[-1] for line in stderr.splitlines() if "%" in line and "trained" in line]
    assert len(finished) == 3 and all("100%" in line for line in finished)
    for i, (name, line) in enumerate(zip(kinds.KINDS, finished), 1):  # in the table's order: retrieval first
        assert line.startswith(f"[{i}/3] {kinds.KINDS[name].noun}") and found[name][0].run_id in line, line

    # A second start finds all three and trains nothing, without loading TensorFlow (a process of its own).
    again = subprocess.run(
        [sys.executable, "-c", "import sys, json; from recsys.cli import main; main(['ready', '--json']); "
                               "print(json.dumps('tensorflow' in sys.modules))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "RECSYS_HOME": str(home)})
    assert again.returncode == 0, again.stderr[-2000:]
    report, tf_loaded = [json.loads(line) for line in again.stdout.strip().splitlines()[-2:]]
    assert report["trained"] == [] and not tf_loaded
    assert report["runs"] == {name: run.run_id for name, (run,) in found.items()}

    # runs --delete takes a unique prefix, for any kind; a wrong id is one line, no traceback
    out = cli("runs", "--delete", found["ranking"][0].run_id[:6], "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"deleted": found["ranking"][0].run_id}
    out = cli("runs", "--delete", "zzzz")
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stderr.count("\n") == 1
    out = cli("ready", "--preset", "tutorial", "--json")  # the missing kind is trained again, alone
    assert out.returncode == 0 and len(json.loads(out.stdout.strip().splitlines()[-1])["trained"]) == 1


@pytest.mark.browser
def test_every_section_of_every_page_is_full_on_the_first_visit(first_start, server, chromium):
    pages = [  # (how to get there, the path it shows, text that shows the page is done, how many tables at least)
        ("/recommend", "/recommend", "NDCG@10, after stage 2", 5),  # profile, BruteForce, ScaNN, stage 1, stage 2
        ("Per movie", "/recommend", "Item-to-item model · hit rate @10", 5),  # three answers, BruteForce, ScaNN
        ("Home", "/", "Where to go next", 0),
        ("Train", "/train", "Nothing trained in this session yet", 0),
        ("ANN lab", "/ann", "Speedup (one query at a time)", 1),
        ("Compare runs", "/compare", "Ranking runs", 3),  # retrieval, item-to-item and ranking runs
        ("Embedding map", "/embeddings", "Embedding map", 0),
    ]
    # The server's very first request is a deep link (a teacher's shared URL after a restart): it must open the
    # page inside app.py's navigation. Then a visitor's tour in that session: Per movie, and every page from the
    # sidebar, each drawn for the first time on this server (whose caches are all cold).
    with new_page(chromium) as page:
        for how, path, done, tables in pages:
            if how.startswith("/"):
                page.goto(server + how)
            elif how == "Per movie":
                page.get_by_text(how, exact=True).click()
            else:
                page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=how).click()
            settle(page, done, timeout_s=300)
            assert urllib.parse.urlparse(page.url).path == path, (how, page.url)
            body = page.inner_text("body")
            assert page.locator('[data-testid="stException"]').count() == 0, how
            assert "Traceback" not in body and "Error:" not in body, (how, body[:2000])
            assert not [e for e in EMPTY if e in body], (how, [e for e in EMPTY if e in body])
            assert page.locator('[data-testid="stDataFrame"]').count() >= tables, how
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "ANN lab" in nav and "Embedding map" in nav and "shared" not in nav.lower(), (how, nav)


@pytest.mark.browser
def test_a_newcomers_journey_in_chromium(first_start, server, chromium):
    """Train the tiny config; its code and downloads; Recommend per user, "for me", per movie; Home; Compare."""
    items = Path(first_start[0]) / "runs"
    for run in runs.list_runs(items, kind="item_to_item"):  # so that Per movie offers to train one (the button is
        runs.delete(run.run_id, items)                      # checked below)
    with new_page(chromium) as page:
        open_train(page, server, TINY_QUERY)
        page.get_by_role("button", name="Train", exact=True).click()
        settle(page, DONE)
        check_clean(page)
        assert "embedding_dim=8" in page.url and "learning_rate=0.3" in page.url  # settings mirrored in the URL
        page.locator('[data-testid="stDataFrame"]').first.wait_for()  # the metrics table
        assert page.locator('[data-testid="stDataFrame"]').count() == 1
        screenshot(page, "train.png")

        # "Show the code" marks the slider's line; the run downloads as a notebook and as a script
        page.get_by_text("Show the code").click()
        code = page.locator('[data-testid="stCode"]')
        code.first.wait_for(timeout=30_000)
        shown = "\n".join(code.all_inner_texts())
        assert "tfrs.tasks.Retrieval(" in shown and "tfrs.layers.factorized_top_k.ScaNN" in shown
        marked = [line for line in shown.splitlines() if line.rstrip().endswith(writer.MARK)]
        assert any("embedding_dimension = 8" in line for line in marked), marked  # the slider's line, marked
        assert not any("tfrs.tasks.Retrieval(" in line for line in marked)  # the tutorial's lines are not
        check_clean(page)
        files = {}
        for label in ("Download as notebook", "Download as script"):
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name=label).click()
            files[label] = Path(download.value.path()).read_text()
        nb = nbformat.reads(files["Download as notebook"], as_version=4)
        nbformat.validate(nb)
        assert "embedding_dimension = 8" in "".join(c.source for c in nb.cells)
        compile(files["Download as script"], "script", "exec")

        page.get_by_role("link", name="Recommend").first.click()  # same session: the new run is active
        settle(page, "Overlap@10")
        check_clean(page)
        assert page.get_by_text("Top 10 for user 42").count() == 1
        page.locator('[data-testid="stDataFrame"]').nth(2).wait_for()  # highest rated, BruteForce, ScaNN
        screenshot(page, "recommend_user.png")

        page.get_by_text("For me", exact=True).click()  # a run that looks users up by id says why it cannot
        settle(page, "cannot recommend for a list of movies")
        check_clean(page)
        assert page.get_by_text("looks users up by id", exact=False).count() == 1

        page.get_by_text("Per movie", exact=True).click()
        settle(page, "Top 10 movies like Star Wars (1977)")
        check_clean(page)
        page.get_by_role("button", name="Train one now").click()  # an item-to-item run on this run's split
        settle(page, "Item-to-item model · hit rate @10")
        check_clean(page)
        for name in ("Two-tower movie tower", "Item-to-item model", "Item-kNN"):  # three answers, with hit rates
            assert page.get_by_text(f"{name} · hit rate @10", exact=False).count() == 1, name
        page.get_by_text("ScaNN's knobs").click()  # a cruder index, so the two lists can differ
        for label, value in (("num_reordering_candidates", "0"), ("num_leaves_to_search", "2")):
            page.get_by_label(label, exact=True).fill(value)
            page.get_by_label(label, exact=True).press("Enter")
            page.wait_for_timeout(300)
        settle(page, "2 searched, 0 re-scored")
        check_clean(page)
        page.locator('[data-testid="stDataFrame"]').nth(4).wait_for()
        assert page.locator('[data-testid="stDataFrame"]').count() == 5  # three answers, then BruteForce, ScaNN
        screenshot(page, "recommend_movie.png")

        page.get_by_role("link", name="Home").first.click()  # in the same session (no reload of the app)
        settle(page, "Where to go next")
        check_clean(page)
        page.locator('[data-testid="stGraphVizChart"] svg').nth(1).wait_for()
        assert page.locator('[data-testid="stGraphVizChart"] svg').count() == 2
        screenshot(page, "home.png")

        page.get_by_role("link", name="Compare runs").first.click()  # the session's run, taken home from Compare
        settle(page, "Take a run home", timeout_s=120)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download as notebook").click()
        assert nbformat.reads(Path(download.value.path()).read_text(), as_version=4).cells == nb.cells


@pytest.mark.browser
def test_recommend_for_me_in_chromium(server, chromium):
    """"For me" with a history-encoder run: a list for the picks, and a shared link opens the same picks."""
    likes = "mode=me&likes=Star%20Wars%20(1977)%7CAlien%20(1979)%7CTerminator%2C%20The%20(1984)"
    with new_page(chromium) as page:
        # Our best's levers: the user tower reads the history, so picks are a user (8 epochs of the 400-d preset for
        # the README's screenshot, so that its lists are a trained model's; one epoch of 32-d is enough for what is
        # checked).
        open_train(page, server, "preset=best&epochs=8" if SHOTS else "preset=best&epochs=1&embedding_dim=32")
        page.get_by_role("button", name="Train", exact=True).click()
        settle(page, DONE)
        check_clean(page)
        page.get_by_role("link", name="Recommend").first.click()
        settle(page, "Overlap@10")
        page.get_by_text("For me", exact=True).click()
        settle(page, "Top 10 for someone who likes 2 movies")  # the default picks: Star Wars, Alien
        check_clean(page)
        assert "mode=me" in page.url and "likes=" in page.url  # the picks travel in a share link
        body = page.inner_text('[data-testid="stMain"]')
        lists = page.locator('[data-testid="stDataFrame"]')
        lists.nth(1).wait_for()
        assert lists.count() == 2  # BruteForce and ScaNN
        assert "Star Wars (1977)" in body  # a pick, shown in the picker
        screenshot(page, "recommend_for_me.png")

        page.goto(f"{server}/recommend?{likes}")  # a shared link opens the same picks in a new session
        settle(page, "Movies you like")
        check_clean(page)
        assert "Terminator, The (1984)" in page.inner_text('[data-testid="stMain"]')
