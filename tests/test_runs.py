"""The run store (``recsys/store/runs.py``): a run is saved, listed and found again instead of retrained."""
import json

from recsys.store import runs
from tests.helpers import TINY


def test_runs_saved_listed_and_reused(ml100k, tmp_path):
    run, reused = runs.train_or_load(TINY, ml100k, root=tmp_path)
    assert not reused and (run.path / "run.json").exists() and (run.path / "vectors.npz").exists()
    again, reused = runs.train_or_load(TINY, ml100k, root=tmp_path)
    assert reused and again.run_id == run.run_id and again.metrics == run.metrics
    assert [r.run_id for r in runs.list_runs(tmp_path)] == [run.run_id]
    assert not list(tmp_path.glob(".tmp-*"))
    meta = json.loads((run.path / "run.json").read_text())
    assert {"config", "history", "metrics", "versions", "seconds"} <= set(meta)
    assert meta["versions"]["tensorflow"] == "2.20.0"
