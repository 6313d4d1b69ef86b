"""A retrieval run as a Jupyter notebook (or a plain script) in the order of the TFRS tutorial.

``cells(config, identity)`` fills the tutorial's sections (``sections.py``) with the
tutorial's code, lets every lever write its lines (``levers.py``) and returns, per section,
the markdown note and the code. The note of a cell is the help text of the levers whose
lines it holds (the registry's words, ``recsys/config.py``), so a slider's explanation sits
above the line it changes. ``marked`` compares each cell with the same cell of the *TFRS
tutorial* preset, which is how the Train page points at the lines a run's settings changed.

The notebook sets ``TF_USE_LEGACY_KERAS`` in its first code cell, loads MovieLens with
tensorflow-datasets (the lab's offline loader when that cannot download), splits the ratings
as the run did (it prints whether its test ratings are the run's, by a fingerprint the lab
computes here, ``test_key``), trains, prints ``model.evaluate(cached_test, return_dict=True)``
and writes into ``export_dir``: the BruteForce and ScaNN SavedModels, every user's and
movie's vector and the test figures (``bench notebook`` scores those with the lab's evaluator).
"""
from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from recsys.config import LEVERS, TUTORIAL, TrainConfig
from recsys.errors import UserError
from recsys.notebook import levers, sections
from recsys.notebook.slots import Code

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MARK = "# ◀"  # the end of a line that differs from the TFRS tutorial preset (Show the code)
LARGE = ("20m", "25m")  # above recsys.data's TF_SHUFFLE_MAX: the lab draws a random split with numpy


@dataclass(frozen=True)
class Identity:
    """What a notebook says about the run it rebuilds (none of it changes the model)."""

    run_id: str = "tutorial"
    label: str = ""
    test_key: str = ""          # fingerprint of the run's test ratings (``test_key``); "" when unknown
    export_dir: str = "recsys_export"
    figures: dict = field(default_factory=dict)  # the run's own test top-K, both variants; its training time
    notes: tuple = ()           # what plain TFRS code does not reproduce of this run beyond its levers


@dataclass(frozen=True)
class Cell:
    section: str
    title: str     # the section's title (the notebook shows it as a heading)
    note: str      # what the tutorial does there, and the help of each lever whose lines the cell holds
    code: str

    @property
    def markdown(self) -> str:
        return f"## {self.title}\n\n{self.note}"


def identity_of(run, ds=None, export_dir: str | None = None) -> Identity:
    """The ``Identity`` of a saved retrieval run; with ``ds``, the fingerprint of its test ratings too."""
    m = run.metrics["model"]
    figures = {"top_10": m["test"]["top_10"], "top_100": m["test"]["top_100"],
               "top_10_seen_removed": m["test_filtered"]["top_10"],
               "top_100_seen_removed": m["test_filtered"]["top_100"],
               "seconds": run.seconds, "best_epoch": run.best_epoch, "data": run.data}
    notes = ()
    if run.strategy:
        notes = (f"The run was trained with a distribution strategy ({run.strategy}): each replica saw a shard of "
                 "every batch, so fewer in-batch negatives. This notebook trains on one device.",)
    return Identity(run_id=run.run_id, label=run.config.label(), test_key=test_key(ds, run.config) if ds else "",
                    export_dir=export_dir or f"run_{run.run_id}_export", figures=figures, notes=notes)


def test_key(ds, config: TrainConfig) -> str:
    """Fingerprint of a split's test ratings: sha1 of the sorted "user_id<TAB>title" lines (the notebook's own)."""
    return split_key(ds, config.split, config.split_fraction, config.seed)


@lru_cache(maxsize=16)  # a Dataset hashes by identity: one entry per loaded dataset and split
def split_key(ds, split: str, fraction: float, seed: int) -> str:
    from recsys.data import prepared

    p = prepared.prepare(ds, TUTORIAL.with_(variant=ds.variant, split=split, split_fraction=fraction, seed=seed))
    pairs = sorted(f"{u}\t{t}" for u, t in zip(ds.user_ids[p.test_users], ds.titles[p.test_movies]))
    return hashlib.sha1("\n".join(pairs).encode()).hexdigest()[:12]


