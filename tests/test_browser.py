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

from tests.browser import check_clean, new_page, open_train, settle
from tests.serve import ROOT

pytestmark = pytest.mark.browser  # the real app in Chromium (tests/browser.py)

SHOTS = Path(os.environ.get("RECSYS_SCREENSHOTS") or ROOT / "tests" / "artifacts" / "screenshots")
# A tiny model (the browser's server has a fresh runs folder, and no other browser test trains this learning rate,
# so the click really trains); 2 epochs so the curves are lines; a learning rate of its own so that the URL shows it
# was mirrored. The app server is the session's, the browser this file's (tests/browser.py).
TINY_QUERY = "embedding_dim=8&epochs=2&batch_size=4096&learning_rate=0.3"


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


def test_pages_in_chromium(chromium, shared_server):
    with new_page(chromium) as page:
        open_train(page, shared_server, TINY_QUERY)
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

        page.goto(shared_server + "/")
        settle(page, "Where to go next")
        check_clean(page)
        page.locator('[data-testid="stGraphVizChart"] svg').nth(1).wait_for()
        assert page.locator('[data-testid="stGraphVizChart"] svg').count() == 2
        screenshot(page, "home.png")


def test_recommend_for_me_in_chromium(chromium, shared_server):
    """"For me": a run that looks users up by id says why it cannot; a history-encoder run lists for the picks."""
    likes = "mode=me&likes=Star%20Wars%20(1977)%7CAlien%20(1979)%7CTerminator%2C%20The%20(1984)"
    with new_page(chromium) as page:
        open_train(page, shared_server, TINY_QUERY.replace("0.3", "0.31"))  # an id run of its own, on the same split
        page.get_by_role("button", name="Train", exact=True).click()
        settle(page, "and saved as run")
        page.get_by_role("link", name="Recommend").first.click()
        settle(page, "Overlap@10")
        page.get_by_text("For me", exact=True).click()
        settle(page, "cannot recommend for a list of movies")
        check_clean(page)
        assert page.get_by_text("looks users up by id", exact=False).count() == 1

        # Our best's levers on a tiny scale: the user tower reads the history, so picks are a user.
        page.goto(f"{shared_server}/train?preset=best&epochs=8")
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

        page.goto(f"{shared_server}/recommend?{likes}")  # a shared link opens the same picks in a new session
        settle(page, "Movies you like")
        check_clean(page)
        assert "Terminator, The (1984)" in page.inner_text('[data-testid="stMain"]')
