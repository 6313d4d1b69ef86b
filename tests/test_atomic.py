"""Crashes lose nothing: real processes killed with SIGKILL while they train, save runs and
write the data cache; afterwards every listed run loads completely, earlier runs are
untouched, a cache is either trusted and complete or ignored, and leftovers are cleaned.
"""
import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recsys import atomic, cli, data
from recsys.data import movielens
from recsys.store import runs
from recsys.errors import UserError
from recsys.training import train
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]

SAVER = """
import json, sys
import numpy as np
import recsys
from recsys import data
from recsys.store import runs
from recsys.data import prepared
from recsys.training import train
from recsys.config import TrainConfig
root, vectors, meta, seed = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), int(sys.argv[4])
ds = data.load()  # the test session's cache
with np.load(vectors) as z:
    u, m = z["u"], z["m"]
config = TrainConfig.from_dict(meta["config"])
print("ready", flush=True)
while True:  # save run after run (some with the same id as the other process's) until killed
    result = train.TrainResult(config=config.with_(seed=seed), user_vectors=u, movie_vectors=m,
                               history=meta["history"], metrics=meta["metrics"], seconds=1.0, best_epoch=1)
    print("saved", runs.save(result, ds, root).run_id, flush=True)
    seed += 1
"""

TRAINER = """
import sys
import recsys
from recsys.config import TUTORIAL
from recsys.store import runs
from recsys.data import prepared
from recsys.training import train

root, mode = sys.argv[1], sys.argv[2]
ds = prepared.load_dataset("100k")

class Progress(train.Callback):
    def on_batch(self, epoch, step, steps, loss):
        print("step", step, flush=True)

config = TUTORIAL.with_(embedding_dim=8, epochs=1, batch_size=4096, seed=5)
result = train.fit(config, ds, Progress() if mode == "train" else None)
i = 0
while True:  # real saves with the Keras checkpoint, until killed
    result.config = config.with_(seed=1000 + i)
    print("saved", runs.save(result, ds, root).run_id, flush=True)
    i += 1
"""

CACHER = """
import sys
from pathlib import Path
import recsys
from recsys import data
from recsys.data import movielens
ds = data.load()
folder = Path(sys.argv[1])
while True:
    movielens.cache_write(folder, ds)
    print("written", flush=True)
"""


