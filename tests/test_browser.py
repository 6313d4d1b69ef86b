"""The app in a real browser: ``streamlit run app.py`` driven by Debian's chromium through Playwright.

Opens each page, trains a tiny model through the UI, asks for recommendations for user 42,
for "Star Wars (1977)" and for a few liked movies, shows the run's code and downloads it, and
checks that no error or traceback is shown. With ``$RECSYS_SCREENSHOTS`` set (``make
screenshots`` points it at docs/screenshots/, the README's copies) it also saves a full-page
screenshot of each page there; the suite alone saves none, so it never changes a tracked file.
"""
import os
import re
from pathlib import Path

import nbformat
import pytest

from recsys.notebook import writer
from tests.browser import check_clean, new_page, open_train, settle
from tests.serve import IDLE_JS

pytestmark = pytest.mark.browser  # the real app in Chromium (tests/browser.py)

SHOTS = os.environ.get("RECSYS_SCREENSHOTS")
# A tiny model; 2 epochs so the curves are lines; a learning rate of its own (no test outside this file trains it)
# so that the URL shows it was mirrored. The first test's click trains it on the session's app server (a fresh runs
# folder); the later tests' clicks load it (tests/browser.py).
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


def test_pages_in_chromium(chromium, shared_server):
    with new_page(chromium) as page:
        open_train(page, shared_server, TINY_QUERY)
        page.get_by_role("button", name="Train", exact=True).click()
        settle(page, DONE)
        check_clean(page)
        assert "embedding_dim=8" in page.url and "learning_rate=0.3" in page.url  # settings mirrored in the URL
        page.locator('[data-testid="stDataFrame"]').first.wait_for()  # the metrics table
        assert page.locator('[data-testid="stDataFrame"]').count() == 1
        screenshot(page, "train.png")

        page.get_by_role("link", name="Recommend").first.click()  # same session: the new run is active
        settle(page, "Overlap@10")
        check_clean(page)
        assert page.get_by_text("Top 10 for user 42").count() == 1
        page.locator('[data-testid="stDataFrame"]').nth(2).wait_for()  # highest rated, BruteForce, ScaNN
        screenshot(page, "recommend_user.png")

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


def test_recommend_for_me_in_chromium(chromium, shared_server):
    """"For me": a run that looks users up by id says why it cannot; a history-encoder run lists for the picks."""
    likes = "mode=me&likes=Star%20Wars%20(1977)%7CAlien%20(1979)%7CTerminator%2C%20The%20(1984)"
    with new_page(chromium) as page:
        open_train(page, shared_server, TINY_QUERY)  # a run that looks users up by id
        page.get_by_role("button", name="Train", exact=True).click()
        settle(page, DONE)
        page.get_by_role("link", name="Recommend").first.click()
        settle(page, "Overlap@10")
        page.get_by_text("For me", exact=True).click()
        settle(page, "cannot recommend for a list of movies")
        check_clean(page)
        assert page.get_by_text("looks users up by id", exact=False).count() == 1

        # Our best's levers on a tiny scale: the user tower reads the history, so picks are a user (8 epochs for
        # the README's screenshot, so that its lists are a trained model's; 2 are enough for what is checked).
        page.goto(f"{shared_server}/train?preset=best&epochs={8 if SHOTS else 2}")
        settle(page, "Nothing trained in this session yet")
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

        page.goto(f"{shared_server}/recommend?{likes}")  # a shared link opens the same picks in a new session
        settle(page, "Movies you like")
        check_clean(page)
        assert "Terminator, The (1984)" in page.inner_text('[data-testid="stMain"]')


def test_train_page_shows_the_code_and_downloads_it_in_chromium(chromium, shared_server):
    """Train the tiny config on the Train page; "Show the code" marks its slider's line; both downloads; Compare's."""
    with new_page(chromium) as page:
        open_train(page, shared_server, TINY_QUERY)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Show the code").wait_for(timeout=300_000)
        page.wait_for_function(f"() => {IDLE_JS}", timeout=60_000)
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

        page.get_by_role("link", name="Compare runs").first.click()  # the same run, from the Compare page
        page.get_by_text("Take a run home", exact=True).wait_for(timeout=120_000)
        page.wait_for_function(f"() => {IDLE_JS}", timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download as notebook").click()
        assert nbformat.reads(Path(download.value.path()).read_text(), as_version=4).cells == nb.cells
