"""The app in a real browser: ``streamlit run app.py`` driven by Debian's chromium through Playwright.

Opens each page, trains a tiny model through the UI, asks for recommendations for user 42
and for "Star Wars (1977)", checks that no error or traceback is shown, and saves a
full-page screenshot of each page into ``tests/artifacts/screenshots/`` (ignored by git), or
into ``$RECSYS_SCREENSHOTS``: ``make screenshots`` points it at docs/screenshots/, the
README's copies, so that running the suite never changes a tracked file.
"""
import os
from pathlib import Path

import pytest

from tests.serve import CHROMIUM, FLAGS, IDLE_JS, ROOT, streamlit_server

SHOTS = Path(os.environ.get("RECSYS_SCREENSHOTS") or ROOT / "tests" / "artifacts" / "screenshots")
# A tiny model (the browser's server has a fresh runs folder, so the click really trains); 2 epochs so the
# curves are lines; a learning rate of its own so that the URL shows it was mirrored.
TINY_QUERY = "embedding_dim=8&epochs=2&batch_size=4096&learning_rate=0.3"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")


@pytest.fixture(scope="module")
def server(ml100k, tmp_path_factory):
    """A fresh ``streamlit run app.py`` with its own $RECSYS_HOME (sharing the parsed dataset)."""
    home = tmp_path_factory.mktemp("browser-home")
    (home / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")
    with streamlit_server(home, timeout_s=60) as url:
        yield url


def settle(page, text: str, timeout_s: float = 180) -> None:
    """Wait until ``text`` is shown and the script run has finished (no stale elements, charts drawn)."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_s * 1000)
    page.wait_for_function(f"() => {IDLE_JS} && !document.querySelector('[data-testid=\"stSpinner\"]')",
                           timeout=timeout_s * 1000)
    page.wait_for_timeout(800)  # vega and graphviz draw after their data arrives


def check_clean(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error:" not in body, body[:2000]


def screenshot(page, name: str) -> None:
    """Full-page screenshot: grow the viewport to the height of the scrolling main area first."""
    height = page.evaluate(
        "() => Math.max(document.body.scrollHeight,"
        " ...Array.from(document.querySelectorAll('[data-testid=\"stMain\"], section.main, "
        "[data-testid=\"stAppViewContainer\"]')).map(e => e.scrollHeight))")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


def test_pages_in_chromium(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})

            # The server's very first request is a deep link (a teacher's shared URL after a restart):
            # it must open the Train page inside app.py's navigation, not a bare page file.
            page.goto(f"{server}/train?{TINY_QUERY}")
            settle(page, "Nothing trained in this session yet")
            check_clean(page)
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "ANN lab" in nav and "Embedding map" in nav and "shared" not in nav.lower(), nav
            page.get_by_role("button", name="Train", exact=True).click()
            settle(page, "and saved as run")
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

            page.goto(server + "/")
            settle(page, "Where to go next")
            check_clean(page)
            page.locator('[data-testid="stGraphVizChart"] svg').nth(1).wait_for()
            assert page.locator('[data-testid="stGraphVizChart"] svg').count() == 2
            screenshot(page, "home.png")
        finally:
            browser.close()


def test_recommend_for_me_in_chromium(server):
    """"For me": a run that looks users up by id says why it cannot; a history-encoder run lists for the picks."""
    from playwright.sync_api import sync_playwright

    likes = "mode=me&likes=Star%20Wars%20(1977)%7CAlien%20(1979)%7CTerminator%2C%20The%20(1984)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"{server}/train?{TINY_QUERY}&seed=7")  # an id run of its own (a seed no other test trains)
            settle(page, "Nothing trained in this session yet")
            page.get_by_role("button", name="Train", exact=True).click()
            settle(page, "and saved as run")
            page.get_by_role("link", name="Recommend").first.click()
            settle(page, "Overlap@10")
            page.get_by_text("For me", exact=True).click()
            settle(page, "cannot recommend for a list of movies")
            check_clean(page)
            assert page.get_by_text("looks users up by id", exact=False).count() == 1

            # Our best's levers on a tiny scale: the user tower reads the history, so picks are a user.
            page.goto(f"{server}/train?preset=best&epochs=8")
            settle(page, "Nothing trained in this session yet")
            page.get_by_role("button", name="Train", exact=True).click()
            settle(page, "and saved as run")
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
        finally:
            browser.close()