def code_for(config: TrainConfig, identity: Identity) -> Code:
    """The tutorial's code with every lever of ``config`` written in."""
    config = config.validate()
    code = Code()
    sections.tutorial(code)
    for slot, value in (("run_id", identity.run_id), ("project_root", str(PROJECT_ROOT)),
                        ("export_dir", identity.export_dir), ("test_key", identity.test_key)):
        code.put(slot, value)
    missing = set(LEVERS) - set(levers.ENTRIES)
    if missing:
        raise TypeError(f"levers without notebook code (recsys/notebook/levers.py): {', '.join(sorted(missing))}")
    for name in LEVERS:
        code.lever = name
        levers.ENTRIES[name].write(config, code)
    code.lever = None
    if config.split == "random" and config.variant in LARGE:
        code.put("order", "order = np.random.default_rng(⟨seed⟩).permutation(len(ratings))  "
                          "# above 2M ratings the lab draws the order with numpy (TensorFlow's buffer is too big)")
    return code


def caveats(config: TrainConfig, identity: Identity) -> list[str]:
    """What of this run plain TFRS code does not reproduce: the levers' own caveats, then the run's."""
    out = [text for name in LEVERS if (entry := levers.ENTRIES[name]).caveat and (text := entry.caveat(config))]
    return out + list(identity.notes)


def cells(config: TrainConfig, identity: Identity) -> list[Cell]:
    """The notebook's cells after its title: one (note, code) per section of the tutorial, in its order."""
    code = code_for(config, identity)
    out = []
    for section in sections.SECTIONS:
        template = section.class_template if section.class_template and code.has(f"{section.key}_class") \
            else section.template
        out.append(Cell(section.key, section.title, note(section, code, template, config), code.render(template)))
    return out


def slots_read(code: Code, template: str) -> list[str]:
    """Every slot a template reads, and the slots those slots' text reads, in order."""
    seen, todo = [], code.holes(template)
    while todo:
        slot = todo.pop(0)
        if slot not in seen:
            seen.append(slot)
            todo += code.holes(code.get(slot)) if slot in code.slots else []
    return seen


def note(section, code: Code, template: str, config: TrainConfig) -> str:
    """The cell's note: what the tutorial does there, and the help of each lever whose lines it holds."""
    names = []
    for slot in slots_read(code, template):
        for name in code.writers.get(slot, []):
            if name not in names:
                names.append(name)
    lines = [section.says]
    if names:
        lines.append("")
        lines += [f"- **{LEVERS[n].label}** = `{shown(getattr(config, n))}`: {LEVERS[n].help}" for n in names]
    return "\n".join(lines)


def shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def title(config: TrainConfig, identity: Identity) -> str:
    """The first cell: which run, its own figures, and what of it this notebook cannot reproduce."""
    f = identity.figures
    lines = [f"# Run `{identity.run_id}` as a TensorFlow Recommenders notebook", "",
             f"*{identity.label or config.label()}*", "",
             "Written by the two-tower lab (`python -m recsys notebook`) from its lever registry, in the order of the "
             "[TFRS basic retrieval tutorial](https://www.tensorflow.org/recommenders/examples/basic_retrieval): data, "
             "split, query tower, candidate tower, metrics and task, model, fit and evaluate, BruteForce, SavedModel, "
             "ScaNN, export. Everything is plain TensorFlow Recommenders and Keras; only the data falls back to the "
             "lab's loader when tensorflow-datasets cannot download. Each cell says which settings it holds."]
    if f:
        lines += ["", f"**The run's own figures** (the lab's evaluator, {f.get('data', 'its data')}): test top-10 "
                      f"{f['top_10']:.4f} and top-100 {f['top_100']:.4f} among all movies, "
                      f"{f['top_10_seen_removed']:.4f} and {f['top_100_seen_removed']:.4f} with the movies each user "
                      "rated in training removed; "
                      f"trained in {f['seconds']:.1f} s (epoch {f['best_epoch']} of {config.epochs} kept). This "
                      "notebook's figures agree within seed noise: the order of the batches is drawn by "
                      "TensorFlow here (NumPy in the lab) and the initial weights in another order (the lookups "
                      "here keep row 0 for an unknown id, the lab its last row)."]
    lost = caveats(config, identity)
    lines += ["", "**Not reproduced in plain TFRS code**: " + (
        "nothing; every setting of this run is written out below." if not lost else "")]
    lines += [f"- {text}" for text in lost]
    return "\n".join(lines)


