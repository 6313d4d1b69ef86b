"""Load test: many browser sessions ask the Recommend page for recommendations at once, with and without a training.

    .venv/bin/python benchmarks/load_test.py [--sessions 30] [--rounds 1] [--data DIR]

Starts ``streamlit run app.py`` on 127.0.0.1 (a free port) with its own ``$RECSYS_HOME``
(the parsed dataset is copied from ``--data``, default ``$RECSYS_HOME/data``; without one the
server downloads it), trains one tiny run through the Train page, then opens the Recommend
page in headless Chromium sessions (one browser, one context each), each for another user
through a link (``/recommend?mode=user&user_id=…&k=10&exclude_seen=true``):

0. one alone: 3 sessions one after the other (the baseline), then 3 new tabs of one browser that
   has the app cached (the server's share of a view beyond sending the app's files);
1. 10 and then ``--sessions`` sessions at once, ``--rounds`` times each, nothing training;
2. the same while another session trains a larger model through the Train page (a link and a
   click), after a third session has asked for yet another config, seen its place in the queue
   and cancelled it.

Each phase also reports CPU seconds per view: the server's (page scripts, websockets, static
files) and the training workers' (child processes of the server), measured with psutil.

Each response time runs from navigation until the result tables are drawn and the script
run has finished. Each page is checked: no exception or error element, the heading names the
requested user, the profile (age, gender, occupation, number of ratings) is that user's, and
the BruteForce list is that user's exact top-k for the active run, recomputed here with numpy
from the run's saved vectors. Prints p50/p95 per phase; exits 1 if any session saw an error or
a wrong result. Everything stays on 127.0.0.1; every wait is bounded (``--timeout``).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.serve here, and recsys in Expected
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import fresh_home, load_average, verdict  # noqa: E402
from tests.serve import CHROMIUM, FLAGS, IDLE_JS, streamlit_server  # noqa: E402

K = 10
POLL_MS = 100  # how often a page checks whether it is done (the default, every animation frame, costs CPU)
TINY = "embedding_dim=8&epochs=1&batch_size=4096&seed=7"      # the run every session recommends from
BIG = "embedding_dim=256&epochs=100&batch_size=256&seed=8"    # trains through the training phases, then is cancelled
QUEUED = "embedding_dim=8&epochs=1&batch_size=4096&seed=9"    # asked while BIG trains: waits, then cancelled
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# A result table is drawn when every row it holds is in the page: its grid says how many rows the server sent
# (aria-rowcount, the header included) and each drawn row is a [role=row]. Each table draws its rows on its own,
# after the page's other elements, and Streamlit's "running" state says nothing about it: under load a table that
# holds ten rows can still show none when the heading, the other tables and the idle state are there
# (docs/load_test.md, "An empty BruteForce list"). Waiting for this, not for "some table has cells", means a list
# the server really sent empty is still read, and reported, once drawn. (The tables here hold k = 10 rows, which
# fit without scrolling: a longer one would only ever draw its visible rows.)
DRAWN = ("(i => { const e = document.querySelectorAll('[data-testid=\"stDataFrame\"]')[i];"
         " const g = e && e.querySelector('[role=grid][aria-rowcount]');"
         " return !!g && e.querySelectorAll('[role=row]').length === Number(g.getAttribute('aria-rowcount')); })")


class Expected:
    """What the Recommend page must show for a user, recomputed from the dataset and the run's vectors."""

    def __init__(self, home: Path):
        os.environ["RECSYS_HOME"] = str(home)  # before recsys reads it
        from recsys import data
        from recsys.store import runs

        self.runs, self.root = runs, home / "runs"
        self.ds = data.load(variant="100k")
        self.users = self.ds.users.assign(user_id=self.ds.users["user_id"].astype(str)).set_index("user_id")
        self.pos = {str(u): i for i, u in enumerate(self.ds.user_ids)}
        r = self.ds.ratings
        self.seen = r.groupby("user_idx")["title_idx"].agg(lambda s: np.unique(s.to_numpy()))
        self.counts = r.groupby("user_idx").size()
        self.title_pos = {str(t): i for i, t in enumerate(self.ds.titles)}
        self._vectors: dict = {}

    def check(self, user: str, run_id: str, metrics: dict, titles: list[str]) -> list[str]:
        """Problems with what the page showed for ``user`` (empty: all correct)."""
        problems = []
        u = self.pos[user]
        row = self.users.loc[user]
        want = {"Age": str(int(row.user_age)), "Gender": str(row.user_gender), "Occupation": str(row.user_occupation),
                "Ratings": str(int(self.counts[u]))}
        for label, value in want.items():
            if metrics.get(label) != value:
                problems.append(f"{label} shows {metrics.get(label)!r}, user {user} has {value!r}")
        if run_id not in self._vectors:
            self._vectors[run_id] = self.runs.load(run_id, self.root).vectors
        users, movies = self._vectors[run_id]
        scores = movies @ users[u]
        scores[self.seen[u]] = -np.inf
        kth = np.sort(scores)[-K]
        if len(titles) != K:
            problems.append(f"BruteForce shows {len(titles)} movies, not {K}")
        for t in titles:
            i = self.title_pos.get(t)
            if i is None or scores[i] < kth - 1e-4 * abs(kth):  # ties at the k-th score may swap
                problems.append(f"{t!r} is not in user {user}'s exact top {K} (seen movies removed)")
        return problems


