"""``python -m recsys report``: the tutorial vs our best vs popularity on both splits, as Markdown."""
from __future__ import annotations

import argparse
from pathlib import Path

from recsys.cli.output import emit, progress
from recsys.errors import UserError


SECOND_STAGE = ("The second stage (ranking RMSE, NDCG@10 of both stages, the multitask trade-off) has its own report: "
                "`python -m recsys report --stages --out docs/report_stages.md` ([report_stages.md](report_stages.md)).\n")


def register(sub) -> None:
    r = sub.add_parser("report", help="tutorial vs our best vs popularity on both splits, as Markdown")
    r.add_argument("--seeds", type=int, default=3, help="number of seeds (42, 43, ...)")
    r.add_argument("--out", help="write the Markdown here (default: print it)")
    r.add_argument("--ladder", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the step-by-step ladder from the tutorial to our best (seed 42)")
    r.add_argument("--explain", action="store_true", help="only print why the tutorial loses to popularity")
    r.add_argument("--stages", action="store_true",
                   help="only the second stage: ranking RMSE, both stages' NDCG@10 and the multitask sweep")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=run)


def run(a) -> int:
    from recsys.experiments import report

    if not 1 <= a.seeds <= 10:
        raise UserError(f"--seeds must be between 1 and 10, got {a.seeds}")
    if a.explain:  # only the "why", with its numbers: no training
        f = report.facts()
        emit({"facts": f, "markdown": report.explain(f)}, a.json, report.explain(f))
        return 0
    note = progress(a.quiet)
    if a.stages:
        return stages(a, note)
    command = "python -m recsys report" + (f" --seeds {a.seeds}" if a.seeds != 3 else "") + \
        (f" --out {a.out}" if a.out else "") + (" --no-ladder" if not a.ladder else "")
    import os

    load_before = os.getloadavg()[0]
    rows = report.collect(a.seeds, progress=note)
    summary = report.summarize(rows)
    text = report.to_markdown(summary, command, note=(
        f"Timings: {os.cpu_count()} cores, load average {load_before:.1f} when the report started and "
        f"{os.getloadavg()[0]:.1f} when its tables were done (the report's own training counts in it)."))
    text += "\n" + report.item_to_item_markdown(rows)
    ladder_rows = report.collect_ladder(progress=note) if a.ladder else []
    if ladder_rows:
        text += "\n" + report.ladder_markdown(ladder_rows)
    text += "\n" + report.explain(report.facts())
    text += "\n" + SECOND_STAGE
    return deliver(a, text, {"rows": rows, "summary": summary, "ladder": ladder_rows})


def stages(a, note) -> int:
    """``--stages``: the second-stage report (recsys/experiments/stages_report.py)."""
    from recsys.experiments import report, stages_report

    command = "python -m recsys report --stages" + (f" --seeds {a.seeds}" if a.seeds != 3 else "") + \
        (f" --out {a.out}" if a.out else "")
    result = stages_report.collect(report.seeds(a.seeds), progress=note)
    text = stages_report.to_markdown(result, command)
    return deliver(a, text, result)


def deliver(a, text: str, payload: dict) -> int:
    """The Markdown to ``--out`` (or printed), the figures as JSON with ``--json``."""
    if a.json:
        emit(payload, True)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)
        if not a.json:
            print(f"wrote {a.out}")
    elif not a.json:
        print(text)
    return 0