def notebook(config: TrainConfig, identity: Identity):
    """The run as an ``nbformat`` v4 notebook (a title cell, then a markdown note and a code cell per section)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["recsys"] = {"run_id": identity.run_id, "config": config.to_dict(), "export_dir": identity.export_dir}
    nb.cells.append(nbformat.v4.new_markdown_cell(title(config, identity), id="title"))  # fixed ids: the same run,
    for cell in cells(config, identity):                                                    # the same file
        nb.cells.append(nbformat.v4.new_markdown_cell(cell.markdown, id=f"{cell.section}-note"))
        nb.cells.append(nbformat.v4.new_code_cell(cell.code, id=f"{cell.section}-code"))
    nbformat.validate(nb)
    return nb


def notebook_text(config: TrainConfig, identity: Identity) -> str:
    import nbformat

    return nbformat.writes(notebook(config, identity))


def script(config: TrainConfig, identity: Identity) -> str:
    """The same cells as one Python script (``# %%`` cell markers, as Jupytext and VS Code read them)."""
    parts = ["# %% [markdown]\n" + commented(title(config, identity))]
    for cell in cells(config, identity):
        parts.append("# %% [markdown]\n" + commented(cell.markdown))
        parts.append("# %%\n" + cell.code)
    return "\n\n\n".join(parts) + "\n"


def commented(markdown: str) -> str:
    return "\n".join(f"# {line}".rstrip() for line in markdown.splitlines())


@dataclass(frozen=True)
class MarkedCell(Cell):
    """A cell for "Show the code", with the lines of it that the TFRS tutorial preset does not have."""

    changed: tuple = ()  # line numbers (0-based) of ``code`` that differ from the tutorial preset

    def annotated(self) -> str:
        """The code with ``MARK`` at the end of each changed line."""
        lines = self.code.splitlines()
        return "\n".join(f"{line}  {MARK}" if i in self.changed and line.strip() else line
                         for i, line in enumerate(lines))


def marked(config: TrainConfig, identity: Identity, base: TrainConfig = TUTORIAL) -> list[MarkedCell]:
    """Each cell of ``config``'s notebook with the lines that differ from ``base`` (the TFRS tutorial preset)."""
    theirs = {c.section: c.code.splitlines() for c in cells(base, identity)}
    out = []
    for cell in cells(config, identity):
        mine = cell.code.splitlines()
        ops = difflib.SequenceMatcher(None, theirs[cell.section], mine, autojunk=False).get_opcodes()
        changed = tuple(j for op, _, _, j1, j2 in ops if op in ("replace", "insert") for j in range(j1, j2))
        out.append(MarkedCell(cell.section, cell.title, cell.note, cell.code, changed))
    return out


def for_run(run, ds=None, export_dir: str | None = None) -> tuple[TrainConfig, Identity]:
    """A saved run's config and identity; ``UserError`` unless it is a retrieval run."""
    if getattr(run, "kind", "retrieval") != "retrieval":
        kind = run.kind.replace("_", "-")
        raise UserError(f"run {run.run_id} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} run: notebooks are "
                        "written for retrieval runs (user -> movie)")
    return run.config, identity_of(run, ds, export_dir)


def write_text(text: str, out: str | Path) -> Path:
    """Write ``text`` to ``out`` atomically (a temporary sibling renamed into place); ``UserError`` if it cannot."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise UserError(f"{out} is a folder: give a file name, e.g. {out / 'my_run.ipynb'}")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}-", dir=out.parent if str(out.parent) else ".")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    except OSError as e:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    return out