async def settled(page, js_ready: str, timeout_s: float) -> None:
    await page.wait_for_function(f"() => (({js_ready}) && {IDLE_JS}) || !!document.querySelector('{ERRORS}')",
                                 timeout=timeout_s * 1000, polling=POLL_MS)


async def page_errors(page) -> list[str]:
    found = await page.locator(ERRORS).all_inner_texts()
    body = await page.inner_text("body")
    if "Traceback" in body:
        found.append("a traceback")
    return [f"error shown: {t.strip()[:300]}" for t in found]


async def recommend(browser, url: str, user: str, expected: Expected, timeout_s: float, shared=None) -> dict:
    """One session: open the Recommend page for ``user``, time it, check what it shows.

    Each session has its own browser context (a first visit: the app's scripts are downloaded again),
    unless ``shared`` gives one: then it is a new tab of a browser that has the app cached (a new
    Streamlit session all the same)."""
    ctx = shared or await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await ctx.new_page()
    out = {"user": user, "seconds": None, "problems": []}
    try:
        heading = f"Top {K} for user {user}"
        ready = (f"[...document.querySelectorAll('h3')].some(h => h.textContent.includes({heading!r}))"
                 f" && {DRAWN}(1) && {DRAWN}(2)")  # the BruteForce and ScaNN tables, every row of each
        started = time.perf_counter()
        await page.goto(f"{url}/recommend?mode=user&user_id={user}&k={K}&exclude_seen=true", wait_until="commit",
                        timeout=timeout_s * 1000)
        await settled(page, ready, timeout_s)
        out["seconds"] = time.perf_counter() - started
        out["problems"] += await page_errors(page)
        if out["problems"]:
            return out
        captions = " ".join(await page.locator('[data-testid="stCaptionContainer"]').all_inner_texts())
        run_id = re.search(r"Active run\s+`?([0-9a-f]{12})", captions)
        metrics = {}
        for text in await page.locator('[data-testid="stMetric"]').all_inner_texts():
            label, _, value = text.partition("\n")
            metrics[label.strip()] = value.strip()
        cells, width = await page.locator('[data-testid="stDataFrame"]').nth(1).evaluate(
            "e => [Array.from(e.querySelectorAll('[role=gridcell]')).map(c => c.textContent),"
            " e.querySelectorAll('[role=columnheader]').length]")
        titles = cells[1::width or 5]  # columns: #, title, genres, score, only here
        if run_id is None:
            out["problems"].append("no active run shown")
        else:
            out["problems"] += expected.check(user, run_id.group(1), metrics, titles)
    except Exception as e:  # a timeout or a closed page: this session failed
        out["problems"].append(f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
    finally:
        await (page.close() if shared else ctx.close())
    return out


async def train_session(browser, url: str, query: str, timeout_s: float):
    """A session on the Train page that opens ``query`` and clicks Train; returns (context, page)."""
    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await ctx.new_page()
    await page.goto(f"{url}/train?{query}", wait_until="commit", timeout=timeout_s * 1000)
    await settled(page, "document.body.innerText.includes('Nothing trained in this session yet')", timeout_s)
    await page.get_by_role("button", name="Train", exact=True).click(timeout=timeout_s * 1000)
    return ctx, page


async def wait_text(page, text: str, timeout_s: float) -> None:
    await page.wait_for_function(
        f"() => document.body.innerText.includes({text!r}) || !!document.querySelector('{ERRORS}')",
        timeout=timeout_s * 1000, polling=POLL_MS)
    problems = await page_errors(page)
    if problems:
        raise RuntimeError(f"waiting for {text!r}: {problems}")


def cpu_seconds(pid: int) -> tuple[float, float, float]:
    """CPU seconds used so far by the streamlit server (all its threads: page scripts, websockets, static
    files), by its children (the training workers) and by the browsers (every other process this script
    started: Playwright's driver and Chromium's processes)."""
    import psutil

    def used(procs):
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    server = psutil.Process(pid)
    workers = server.children(recursive=True)
    skip = {pid, *(w.pid for w in workers)}
    browsers = [p for p in psutil.Process().children(recursive=True) if p.pid not in skip]
    return used([server]), used(workers), used(browsers)


class Meter:
    """Server, worker and browser CPU seconds between ``start()`` and ``stop(label, views)``, per view."""

    def __init__(self, pid):
        self.pid, self.per_view = pid, {}

    def start(self):
        self.t0 = cpu_seconds(self.pid)

    def stop(self, label, views):
        # Processes that ended in between take their seconds with them: clamp at 0 rather than go negative.
        self.per_view[label] = tuple(max(0.0, b - a) / views for a, b in zip(self.t0, cpu_seconds(self.pid)))


async def phase(browser, url, users, expected, size, rounds, timeout_s, label, results, meter):
    """``rounds`` times, ``size`` sessions open the Recommend page at once (each for another user)."""
    meter.start()
    for r in range(rounds):
        batch = users[r * size:(r + 1) * size]
        got = await asyncio.gather(*(recommend(browser, url, u, expected, timeout_s) for u in batch))
        for g in got:
            g["phase"] = label
        results += got
        bad = sum(bool(g["problems"]) for g in got)
        times = [g["seconds"] for g in got if g["seconds"] is not None]
        print(f"  {label}, round {r + 1}/{rounds}: {size} sessions at once, slowest "
              f"{max(times, default=float('nan')):.2f} s, {bad} with problems", flush=True)
    meter.stop(label, size * rounds)


async def main_async(args, home: Path, url: str, pid: int) -> int:
    from playwright.async_api import async_playwright

    failures: list[str] = []
    results: list[dict] = []
    meter = Meter(pid)
    sizes = sorted({min(10, args.sessions), args.sessions})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            # Warm-up: the home page (so the server knows the app's navigation), one tiny training.
            ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
            page = await ctx.new_page()
            await page.goto(url + "/", wait_until="commit", timeout=args.timeout * 1000)
            await settled(page, "document.body.innerText.includes('Where to go next')", args.timeout)
            await ctx.close()
            t = time.perf_counter()
            ctx, page = await train_session(browser, url, TINY, args.timeout)
            await wait_text(page, "and saved as run", args.timeout)
            await ctx.close()
            print(f"tiny run trained through the Train page in {time.perf_counter() - t:.1f} s", flush=True)

            expected = Expected(home)
            need = 2 * sum(sizes) * args.rounds + 7
            pool = iter(random.Random(0).sample([str(u) for u in expected.ds.user_ids], need))
            # One more warm-up (not timed): a bad link builds the run's indexes and must show notices, no error.
            ctx = await browser.new_context()
            page = await ctx.new_page()
            await page.goto(f"{url}/recommend?mode=user&user_id=no-such-user&k=1e6&exclude_seen=perhaps",
                            wait_until="commit", timeout=args.timeout * 1000)
            await wait_text(page, "Overlap@50", args.timeout)
            warnings = " ".join(await page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts())
            for part in ("user_id='no-such-user'", "k=1e6", "exclude_seen='perhaps'"):
                if part not in warnings:
                    failures.append(f"bad link: no notice about {part}")
            await ctx.close()

            print("one alone: 3 sessions one after the other, nothing training", flush=True)
            meter.start()
            for _ in range(3):
                got = await recommend(browser, url, next(pool), expected, args.timeout)
                results.append({**got, "phase": "single"})
            meter.stop("single", 3)
            print("one alone, the app cached in the browser: 3 new tabs one after the other", flush=True)
            shared = await browser.new_context(viewport={"width": 1440, "height": 1000})
            await recommend(browser, url, next(pool), expected, args.timeout, shared)  # fills the cache, not counted
            meter.start()
            for _ in range(3):
                got = await recommend(browser, url, next(pool), expected, args.timeout, shared)
                results.append({**got, "phase": "cached"})
            meter.stop("cached", 3)
            await shared.close()
            for size in sizes:
                print(f"{size} at once x {args.rounds} round(s), nothing training", flush=True)
                await phase(browser, url, [next(pool) for _ in range(size * args.rounds)], expected, size,
                            args.rounds, args.timeout, f"idle {size}", results, meter)

            print("another session trains", BIG, flush=True)
            trainer_ctx, trainer = await train_session(browser, url, BIG, args.timeout)
            await wait_text(trainer, "Epoch 1/", args.timeout)
            q_ctx, queued = await train_session(browser, url, QUEUED, args.timeout)
            await wait_text(queued, "1 ahead in the queue", args.timeout)
            await queued.get_by_role("button", name="Cancel", exact=True).click(timeout=args.timeout * 1000)
            await wait_text(queued, "Cancelled", args.timeout)
            await q_ctx.close()
            print("  a third session saw '1 ahead in the queue' and cancelled", flush=True)
            for size in sizes:
                print(f"{size} at once x {args.rounds} round(s), while that session trains", flush=True)
                await phase(browser, url, [next(pool) for _ in range(size * args.rounds)], expected, size,
                            args.rounds, args.timeout, f"training {size}", results, meter)
            # Still training: the progress bar's "Epoch n/N" and its Cancel button are on the page (a finished
            # run's result shows "Epoch kept" instead, so the word alone says nothing).
            body = await trainer.inner_text("body")
            still = re.search(r"Epoch \d+/\d+", body) is not None and \
                await trainer.get_by_role("button", name="Cancel", exact=True).count() > 0
            failures += [f"trainer: {e}" for e in await page_errors(trainer)]
            if still:
                await trainer.get_by_role("button", name="Cancel", exact=True).click(timeout=args.timeout * 1000)
                await wait_text(trainer, "Cancelled", args.timeout)
                print("  the training was still running when the last phase ended: cancelled", flush=True)
            else:
                failures.append("the training ended before the last phase did (make BIG longer)")
            await trainer_ctx.close()
        except Exception as e:
            failures.append(f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
        finally:
            await browser.close()

    print()
    print(f"{'phase':<12} {'views':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'problems':>8} "
          f"{'CPU s/view: server':>18} {'worker':>6} {'browser':>7}")
    p50 = {}
    for label in ["single", "cached"] + [f"{m} {n}" for m in ("idle", "training") for n in sizes]:
        rows = [r for r in results if r["phase"] == label]
        times = np.array([r["seconds"] for r in rows if r["seconds"] is not None])
        bad = sum(bool(r["problems"]) for r in rows)
        if len(times):
            p50[label] = float(np.percentile(times, 50))
            server, worker, browser = meter.per_view.get(label, (float("nan"),) * 3)
            print(f"{label:<12} {len(rows):>5} {p50[label]:>7.2f} {np.percentile(times, 95):>7.2f} "
                  f"{times.max():>7.2f} {bad:>8} {server:>18.3f} {worker:>6.3f} {browser:>7.3f}")
        for r in rows:
            failures += [f"{label}, user {r['user']}: {p}" for p in r["problems"]]
    for n in sizes:
        if f"idle {n}" in p50 and "single" in p50:
            print(f"p50 of {n} at once / one alone: {p50[f'idle {n}'] / p50['single']:.2f}x")
    for n in sizes:
        if f"idle {n}" in p50 and f"training {n}" in p50:
            print(f"p50 of {n} at once, while training / idle: {p50[f'training {n}'] / p50[f'idle {n}']:.2f}x")
    return verdict(failures, "OK: every session got the right user's results; no error, no exception.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=30,
                    help="the largest number of sessions at once (default 30; 10 at once is measured too)")
    ap.add_argument("--rounds", type=int, default=1, help="rounds per phase (default 1)")
    ap.add_argument("--data", default=os.path.join(os.environ["RECSYS_HOME"], "data") if os.environ.get("RECSYS_HOME")
                    else None, help="a parsed data cache to copy (default $RECSYS_HOME/data; none: download)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take (default 300)")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 40 or not 1 <= args.rounds <= 10:
        ap.error("--sessions must be 1..40 and --rounds 1..10")
    if not Path(CHROMIUM).exists():
        ap.error(f"{CHROMIUM} is not installed")
    home = fresh_home("recsys-load-", args.data)
    try:
        with ExitStack() as stack:
            try:
                url = stack.enter_context(streamlit_server(home, timeout_s=120))
            except RuntimeError as e:  # the server did not start: its log's tail, no traceback
                raise SystemExit(str(e)) from None
            print(f"streamlit on {url}, RECSYS_HOME={home}", flush=True)
            print(f"load average before: {load_average()} on {os.cpu_count()} CPUs",
                  flush=True)
            return asyncio.run(main_async(args, home, url, url.pid))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
