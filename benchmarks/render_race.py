"""Why the load test once read an empty BruteForce list: the table was not drawn yet, not empty.

    .venv/bin/python benchmarks/render_race.py [--sessions 12] [--rounds 2] [--data DIR]

Opens the Recommend page in ``--sessions`` headless Chromium sessions at once (each another
user, as ``benchmarks/load_test.py`` does), waits in each for the condition the load test used
until issue 22 (the heading, three tables, the third with some cells, and Streamlit idle), and
counts at that moment the rows each of the first three tables (profile, BruteForce, ScaNN) has
drawn against the rows its grid holds (``aria-rowcount``, set from the data the server sent).
Four seconds later it counts again. A table short of rows at the first count and complete at
the second was read before it was drawn. The script also waits the way the load test waits now
(``load_test.DRAWN``: every row of the BruteForce and ScaNN tables) and counts once more.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import fresh_home, load_average  # noqa: E402
from load_test import DRAWN  # noqa: E402
from server_load import train_tiny  # noqa: E402
from tests.serve import CHROMIUM, FLAGS, IDLE_JS, streamlit_server  # noqa: E402

TABLES = "document.querySelectorAll('[data-testid=\"stDataFrame\"]')"
# (drawn rows, rows held) of the first three tables; -1 held: no grid yet
COUNT = (f"() => Array.from({TABLES}).slice(0, 3).map(e => {{ const g = e.querySelector('[role=grid][aria-rowcount]');"
         " return [e.querySelectorAll('[role=row]').length - 1, g ? Number(g.getAttribute('aria-rowcount')) - 1 : -1];"
         " })")


def old_ready(user: str) -> str:
    return (f"[...document.querySelectorAll('h3')].some(h => h.textContent.includes('Top 10 for user {user}'))"
            f" && {TABLES}.length >= 3 && {TABLES}[2].querySelectorAll('[role=gridcell]').length > 0")


def short(counts) -> list[str]:
    """The tables with fewer rows drawn than they show: the profile shows 6 of its 10 (a fixed height), the lists all."""
    names, shown = ("profile", "BruteForce", "ScaNN"), (6, 10, 10)
    return [f"{names[i]} {drawn}/{held}" for i, (drawn, held) in enumerate(counts)
            if held < 0 or drawn < min(held, shown[i])]


async def one(browser, url: str, user: str) -> dict:
    ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await ctx.new_page()
    try:
        await page.goto(f"{url}/recommend?mode=user&user_id={user}&k=10&exclude_seen=true", wait_until="commit",
                        timeout=300_000)
        await page.wait_for_function(f"() => ({old_ready(user)}) && {IDLE_JS}", timeout=300_000, polling=100)
        at_old = await page.evaluate(COUNT)
        await page.wait_for_timeout(4000)
        later = await page.evaluate(COUNT)
        await page.wait_for_function(f"() => {DRAWN}(1) && {DRAWN}(2)", timeout=300_000, polling=100)
        at_new = await page.evaluate(COUNT)
        return {"user": user, "old": at_old, "later": later, "new": at_new}
    finally:
        await ctx.close()


async def main_async(args, url: str) -> int:
    from playwright.async_api import async_playwright

    users = [str(u) for u in random.Random(1).sample(range(1, 944), args.sessions * args.rounds + 1)]
    early = bf_early = new_short = views = 0
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        await one(browser, url, users.pop())  # builds the run's indexes; not counted
        for r in range(args.rounds):
            got = await asyncio.gather(*(one(browser, url, users.pop()) for _ in range(args.sessions)))
            for g in got:
                views += 1
                if short(g["old"]):
                    early += 1
                    bf_early += any(s.startswith("BruteForce") for s in short(g["old"]))
                    print(f"  round {r + 1}, user {g['user']}: at the old check {', '.join(short(g['old']))} rows "
                          f"drawn/held; 4 s later {', '.join(short(g['later'])) or 'all drawn'}", flush=True)
                new_short += any(s.startswith(("BruteForce", "ScaNN")) for s in short(g["new"]))
        await browser.close()
    print(f"\n{views} views, {args.sessions} at once: {early} passed the old check with a table not drawn yet "
          f"({bf_early} of them the BruteForce table); with the wait of load_test.DRAWN, "
          f"{new_short} had a result table short of rows.")
    print(f"load average after: {load_average()}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data", default=os.path.join(os.environ["RECSYS_HOME"], "data") if os.environ.get("RECSYS_HOME")
                    else None, help="a parsed data cache to copy (default $RECSYS_HOME/data)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        ap.error(f"{CHROMIUM} is not installed")
    home = fresh_home("recsys-render-race-", args.data)
    try:
        train_tiny(home)
        with streamlit_server(home, timeout_s=120) as url:
            print(f"load average before: {load_average()} on {os.cpu_count()} CPUs",
                  flush=True)
            return asyncio.run(main_async(args, url))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
