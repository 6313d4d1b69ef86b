"""``python -m recsys ready``: make sure the app has everything to show before it serves (``make run`` calls it).

A newcomer's first visit should find every section of every page full, with no click and no
wait. The pages need three kinds of run (``recsys/store/kinds.py``): a retrieval run (every
page), an item-to-item run on its split (the middle column of *Per movie*) and a ranking run
on its split (*Both stages*). So, on the default dataset:

- no retrieval run yet: train the *Our best* preset (``--preset``), which the app then opens with;
- for every other kind, no run on the split of the run the app opens with (the newest): train
  that kind's *Our best* on that split, the run the Recommend page picks by default.

One progress bar per run in the terminal. When everything is there it only says so: a second
start is immediate (no TensorFlow is loaded, nothing is trained).
"""
from __future__ import annotations

import time

from recsys import config as cfg
from recsys.cli.output import RunBar, emit


def register(sub) -> None:
    r = sub.add_parser("ready", help="train what the app shows on a first visit, once: a retrieval run, an "
                                     "item-to-item and a ranking run on its split (make run)")
    r.add_argument("--variant", choices=cfg.MOVIELENS_SIZES, default="100k", help="the dataset the app opens with")
    r.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="best",
                   help="what to train when none exists: this preset of each kind that has one (else its Our best)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(fn=run)


def plan(ds, preset: str) -> tuple[dict, list]:
    """``({kind: run found}, [(kind, settings) to train])``: what the app will show, and what it lacks.

    Reads run.json files only: no TensorFlow.
    """
    from recsys.store import kinds, runs

    tag = runs.data_tag(ds)
    found, missing = {}, []
    have = [r for r in runs.list_runs() if r.data == tag]
    if have:
        found["retrieval"] = have[0]  # newest first: the run the app opens with
        target = have[0].config
    else:
        target = kinds.KINDS["retrieval"].preset(preset).with_(variant=ds.variant)
        missing.append(("retrieval", target))
    for name, kind in kinds.KINDS.items():
        if name == "retrieval":
            continue
        same = [r for r in runs.list_runs(kind=name) if r.data == tag and r.config.split_of() == target.split_of()]
        if same:
            found[name] = same[0]
        else:
            variant, split, fraction, seed = target.split_of()
            missing.append((name, kind.preset(preset).with_(variant=variant, split=split, split_fraction=fraction,
                                                            seed=seed)))
    return found, missing


def run(a) -> int:
    from recsys.store import kinds, runs
    from recsys.data import prepared

    ds = prepared.load_dataset(a.variant)
    found, missing = plan(ds, a.preset)
    started = time.perf_counter()
    if missing:
        print(f"first start: training {len(missing)} run(s) once, so that every section of every page has "
              "something to show…", flush=True)
    width = max((len(kinds.KINDS[name].noun) for name, _ in missing), default=0)
    for i, (name, settings) in enumerate(missing, 1):
        title = f"[{i}/{len(missing)}] {kinds.KINDS[name].noun:<{width}}"
        bar = RunBar(title, settings.epochs, a.json)
        t = time.perf_counter()
        found[name], reused = runs.train_or_load(settings, ds, bar)
        bar.done(f"{'found' if reused else 'trained'} {found[name].run_id} · "
                 f"{kinds.KINDS[name].headline_text(found[name].metrics)} · {time.perf_counter() - t:.1f} s")
    found = {name: found[name] for name in kinds.KINDS if name in found}
    trained = [found[name].run_id for name, _ in missing]
    seconds = time.perf_counter() - started
    shown = ", ".join(f"{name} {r.run_id}" for name, r in found.items())
    text = f"ready on ml-{a.variant}: {shown}" + (f"; trained {len(trained)} in {seconds:.0f} s" if trained
                                                  else " (nothing to train)")
    emit({"runs": {name: r.run_id for name, r in found.items()}, "trained": trained, "seconds": round(seconds, 1)},
         a.json, text)
    return 0
