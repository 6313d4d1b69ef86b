"""What several test files share: the tiny config, and driving the app's pages with AppTest.

Fixtures (the real ML-100k, a tiny saved run) are in ``conftest.py``; hand-written MovieLens
files in ``movielens_files.py``; the app as a real server in ``serve.py``.
"""
import functools
from pathlib import Path

from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from recsys.config import RANKING_TUTORIAL, TUTORIAL

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
# A tiny config (dim 8, 1 epoch, batch 4096): a second or two of real training on ML-100k.
TINY_SETTINGS = {"embedding_dim": 8, "epochs": 1, "batch_size": 4096}
TINY = TUTORIAL.with_(**TINY_SETTINGS)
# A tiny ranking config (dim 8, one hidden layer of 16, 2 epochs): what the ranking tests train and share.
TINY_RANKING = RANKING_TUTORIAL.with_(embedding_dim=8, layers=(16,), epochs=2, batch_size=4096)


# Every new AppTest scans all installed packages' metadata for Streamlit components (a third of a second of
# parsing each time); the packages do not change during a test session, so the first scan's answer is kept.
manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


def open_page(page: str | None = None, query: dict | None = None, active: str | None = None) -> AppTest:
    """A fresh AppTest session of the app, on ``page`` (``app_pages/x.py``), opened with ``query`` as its URL."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query or {})
    if active:
        at.session_state["active_run"] = active
    if page:
        at.switch_page(page)
    return at.run()


def assert_clean(at: AppTest, errors: bool = False) -> None:
    """No exception on the page (and, with ``errors``, no ``st.error`` either)."""
    assert not at.exception, [e.value for e in at.exception]
    if errors:
        assert not at.error, [e.value for e in at.error]


def texts(elements) -> str:
    """The values of a list of elements (``at.warning``, ``at.markdown``…) joined, to search in."""
    return " | ".join(str(e.value) for e in elements)


def run_until(at: AppTest, done, timeout_s: float = 300) -> AppTest:
    """Rerun the page until ``done(at)`` holds: what a browser's ``st.fragment(run_every=…)`` timer does.

    AppTest runs no timers, so a page that follows a training through a fragment is rerun here
    by hand, half a second apart. The timeout is a guard against hanging, not a speed check.
    """
    import time

    deadline = time.monotonic() + timeout_s
    while not done(at):
        assert time.monotonic() < deadline, "the page never got there"
        assert_clean(at)
        time.sleep(0.5)
        at.run()
    return at


def other_value(name: str):
    """A valid value of lever ``name`` that is not the tutorial preset's, chosen from what its lever says."""
    from recsys.config import LEVERS

    spec, default = LEVERS[name], getattr(TUTORIAL, name)
    if spec.kind == "bool":
        return not default
    if spec.kind == "choice":
        return next(c for c in spec.choices if c != default)
    if spec.kind == "layers":
        return (16,)
    lo, hi = spec.range
    value = next(v for v in (*spec.sweep, *spec.stops, hi, lo) if v != default and lo <= v <= hi)
    return int(value) if spec.kind == "int" else float(value)
