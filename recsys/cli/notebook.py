"""``python -m recsys notebook --run R --out my_run.ipynb [--script my_run.py]``: a run as a TFRS notebook.

The notebook (``recsys/notebook/``) rebuilds the retrieval run in plain TensorFlow
Recommenders, in the tutorial's order, and writes its SavedModels, vectors and test figures
into a folder beside it when run (``--export-dir``, default ``<notebook name>_export``).
"""
from __future__ import annotations

import os
from pathlib import Path

from recsys.cli.output import emit
from recsys.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("notebook", help="write a retrieval run as a runnable TFRS notebook (and script)")
    p.add_argument("--run", required=True, help="run id (or a unique prefix; see `python -m recsys runs`)")
    p.add_argument("--out", required=True, help="the notebook to write, e.g. my_run.ipynb")
    p.add_argument("--script", help="also write the same code as a Python script, e.g. my_run.py")
    p.add_argument("--export-dir", help="where the notebook writes its SavedModels, vectors and figures when it runs "
                                        "(default: <notebook name>_export, beside it)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=run)


def writable(path: str, flag: str) -> Path:
    """``path`` as a file this process can create or replace; ``UserError`` (one line) otherwise."""
    out = Path(path).expanduser()
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise UserError(f"{flag} {out} is a folder: give a file name")
    if not parent.is_dir():
        raise UserError(f"{flag} {out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UserError(f"{flag} {out}: not writable")
    return out


def run(a) -> int:
    from recsys.notebook import writer
    from recsys.store import runs
    from recsys.data import prepared

    out = writable(a.out, "--out")
    script = writable(a.script, "--script") if a.script else None
    if script is not None and script.resolve() == out.resolve():
        raise UserError("--script and --out name the same file")
    run_ = runs.load(a.run)
    writer.for_run(run_)  # a ranking or item-to-item run stops here, before the data is loaded
    try:
        ds = prepared.load_dataset(run_.config.variant)
    except UserError:  # the data is not here: the notebook cannot tell whether its split is the run's
        ds = None
    config, identity = writer.for_run(run_, ds, a.export_dir or f"{out.stem}_export")
    writer.write_text(writer.notebook_text(config, identity), out)
    if script is not None:
        writer.write_text(writer.script(config, identity), script)
    lost = writer.caveats(config, identity)
    emit({"run_id": run_.run_id, "notebook": str(out), "script": str(script) if script else None,
          "export_dir": identity.export_dir, "test_key": identity.test_key, "not_reproduced": lost}, a.json,
         f"wrote {out}{f' and {script}' if script else ''}: run {run_.run_id} ({config.label()}) in plain TFRS, "
         f"in the tutorial's order\nopen it in Jupyter or Colab{f' (or run: python {script.name})' if script else ''}; "
         f"it writes {identity.export_dir}/ (SavedModels, vectors, test figures)\n"
         + ("not reproduced in plain TFRS: " + "; ".join(lost) if lost else "every setting of the run is written out"))
    return 0
