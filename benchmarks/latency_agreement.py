"""Does the Recommend page's latency agree with the CLI's? Page figure against ``recommend --json``, same run, same query.

    .venv/bin/python benchmarks/latency_agreement.py [--run RUN] [--user 42] [--views 12]

Starts ``streamlit run app.py`` on ``$RECSYS_HOME`` (a copy of its runs and data; ``--run``, default
the newest retrieval run there), opens the Recommend page for ``--user`` over Streamlit's websocket
(as ``benchmarks/server_load.py`` does, no browser), with and without the user's movies left out,
every 6 s, ``--views`` times, and keeps the last BruteForce and ScaNN figures and how the page says
they were measured. Then runs ``python -m recsys recommend --run RUN --user U [--exclude-seen] --json``
three times in fresh processes (the median of its ``latency_ms``). Prints both, their ratio, and
whether each index agrees within 2x (the page's promise on an idle machine, issue 22).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from server_load import view  # noqa: E402
from tests.serve import streamlit_server  # noqa: E402

NAMES = {"bruteforce": "BruteForce", "scann": "ScaNN"}


def cli_latency(run_id: str, user: str, exclude_seen: bool, home: Path) -> dict:
    """The median over three fresh CLI processes of each index's ``latency_ms``."""
    got = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-m", "recsys", "recommend", "--run", run_id, "--user", user, "--json",
                              *(["--exclude-seen"] if exclude_seen else [])], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "RECSYS_HOME": str(home)}, timeout=300)
        if out.returncode:
            raise SystemExit(out.stderr[-2000:])
        got.append(json.loads(out.stdout)["latency_ms"])
    return {name: float(np.median([g[name] for g in got])) for name in NAMES}


async def page_latency(url: str, user: str, exclude_seen: bool, views: int) -> tuple[dict, dict]:
    """The page's figures (ms) and their help texts, after ``views`` views 6 s apart (the last view's)."""
    for i in range(views):
        got = await view(url, user, 300, False, exclude_seen)
        if got["problems"]:
            raise SystemExit(f"the page failed: {got['problems']}")
        if i < views - 1:
            await asyncio.sleep(6)
    return ({name: float(got["metrics"][f"{label} latency"].split()[0]) for name, label in NAMES.items()},
            {name: got["help"][f"{label} latency"] for name, label in NAMES.items()})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", help="a retrieval run in $RECSYS_HOME (default: the newest)")
    ap.add_argument("--user", default="42")
    ap.add_argument("--views", type=int, default=12, help="page views, 6 s apart, before the figure is read")
    args = ap.parse_args()
    source = Path(os.environ.get("RECSYS_HOME") or Path.home() / ".cache" / "recsys")
    from recsys.store import runs

    run_id = runs.load(args.run, source / "runs").run_id if args.run else runs.list_runs(source / "runs")[0].run_id
    home = Path(tempfile.mkdtemp(prefix="recsys-latency-"))
    shutil.copytree(source / "data", home / "data", ignore=shutil.ignore_patterns("*.tmp*", ".tmp-*"))
    (home / "runs").mkdir()
    shutil.copytree(source / "runs" / run_id, home / "runs" / run_id)
    print(f"run {run_id}, user {args.user}; load average before: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    rows, agree = [], True
    try:
        with streamlit_server(home, timeout_s=120) as url:
            for exclude_seen in (True, False):
                page, how = asyncio.run(page_latency(url, args.user, exclude_seen, args.views))
                rows.append((exclude_seen, page, how))
        for i, (exclude_seen, page, how) in enumerate(rows):
            cli = cli_latency(run_id, args.user, exclude_seen, home)
            print(f"\nseen movies {'left out' if exclude_seen else 'kept'}:")
            for name, label in NAMES.items():
                ratio = page[name] / cli[name]
                ok = 0.5 <= ratio <= 2.0
                agree &= ok
                print(f"  {label:<10} page {page[name]:6.2f} ms   CLI {cli[name]:6.2f} ms   page/CLI {ratio:4.2f}  "
                      f"{'within 2x' if ok else 'NOT within 2x'}")
                print(f"             the page says: {how[name].split('; ', 1)[-1]}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}  "
          f"({time.strftime('%Y-%m-%d %H:%M')})")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