def _spawn(script: str, *args, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _kill_after(proc: subprocess.Popen, log: Path, marker: str, delay: float, timeout: float = 240) -> str:
    """SIGKILL ``proc`` ``delay`` seconds after ``marker`` first appears in its output."""
    end = time.monotonic() + timeout
    while marker not in log.read_text():
        if proc.poll() is not None:
            pytest.fail(f"child exited early:\n{log.read_text()[-2000:]}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail(f"no {marker!r} from child within {timeout} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return log.read_text()


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _check_all_complete(root: Path, expect_vectors=None) -> list:
    listed = runs.list_runs(root)
    for run in listed:
        u, m = run.vectors  # every listed run loads completely
        assert u.shape == (943, 8) and m.shape == (1664, 8)
        if expect_vectors is not None:
            np.testing.assert_array_equal(u, expect_vectors[0])
            np.testing.assert_array_equal(m, expect_vectors[1])
        assert run.metrics["model"]["test"]["top_100"] > 0
    return listed


@pytest.fixture()
def earlier(tiny_run, ml100k, tmp_path):
    """A runs root holding one complete earlier run, and its files' digests."""
    root = tmp_path / "runs"
    root.mkdir()
    result = train.TrainResult(config=TINY.with_(seed=99_999), user_vectors=tiny_run.vectors[0],
                               movie_vectors=tiny_run.vectors[1], history=tiny_run.history,
                               metrics=tiny_run.metrics, seconds=1.0, best_epoch=1)
    run = runs.save(result, ml100k, root)
    return root, run, _digest(run.path)


@pytest.mark.slow
def test_kill_9_while_saving_never_lists_half_a_run(earlier, tiny_run, tmp_path):
    root, first, before = earlier
    np.savez(tmp_path / "vectors.npz", u=tiny_run.vectors[0], m=tiny_run.vectors[1])
    (tmp_path / "meta.json").write_text(json.dumps(tiny_run.summary() | {"history": tiny_run.history}))
    rng = random.Random(8)
    saved = set()
    for round_ in range(2):  # two concurrent writers per round, the same run ids: they race on every rename
        logs = [tmp_path / f"saver-{round_}-{i}.log" for i in range(2)]
        procs = [_spawn(SAVER, root, tmp_path / "vectors.npz", tmp_path / "meta.json", 100 * round_, log=log)
                 for log in logs]
        for proc, log in zip(procs, logs):
            out = _kill_after(proc, log, "saved", rng.uniform(0.0, 0.4))
            saved |= {ln.split()[1] for ln in out.splitlines() if ln.startswith("saved ")}
    listed = _check_all_complete(root, tiny_run.vectors)
    ids = {r.run_id for r in listed}
    assert saved <= ids  # every save that returned is there ...
    assert first.run_id in ids and _digest(first.path) == before  # ... and the earlier run is untouched
    for run in listed:
        assert run.path.name == run.run_id and not run.path.name.startswith(".")


@pytest.mark.slow
def test_kill_9_while_training_and_while_saving_with_tensorflow(earlier, tmp_path):
    root, first, before = earlier
    logs = {mode: tmp_path / f"{mode}.log" for mode in ("train", "save")}
    procs = {mode: _spawn(TRAINER, root, mode, log=logs[mode]) for mode in logs}  # both start TensorFlow at once
    rng = random.Random(9)
    out_train = _kill_after(procs["train"], logs["train"], "step", rng.uniform(0.0, 0.3))
    assert "saved" not in out_train  # killed mid-training: it never got to save
    out_save = _kill_after(procs["save"], logs["save"], "saved", rng.uniform(0.05, 0.5))
    saved = {ln.split()[1] for ln in out_save.splitlines() if ln.startswith("saved ")}
    listed = _check_all_complete(root)
    assert saved <= {r.run_id for r in listed} and _digest(first.path) == before
    import tensorflow as tf

    for run in listed:
        if run.run_id != first.run_id:  # every run has its whole Keras checkpoint
            names = [n for n, _ in tf.train.list_variables(str(run.path / "weights" / "ckpt"))]
            assert any("user_model" in n for n in names) and any("movie_model" in n for n in names)


def test_leftovers_are_cleaned_when_old_and_kept_while_fresh(earlier, tiny_run, ml100k):
    root, first, _ = earlier
    old, fresh, old_del = root / ".tmp-abc-1", root / ".tmp-def-2", root / ".del-xyz-3"
    for p in (old, fresh, old_del):
        (p / "weights").mkdir(parents=True)
        (p / "vectors.npz").write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    for p in (old, old_del):
        os.utime(p, (two_hours_ago, two_hours_ago))
    assert [r.run_id for r in runs.list_runs(root)] == [first.run_id]
    assert old.exists() and old_del.exists() and fresh.exists()  # reading never deletes
    second = train.TrainResult(config=TINY.with_(seed=99_996), user_vectors=tiny_run.vectors[0],
                               movie_vectors=tiny_run.vectors[1], history=tiny_run.history,
                               metrics=tiny_run.metrics, seconds=1.0, best_epoch=1)
    runs.save(second, ml100k, root)  # a write sweeps what killed writers left over an hour ago
    assert not old.exists() and not old_del.exists()
    assert fresh.exists()  # could belong to a writer that is still running
    assert atomic.clean_leftovers(root, now=time.time() + 7200) == [fresh.name]


def test_corrupted_and_foreign_folders_are_skipped_with_a_warning(earlier, caplog, capsys, monkeypatch):
    root, first, _ = earlier
    src = first.path
    (root / "holiday-photos").mkdir()
    (root / "holiday-photos" / "beach.jpg").write_bytes(b"\xff\xd8")
    (root / "notes.txt").write_text("not a run")
    bad_json = root / "aaaaaaaaaaaa"
    bad_json.mkdir()
    (bad_json / "run.json").write_text("{not json")
    truncated = root / "bbbbbbbbbbbb"
    truncated.mkdir()
    meta = json.loads((src / "run.json").read_text())
    (truncated / "run.json").write_text(json.dumps(meta | {"run_id": "bbbbbbbbbbbb"}))
    (truncated / "vectors.npz").write_bytes((src / "vectors.npz").read_bytes()[:100])
    renamed = root / "cccccccccccc"  # a copy under another name
    renamed.mkdir()
    for name in ("run.json", "vectors.npz"):
        (renamed / name).write_bytes((src / name).read_bytes())
    no_metrics = root / "dddddddddddd"
    no_metrics.mkdir()
    (no_metrics / "run.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "metrics"}
                                                    | {"run_id": "dddddddddddd"}))
    (no_metrics / "vectors.npz").write_bytes((src / "vectors.npz").read_bytes())
    wrong_type = root / "eeeeeeeeeeee"
    wrong_type.mkdir()
    (wrong_type / "run.json").write_text("[1, 2, 3]")
    bad_config = root / "ffffffffffff"
    bad_config.mkdir()
    (bad_config / "run.json").write_text(json.dumps(meta | {"run_id": "ffffffffffff",
                                                           "config": {"embedding_dim": "huge"}}))
    (bad_config / "vectors.npz").write_bytes((src / "vectors.npz").read_bytes())

    with caplog.at_level(logging.WARNING, logger="recsys.runs"):
        listed = runs.list_runs(root)
    assert [r.run_id for r in listed] == [first.run_id]
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in ("holiday-photos", "notes.txt", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd",
                 "eeeeeeeeeeee", "ffffffffffff"):
        assert name in warned, name
    assert "belongs to run" in warned and "vectors.npz" in warned
    # the CLI lists the good run and says nothing it should not
    monkeypatch.setenv("RECSYS_HOME", str(root.parent))  # runs_dir() is now `root`
    assert cli.main(["runs"]) == 0
    assert first.run_id in capsys.readouterr().out
    # asking for a damaged run by id is a user error, not a crash
    with pytest.raises(UserError, match="bbbbbbbbbbbb is damaged"):
        runs.load("bbbbbbbbbbbb", root)


@pytest.mark.slow
def test_kill_9_while_writing_the_data_cache(ml100k, tmp_path):
    folder = tmp_path / "data" / "ml-100k-packaged-default"
    folder.parent.mkdir()
    expect = ml100k.ratings[data.RATING_COLUMNS].reset_index(drop=True)
    rng = random.Random(10)
    trusted = 0
    for round_ in range(2):
        logs = [tmp_path / f"cacher-{round_}-{i}.log" for i in range(2)]
        procs = [_spawn(CACHER, folder, log=log) for log in logs]  # two writers of the same cache
        for proc, log in zip(procs, logs):
            _kill_after(proc, log, "written", rng.uniform(0.0, 0.6))
        ds = movielens.cache_read(folder)
        if ds is not None:  # whatever is trusted is complete and right
            trusted += 1
            got = ds.ratings[data.RATING_COLUMNS].reset_index(drop=True)
            assert got.shape == expect.shape
            assert (got["movie_title"].to_numpy() == expect["movie_title"].to_numpy()).all()
            assert (got["timestamp"].to_numpy() == expect["timestamp"].to_numpy()).all()
            assert (ds.ratings["title_idx"].to_numpy() == ml100k.ratings["title_idx"].to_numpy()).all()
    assert trusted >= 1  # a cache is only missing if a kill fell between removing the old copy and renaming the new
    leftovers = list(folder.parent.glob(".tmp-*")) + list(folder.parent.glob(".del-*"))
    old = time.time() - 7200
    for p in leftovers:
        os.utime(p, (old, old))
    movielens.cache_write(folder, ml100k)  # a later write sweeps what the killed writers left
    assert not list(folder.parent.glob(".tmp-*")) and not list(folder.parent.glob(".del-*"))
    assert movielens.cache_read(folder) is not None


@pytest.mark.parametrize("foreign", ["file", "folder"])
def test_a_foreign_thing_at_a_run_path_is_moved_aside_not_lost(earlier, tiny_run, ml100k, foreign, caplog):
    """Saving where a stray file or folder already holds the run's name: the run lands, the stray is kept."""
    root, first, before = earlier
    config = TINY.with_(seed=99_998)
    rid = runs.run_id(config, runs.data_tag(ml100k))
    stray = root / rid
    if foreign == "file":
        stray.write_text("my notes")
    else:
        stray.mkdir()
        (stray / "notes.txt").write_text("my notes")
    result = train.TrainResult(config=config, user_vectors=tiny_run.vectors[0], movie_vectors=tiny_run.vectors[1],
                               history=tiny_run.history, metrics=tiny_run.metrics, seconds=1.0, best_epoch=1)
    with caplog.at_level(logging.WARNING, logger="recsys.runs"):
        run = runs.save(result, ml100k, root)
    assert run.run_id == rid and runs.load(rid, root).config == config
    aside = list(root.glob(f".foreign-{rid}-*"))
    assert len(aside) == 1 and "moved" in caplog.text and aside[0].name in caplog.text
    kept = aside[0] if foreign == "file" else aside[0] / "notes.txt"
    assert kept.read_text() == "my notes"
    assert sorted(r.run_id for r in runs.list_runs(root)) == sorted([first.run_id, rid])
    assert _digest(first.path) == before  # the earlier run is untouched
