"""``python -m recsys data``: load MovieLens and print its counts and split sizes."""
from __future__ import annotations

from recsys import config as cfg
from recsys.cli.output import emit


def register(sub) -> None:
    d = sub.add_parser("data", help="load MovieLens and print counts and split sizes")
    d.add_argument("--source", choices=cfg.SOURCES, default="auto")
    d.add_argument("--path")
    d.add_argument("--variant", choices=cfg.MOVIELENS_SIZES, default="100k",
                   help="20m and 25m: GroupLens files from --path, or tensorflow-datasets")
    d.add_argument("--split", choices=cfg.SPLITS, default="random")
    d.add_argument("--fraction", type=float, default=0.8)
    d.add_argument("--seed", type=int, default=42)
    d.add_argument("--json", action="store_true")
    d.set_defaults(fn=run)


def run(a) -> int:
    from recsys import data

    ds = data.load(source=a.source, variant=a.variant, path=a.path)
    sp = data.split(ds, a.split, a.fraction, a.seed)
    s = ds.summary()
    out = {**s, "train": int(len(sp.train)), "test": int(len(sp.test)), "split": a.split}
    text = (f"source      {s['source']} (ml-{s['variant']})\nratings     {s['ratings']:,}\nusers       {s['users']:,}\n"
            f"movies      {s['movies']:,}\ntitles      {s['titles']:,} distinct\n"
            f"timestamps  {s['timestamp_min']} .. {s['timestamp_max']}\n"
            f"split       {a.split}: {len(sp.train):,} train / {len(sp.test):,} test")
    emit(out, a.json, text)
    return 0
