"""Export a run as the tutorial's serving model: raw user ids in, (scores, titles) out.

The TFRS tutorial ends by saving its retrieval index as a TensorFlow SavedModel that takes
a batch of user id strings and returns the top-k scores and movie titles, with the index
(BruteForce or ScaNN) inside. That is what ``export`` writes, for the index asked for:

    query model   user id string --StringLookup--> row --Embedding--> user vector
                  (the run's user vectors as a constant table; unknown ids -> a zero vector,
                  so every movie scores 0 for them)
    index         TFRS BruteForce or ScaNN over the run's movie vectors, identifiers = titles
    signature     serving_default(user_ids: string[None]) -> {"scores", "titles"}

ScaNN's searcher lives in custom ops, so it is saved with
``tf.saved_model.SaveOptions(namespace_whitelist=["Scann"])`` and loading it needs
``import scann`` first (that registers the ops). The tutorial's last cell saves the
BruteForce index where it meant ScaNN; we export the index that was asked for.

After writing, the model is reloaded in a *fresh* Python process with plain TensorFlow
(no ``recsys``, no Keras) and must return the same titles as the in-memory index for a
sample of users; otherwise nothing is left at the destination and ``UserError`` says why.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recsys.errors import UserError

INDEXES = ("bruteforce", "scann")
UNKNOWN_USER = "no-such-user"

# Run in a fresh interpreter: exactly what a user of the export would do (see docs/export.md). RELOAD
# loads the model as ``loaded``; an export's query lines (``_QUERY`` here) ask it about ``users``.
RELOAD = textwrap.dedent("""
    import gc, json, sys
    gc.set_threshold(*gc.get_threshold()[:2], 100)  # as recsys/__init__.py: no full collection while TF loads
    path, kind, users = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    if kind == "scann":
        import scann  # noqa: F401  registers the ScaNN ops the index needs
    import tensorflow as tf
    loaded = tf.saved_model.load(path)
""")
_QUERY = textwrap.dedent("""
    scores, titles = loaded(tf.constant(users))
    sig = loaded.signatures["serving_default"](user_ids=tf.constant(users))  # the same batch, through the signature
    print(json.dumps({
        "titles": [[t.decode() for t in row] for row in titles.numpy()],
        "scores": scores.numpy().tolist(),
        "signature_titles": [[t.decode() for t in row] for row in sig["titles"].numpy()],
        "signature_scores": sig["scores"].numpy().tolist(),
    }))
