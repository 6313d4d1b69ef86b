"""One Chromium per test file, and the helpers the browser tests share.

Starting Chromium costs seconds every time; the browser tests need it fresh only per file.
``chromium`` is Debian's chromium, driven by Playwright, launched once per test file; each test
opens its pages with ``new_page`` (a new browser context: no cookies or storage from another
test, and a new Streamlit session). Not once per session: Playwright's sync API leaves its event
loop marked as running in the main thread while it is open, and a later test that runs an event
loop of its own (``asyncio.run``, a notebook kernel client) would fail. The app servers come from
``tests.serve.streamlit_server``, on a home prepared by the test file (``tests/test_browser.py``:
one server on the home ``ready`` filled, for all its tests).

``conftest.py`` imports ``chromium``, so any test file can ask for it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.serve import CHROMIUM, FLAGS, SETTLED_JS

VIEWPORT = {"width": 1440, "height": 1000}


def home_with_data(tmp_path_factory, name: str) -> Path:
    """A ``$RECSYS_HOME`` with no runs for a server, sharing the session's ``data/`` folder (a link): the parsed
    dataset, and the strong baselines the session has tuned on a split already (computed once, for both)."""
    home = tmp_path_factory.mktemp(name)
    (home / "data").symlink_to(Path(os.environ["RECSYS_HOME"]) / "data")
    return home


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium through Playwright, launched once per test file (skips when it is not installed)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser):
    """A page in a context of its own (a new Streamlit session), closed at the end of the block."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        yield page
    finally:
        page.context.close()


def settle(page, text, timeout_s: float = 180) -> None:
    """Wait until ``text`` (a string, or a ``re`` pattern) is shown and the script run has finished (no stale
    elements, no spinner, nothing new for 750 ms: ``SETTLED_JS``). Charts may still be drawing: wait for the
    element itself before counting them."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_s * 1000)
    page.evaluate("window.__shape = undefined")  # what the page looked like before does not count
    page.wait_for_function(SETTLED_JS, timeout=timeout_s * 1000, polling=100)


def check_clean(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error:" not in body, body[:2000]


def open_train(page, url: str, query: str) -> None:
    """Open the Train page by a deep link with ``query`` (a new session), in app.py's navigation, clean, nothing
    trained yet in that session."""
    page.goto(f"{url}/train?{query}")
    settle(page, "Nothing trained in this session yet")
    check_clean(page)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "ANN lab" in nav and "Embedding map" in nav and "shared" not in nav.lower(), nav
