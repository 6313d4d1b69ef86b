"""The app as a real server, for the browser test and the load test.

``streamlit_server(home)`` runs ``streamlit run app.py`` from the repository root on a free
port of 127.0.0.1, with ``$RECSYS_HOME`` set to ``home`` so that its runs, jobs and logs stay
apart from everything else, waits until Streamlit answers ``/_stcore/health``, yields the
URL and stops the server when the ``with`` block ends::

    with streamlit_server(home) as url:
        page.goto(url + "/train")

Two things to know about such a server. A free port is only free when asked: another process
may take it before Streamlit binds it (rare on one machine, and the start then fails with
the log to say so). And health answers before any script has run: Streamlit runs ``app.py``
only when a browser session opens a page, so a test waits on the page itself (``IDLE_JS``).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium; Playwright drives it (no browser download)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# JavaScript that is true once Streamlit's script run has finished and every element is drawn afresh:
# no "Running..." widget, no element left stale from the previous run, no skeleton still waiting for one.
IDLE_JS = ("!document.querySelector('[data-testid=\"stStatusWidget\"]')"
           " && !document.querySelector('[data-stale=\"true\"]')"
           " && !document.querySelector('[data-testid=\"stSkeleton\"]')")
# IDLE_JS alone can be true in the middle of a run: Streamlit shows its "Running..." widget only once a run has
# lasted 500 ms, and a busy browser may draw the first elements before it has read the rest. SETTLED_JS is true
# once the page is idle, has no spinner, and its elements and text have not changed for 750 ms (past that delay).
SETTLED_JS = ("() => { const w = window, now = Date.now();"
              " const shape = document.querySelectorAll('[data-testid=\"stElementContainer\"]').length + ':'"
              " + document.body.innerText.length;"
              f" if (!({IDLE_JS}) || document.querySelector('[data-testid=\"stSpinner\"]') || w.__shape !== shape)"
              " { w.__shape = shape; w.__since = now; return false; }"
              " return now - w.__since >= 750; }")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerURL(str):
    """The server's URL (``http://127.0.0.1:PORT``); ``.pid`` is the server process's id."""

    pid: int


@contextmanager
def streamlit_server(home: Path, timeout_s: float = 60, log_name: str = "streamlit.log") -> Iterator[ServerURL]:
    """Run the app with ``RECSYS_HOME=home``; yield its URL once healthy; stop it at exit.

    The server's output goes to ``home / log_name``. Raises RuntimeError, with the end of that
    log, if the server exits or is not healthy within ``timeout_s`` seconds.
    """
    port = free_port()
    url = ServerURL(f"http://127.0.0.1:{port}")
    log_path = Path(home) / log_name
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env={**os.environ, "RECSYS_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT)
        url.pid = proc.pid
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()[-3000:]}") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