""")

# The answer is printed: leave without the interpreter's teardown (~1 s of CPU with TensorFlow loaded).
_LEAVE = "\nimport os\nsys.stdout.flush()\nos._exit(0)\n"


@dataclass
class ExportReport:
    """What was written and what the fresh-process check found."""

    path: str
    run_id: str
    index: str
    k: int
    users_checked: int
    matched: int
    mismatches: list = field(default_factory=list)  # [{"user_id", "in_memory", "reloaded"}]
    unknown_user_scores_zero: bool = True
    scann_params: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.unknown_user_scores_zero

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check_args(run, index: str, k: int, n_titles: int, scann_params=None):
    """``UserError`` for a run or settings no export can serve; returns ScaNN's params (None: BruteForce).

    Both exports (this one and ``export_two_stage``) call it before they build anything.
    """
    if run.kind != "retrieval":
        raise UserError(f"run {run.run_id} is a {run.kind} run: give a retrieval run as --run")
    if index not in INDEXES:
        raise UserError(f"index must be one of {', '.join(INDEXES)}, got {index!r}")
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(100, n_titles):
        raise UserError(f"k must be between 1 and {min(100, n_titles)}, got {k!r}")
    if index == "bruteforce":
        return None
    from recsys.serving import index as idx

    return (scann_params or idx.default_scann_params(n_titles)).validate(n_titles, k)


def build_serving_model(run, ds, index: str = "bruteforce", k: int = 10, scann_params=None):
    """The in-memory serving model (a ``tf.Module``): ``model(user_ids) -> (scores, titles)``.

    Returns (module, scann_params used or None).
    """
    import tensorflow as tf

    from recsys.serving import index as idx

    params = check_args(run, index, k, len(ds.titles), scann_params)
    user_vectors, movie_vectors = run.vectors_for(ds)
    dim = user_vectors.shape[1]
    # Row 0 is StringLookup's out-of-vocabulary slot: a zero vector scores 0 against every movie.
    table = np.vstack([np.zeros((1, dim), np.float32), user_vectors.astype(np.float32)])
    query_model = tf.keras.Sequential([
        tf.keras.layers.StringLookup(vocabulary=[str(u) for u in ds.user_ids], mask_token=None,
                                     num_oov_indices=1, name="user_id_lookup"),
        tf.keras.layers.Embedding(len(table), dim, embeddings_initializer=tf.keras.initializers.Constant(table),
                                  trainable=False, name="user_vectors"),
    ], name="query_model")
    candidates = tf.constant(movie_vectors, tf.float32)
    identifiers = tf.constant([str(t) for t in ds.titles])
    if index == "bruteforce":
        import tensorflow_recommenders as tfrs

        layer = tfrs.layers.factorized_top_k.BruteForce(query_model, k=k)
    else:
        layer = idx.TunedScaNN(params, k=k, query_model=query_model)
    with idx.quiet_native_logs():
        layer.index(candidates, identifiers)
    return _serving_class()(layer, k), params


def _serving_class():
    import tensorflow as tf

    class Serving(tf.Module):
        """Holds the index (with its query model) and one traced entry point for any batch size."""

        def __init__(self, layer, k: int):
            super().__init__(name="serving")
            self.index = layer
            self.k = k

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_ids")])
        def __call__(self, user_ids):
            return self.index(user_ids, k=self.k)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_ids")])
        def serve(self, user_ids):
            scores, titles = self.index(user_ids, k=self.k)
            return {"scores": scores, "titles": titles}

    return Serving


def sample_users(ds, n: int = 20) -> list[str]:
    """``n`` known user ids spread over the id range (deterministic)."""
    pos = np.unique(np.linspace(0, len(ds.user_ids) - 1, min(n, len(ds.user_ids))).round().astype(int))
    return [str(ds.user_ids[i]) for i in pos]


def reload_in_fresh_process(path: str | Path, index: str, users: list[str], timeout: float = 300,
                            query: str | None = None) -> dict:
    """Load the SavedModel in a new Python with plain TensorFlow and query ``users``.

    ``RELOAD`` then ``query`` (default: the retrieval export's) run as ``python -c SCRIPT PATH INDEX
    USERS_JSON``; the query prints one JSON line. The two-stage export (``export_two_stage``) brings its own.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)  # plain TensorFlow: our package is not needed to load it
    try:
        script = RELOAD + (query or _QUERY) + _LEAVE
        proc = subprocess.run([sys.executable, "-c", script, str(path), index, json.dumps(users)],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        raise UserError(f"the exported model did not load in a fresh process within {timeout:g} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(f"the exported model did not load in a fresh process: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_titles(a_titles, a_scores, b_titles, b_scores, tol: float = 1e-4) -> bool:
    """Same titles in the same order, allowing tied scores (within ``tol``) to swap places."""
    if list(a_titles) == list(b_titles):
        return True
    if len(a_titles) != len(b_titles) or not np.allclose(a_scores, b_scores, atol=tol):
        return False
    a_titles, b_titles = list(a_titles), list(b_titles)
    for i in range(len(a_titles)):  # a title may move only among equal scores
        if a_titles[i] != b_titles[i]:
            group = [j for j in range(len(a_titles)) if abs(a_scores[j] - a_scores[i]) <= tol]
            if a_titles[i] not in [b_titles[j] for j in group]:
                return False
    return True


def export(run, ds, out: str | Path, index: str = "bruteforce", k: int = 10, scann_params=None,
           overwrite: bool = False, n_check: int = 20) -> ExportReport:
    """Write ``run``'s serving model to ``out``, reload it in a fresh process and compare.

    The model is written to a temporary sibling folder and moved to ``out`` only after the
    check passed, so ``out`` never holds an export that does not match.
    """
    import tensorflow as tf

    out = destination(out, overwrite)
    module, params = build_serving_model(run, ds, index, k, scann_params)
    users = sample_users(ds, n_check)
    scores, titles = module(tf.constant(users + [UNKNOWN_USER]))
    expected_titles = [[t.decode() for t in row] for row in titles.numpy()]
    expected_scores = scores.numpy()

    tmp = staging_folder(out)
    try:
        options = tf.saved_model.SaveOptions(namespace_whitelist=["Scann"]) if index == "scann" else None
        with quiet_saving():
            tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve}, options=options)
        got = reload_in_fresh_process(tmp, index, users + [UNKNOWN_USER])
        report = ExportReport(path=str(out), run_id=run.run_id, index=index, k=int(k), users_checked=len(users),
                              matched=0, scann_params=params.to_dict() if params else None)
        # Like with like: the same batch of users through the in-memory model, the reloaded model's call and its
        # serving_default signature (an approximate index need not answer a batch and a single query alike).
        for i, user in enumerate(users):
            direct = same_titles(expected_titles[i], expected_scores[i], got["titles"][i], got["scores"][i])
            signature = same_titles(got["titles"][i], got["scores"][i], got["signature_titles"][i],
                                    got["signature_scores"][i])
            if direct and signature:
                report.matched += 1
            else:
                report.mismatches.append({"user_id": user, "via": "call" if not direct else "serving_default",
                                          "in_memory": expected_titles[i] if not direct else got["titles"][i],
                                          "reloaded": got["titles"][i] if not direct else got["signature_titles"][i]})
        report.unknown_user_scores_zero = bool(np.allclose(got["scores"][-1], 0.0))
        if not report.ok:
            first = report.mismatches[0] if report.mismatches else None
            why = differs(first) if first else "an unknown user id did not get zero scores"
            raise UserError(f"the reloaded {index} export does not match the in-memory index "
                            f"({report.matched}/{report.users_checked} users match; {why}); nothing was written")
        publish(tmp, out, {**report.to_dict(), "config": run.config.to_dict(), "data": run.data})
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def destination(out: str | Path, overwrite: bool = False) -> Path:
    """``out`` resolved; ``UserError`` if it holds something and ``overwrite`` was not asked."""
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise UserError(f"{out} already exists and is not empty (choose another --out, or --overwrite)")
    return out


