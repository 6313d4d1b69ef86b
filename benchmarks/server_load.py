"""The server alone under a class: many Streamlit sessions at once over the websocket protocol, no browser.

    .venv/bin/python benchmarks/server_load.py [--sessions 30] [--rounds 3] [--data DIR] [--assets]

``benchmarks/load_test.py`` drives real Chromium sessions, and on this project's 2-core machine
the thirty browsers cost ~9x the server's CPU: its wall times measure the browsers. This script
asks the server what a browser asks, and nothing else: each session opens Streamlit's websocket
(``/_stcore/stream``, subprotocol ``streamlit``), sends the ``rerun_script`` message a browser
sends for ``/recommend?mode=user&user_id=…&k=10&exclude_seen=true``, and reads the protobuf
messages back until ``script_finished``. With ``--assets`` each session first fetches the app's
page and every script and stylesheet it names, as a browser without a cache does.

Like the browser load test it starts ``streamlit run app.py`` with its own ``$RECSYS_HOME`` (the
parsed dataset copied from ``--data``) and one tiny run (trained with ``python -m recsys train``),
and checks every view: no exception or error, the heading names the user, the profile is the
user's, and the BruteForce table the server sent holds the user's exact top 10 (recomputed with
numpy from the run's vectors). Phases: one session at a time, then 10 and ``--sessions`` at once,
``--rounds`` times each. Per phase: views per second (views / wall time of the phase), p50 and
p95 of a view, and CPU seconds per view of the server (all its threads) and of this client.
Exits 1 if any view was wrong.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import fresh_home, load_average, verdict  # noqa: E402
from load_test import TINY, Expected  # noqa: E402  (the same run, the same check of what a view shows)
from tests.serve import streamlit_server  # noqa: E402

K = 10
TINY_FLAGS = [f"--{part.split('=')[0].replace('_', '-')}={part.split('=')[1]}" for part in TINY.split("&")]


def train_tiny(home: Path) -> str:
    """The run every session recommends from (what the browser load test trains through the Train page)."""
    out = subprocess.run([sys.executable, "-m", "recsys", "train", *TINY_FLAGS, "--json", "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "RECSYS_HOME": str(home)}, timeout=900)
    if out.returncode:
        raise SystemExit(f"training the tiny run failed:\n{out.stderr[-2000:]}")
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])["run_id"]


def fetch_assets(url: str) -> int:
    """What a browser without a cache fetches before it opens the websocket: the page and the scripts and styles it
    names (~60 files, compressed as for a browser; the element code a browser loads later on demand is not fetched).
    Returns the bytes received."""
    def get(address):
        request = urllib.request.Request(address, headers={"Accept-Encoding": "gzip"})
        return urllib.request.urlopen(request, timeout=60).read()

    html = get(url + "/recommend")
    import gzip

    text = (gzip.decompress(html) if html[:2] == b"\x1f\x8b" else html).decode()
    paths = set(re.findall(r'(?:src|href)="\.?/?([^"]+\.(?:js|css))"', text))
    return len(html) + sum(len(get(f"{url}/{p}")) for p in paths)


async def view(url: str, user: str, timeout_s: float, assets: bool, exclude_seen: bool = True) -> dict:
    """One session: ask for the Recommend page for ``user``; what it showed, and how long it took."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = {"user": user, "seconds": None, "problems": [], "metrics": {}, "headings": [], "markdown": [],
           "tables": []}
    started = time.perf_counter()
    try:
        if assets:
            await asyncio.to_thread(fetch_assets, url)
        async with websockets.connect(url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None, open_timeout=timeout_s) as ws:
            back = BackMsg()
            back.rerun_script.query_string = f"mode=user&user_id={user}&k={K}&exclude_seen={str(exclude_seen).lower()}"
            back.rerun_script.page_name = "recommend"
            await ws.send(back.SerializeToString())
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await asyncio.wait_for(ws.recv(), timeout_s))
                kind = msg.WhichOneof("type")
                if kind == "script_finished":
                    if msg.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                        out["problems"].append(f"script finished with status {msg.script_finished}")
                    break
                if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    read_element(msg.delta.new_element, out)
        out["seconds"] = time.perf_counter() - started
    except Exception as e:  # a timeout or a closed connection: this session failed
        out["problems"].append(f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
    return out


def read_element(e, out: dict) -> None:
    kind = e.WhichOneof("type")
    if kind == "metric":
        out["metrics"][e.metric.label] = e.metric.body
        out.setdefault("help", {})[e.metric.label] = e.metric.help
    elif kind == "heading":
        out["headings"].append(e.heading.body)
    elif kind == "markdown":
        out["markdown"].append(e.markdown.body)
    elif kind == "dataframe":
        import pyarrow as pa

        out["tables"].append(pa.ipc.open_stream(e.dataframe.arrow_data.data).read_all().to_pandas())
    elif kind == "exception":
        out["problems"].append(f"exception shown: {e.exception.type}: {e.exception.message[:200]}")
    elif kind == "alert" and e.alert.format == 1:  # ERROR
        out["problems"].append(f"error shown: {e.alert.body[:200]}")


def check(got: dict, expected: Expected) -> list[str]:
    """What was wrong with a view (empty: all correct)."""
    problems = list(got["problems"])
    if got["seconds"] is None:
        return problems
    user = got["user"]
    if not any(f"Top {K} for user {user}" in h for h in got["headings"]):
        problems.append(f"no heading 'Top {K} for user {user}'")
    run_id = next((m.group(1) for text in got["markdown"] for m in [re.search(r"Active run `([0-9a-f]{12})`", text)]
                   if m), None)
    if run_id is None or len(got["tables"]) < 3:
        return problems + [f"no active run or fewer than 3 tables ({len(got['tables'])})"]
    titles = got["tables"][1]["movie_title"].tolist()  # the profile, then BruteForce, then ScaNN
    return problems + expected.check(user, run_id, got["metrics"], titles)


def cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the server (every thread) and of this client."""
    import psutil

    def used(p):
        t = p.cpu_times()
        return t.user + t.system

    return used(psutil.Process(pid)), used(psutil.Process())


async def phase(url, pid, users, at_once, views, expected, timeout_s, assets, label, rows) -> list[str]:
    """``views`` views, ``at_once`` at a time (1: one after the other); a row of ``rows``; the problems seen."""
    c0, t0, results = cpu(pid), time.perf_counter(), []
    while len(results) < views:
        batch = [users.pop() for _ in range(min(at_once, views - len(results)))]
        results += await asyncio.gather(*(view(url, u, timeout_s, assets) for u in batch))
    wall, c1 = time.perf_counter() - t0, cpu(pid)
    problems = [f"{label}, user {g['user']}: {p}" for g in results for p in check(g, expected)]
    times = np.array([g["seconds"] for g in results if g["seconds"] is not None] or [np.nan])
    rows.append({"phase": label, "views": views, "views_per_s": views / wall, "p50_s": float(np.percentile(times, 50)),
                 "p95_s": float(np.percentile(times, 95)), "server_cpu_s_per_view": (c1[0] - c0[0]) / views,
                 "client_cpu_s_per_view": (c1[1] - c0[1]) / views, "problems": len(problems)})
    print(f"  {label}: {views} views in {wall:.2f} s, {len(problems)} problems", flush=True)
    return problems


async def main_async(args, home: Path, url: str, pid: int) -> int:
    expected = Expected(home)
    plan = [(f"{n} at once" if n > 1 else "one at a time", n, (n if n > 1 else 3) * args.rounds)
            for n in [1] + sorted({min(10, args.sessions), args.sessions})]
    variants = [False, True] if args.assets else [False]
    need = 1 + sum(views for _, _, views in plan) * len(variants)
    if need > len(expected.ds.user_ids):
        raise SystemExit(f"{need} views need {need} different users; ML-100k has {len(expected.ds.user_ids)}")
    users = random.Random(0).sample([str(u) for u in expected.ds.user_ids], need)  # each view a user not seen yet
    failures = [f"warm-up: {p}" for p in check(await view(url, users.pop(), args.timeout, False), expected)]
    rows = []
    for assets in variants:  # the first view builds the run's indexes; not counted
        for label, at_once, views in plan:
            failures += await phase(url, pid, users, at_once, views, expected, args.timeout, assets,
                                    label + (" + app files" if assets else ""), rows)

    print()
    print(f"{'phase':<24} {'views':>5} {'views/s':>8} {'p50 s':>7} {'p95 s':>7} {'server CPU s/view':>18} "
          f"{'client CPU s/view':>18} {'problems':>8}")
    for r in rows:
        print(f"{r['phase']:<24} {r['views']:>5} {r['views_per_s']:>8.2f} {r['p50_s']:>7.2f} {r['p95_s']:>7.2f} "
              f"{r['server_cpu_s_per_view']:>18.3f} {r['client_cpu_s_per_view']:>18.3f} {r['problems']:>8}")
    return verdict(failures, f"OK: every view showed the right user's profile and exact top {K}; no error, no exception.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=30, help="the largest number of sessions at once (default 30)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per phase (default 3)")
    ap.add_argument("--data", default=os.path.join(os.environ["RECSYS_HOME"], "data") if os.environ.get("RECSYS_HOME")
                    else None, help="a parsed data cache to copy (default $RECSYS_HOME/data; none: download)")
    ap.add_argument("--assets", action="store_true",
                    help="also measure each phase with every session fetching the app's page, scripts and styles first")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any one wait may take (default 300)")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 100 or not 1 <= args.rounds <= 20:
        ap.error("--sessions must be 1..100 and --rounds 1..20")
    home = fresh_home("recsys-server-load-", args.data)
    try:
        t = time.perf_counter()
        run_id = train_tiny(home)
        print(f"tiny run {run_id} trained in {time.perf_counter() - t:.1f} s "
              f"(python -m recsys train {' '.join(TINY_FLAGS)})", flush=True)
        try:
            server = streamlit_server(home, timeout_s=120)
            url = server.__enter__()
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
        try:
            print(f"streamlit on {url}, RECSYS_HOME={home}", flush=True)
            print(f"load average before: {load_average()} on {os.cpu_count()} CPUs",
                  flush=True)
            return asyncio.run(main_async(args, home, url, url.pid))
        finally:
            server.__exit__(None, None, None)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