def staging_folder(out: Path) -> Path:
    """A new hidden sibling of ``out`` to write into: renamed to ``out`` once the check passed."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".export-{out.name}-", dir=out.parent))
    except OSError as e:
        raise UserError(f"cannot write to {out.parent}: {e.strerror or e}")


def publish(tmp: Path, out: Path, meta: dict) -> None:
    """Write ``meta`` to ``assets.extra/recsys_export.json`` in ``tmp`` and move ``tmp`` to ``out``."""
    extra = tmp / "assets.extra"
    extra.mkdir(exist_ok=True)
    (extra / "recsys_export.json").write_text(json.dumps(meta, indent=1))
    if out.exists():
        shutil.rmtree(out)
    os.rename(tmp, out)


def differs(mismatch: dict) -> str:
    """Where two top-k lists of one user part: the first rank at which they differ, and the two titles there."""
    a, b = mismatch["in_memory"], mismatch["reloaded"]
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    what = "the reloaded model's serving_default signature against its direct call" if mismatch["via"] == \
        "serving_default" else "the reloaded model against the in-memory one"
    return (f"user {mismatch['user_id']}, {what}: the lists part at rank {at + 1} "
            f"({a[at] if at < len(a) else '(none)'!r} against {b[at] if at < len(b) else '(none)'!r})")


class quiet_saving:
    """Hide TensorFlow's Python-side warnings while saving (untraced functions etc.) or retracing."""

    def __enter__(self):
        import logging

        self._logger = logging.getLogger("tensorflow")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self._logger.setLevel(self._level)


def zip_dir(path: str | Path) -> bytes:
    """The folder as zip bytes (paths inside start with the folder's name)."""
    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(path.rglob("*")):
            if p.is_file():
                z.write(p, Path(path.name) / p.relative_to(path))
    return buf.getvalue()


def export_zip(run, ds, index: str = "bruteforce", k: int = 10, scann_params=None) -> tuple[bytes, ExportReport]:
    """Export into a temporary folder (checked like ``export``) and return it zipped, for a download."""
    with tempfile.TemporaryDirectory(prefix="recsys-export-") as d:
        name = f"recsys-{run.run_id}-{index}-k{k}"
        report = export(run, ds, Path(d) / name, index, k, scann_params)
        data = zip_dir(Path(d) / name)
    report.path = f"{name}.zip"
    return data, report
