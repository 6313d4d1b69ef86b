"""``python -m recsys`` as a user types it (``recsys/cli/``): train, recommend, runs; every mistake is one line
and exit 2."""
import json
import subprocess
import sys

import pytest

from recsys.cli import main
from recsys.config import KS


def _cli(*args):
    """A real `python -m recsys` process (what a user runs)."""
    return subprocess.run([sys.executable, "-m", "recsys", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_train_recommend_runs_json(tiny_run, cli):
    out = cli("train", "--embedding-dim", "8", "--epochs", "1", "--batch-size", "4096", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["run_id"] == tiny_run.run_id and d["reused"] is True
    assert set(d["metrics"]["model"]["test"]) == {f"top_{k}" for k in KS}
    assert set(d["metrics"]["popularity"]) == {"test", "test_filtered"}
    assert {"run_dir", "config", "history", "seconds"} <= set(d)

    out = _cli("recommend", "--run", tiny_run.run_id, "--user", "42", "--k", "5", "--json")  # a real process
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert len(d["bruteforce"]) == len(d["scann"]) == 5 and 0 <= d["overlap"] <= 1
    assert set(d["bruteforce"][0]) >= {"movie_title", "score"} and set(d["latency_ms"]) == {"bruteforce", "scann"}

    out = cli("recommend", "--run", tiny_run.run_id, "--movie", "Star Wars (1977)", "--index", "scann", "--json")
    d = json.loads(out.stdout)
    assert len(d["scann"]) == 10 and "bruteforce" not in d

    out = cli("runs", "--json")
    assert tiny_run.run_id in [r["run_id"] for r in json.loads(out.stdout)]


@pytest.mark.parametrize("args, message", [
    (["recommend", "--run", "nope", "--user", "1"], "no saved run 'nope'"),
    (["train", "--embedding-dim", "9999"], "embedding_dim must be between 8 and 1024"),
    (["train", "--epochs", "three"], "invalid int value"),
    (["recommend", "--run", "x"], "give exactly one of --user ID, --movie TITLE or --likes"),
])
def test_cli_errors_are_one_line_exit_2(args, message, tiny_run, cli):
    out = cli(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_unknown_user_and_movie(tiny_run, cli):
    out = cli("recommend", "--run", tiny_run.run_id, "--user", "0")  # one line, no traceback
    assert out.returncode == 2 and "unknown user '0'" in out.stderr and "Traceback" not in out.stderr
    out = cli("recommend", "--run", tiny_run.run_id, "--movie", "Star Wars")
    assert out.returncode == 2 and "unknown movie title" in out.stderr


def _cli_error(capsys, argv) -> str:
    assert main(argv) == 2, argv
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, expect", [
    (["train", "--embedding-dim", "abc"], "argument --embedding-dim: invalid int value: 'abc'"),
    (["train", "--embedding-dim", "100000"], "embedding_dim must be between 8 and 1024, got 100000"),
    (["train", "--learning-rate", "nan"], "learning_rate must be between"),
    (["train", "--learning-rate", "inf"], "learning_rate must be between"),
    (["train", "--epochs", "0"], "epochs must be between 1 and 100, got 0"),
    (["train", "--batch-size", "-5"], "batch_size must be between"),
    (["train", "--seed", "1" * 5000], "argument --seed: invalid int value"),
    (["train", "--deep-layers", "64,x"], "argument --deep-layers: invalid"),
    (["train", "--deep-layers", "0"], "deep_layers must be sizes between 1 and 1024"),
    (["train", "--optimizer", "sgd"], "argument --optimizer: invalid choice: 'sgd'"),
    (["train", "--num-hard-negatives", "5000", "--batch-size", "4096"], "num_hard_negatives must be smaller"),
    (["train", "--strategy", "ring"], "argument --strategy: invalid choice: 'ring'"),
    (["train", "--cpu-devices", "2"], "--cpu-devices applies to --strategy mirrored"),
    (["train", "--strategy", "mirrored", "--cpu-devices", "0"], "--cpu-devices must be between 1 and 64, got 0"),
    (["data", "--fraction", "1.5"], "split fraction must be between 0 and 1, got 1.5"),
    (["data", "--fraction", "x"], "argument --fraction: invalid float value: 'x'"),
    (["data", "--variant", "10m"], "argument --variant: invalid choice: '10m'"),
    (["recommend", "--run", "/etc", "--user", "1"], "'/etc' is not a run id"),
    (["recommend", "--run", "../..", "--user", "1"], "'../..' is not a run id"),
    (["recommend", "--run", "[a-z]*", "--user", "1"], "is not a run id"),
    (["recommend", "--run", "ffffffffffff", "--user", "1"], "no saved run 'ffffffffffff'"),
    (["recommend", "--run", "x", "--user", "1", "--movie", "Heat (1995)"], "give exactly one of --user"),
    (["recommend", "--run", "x", "--user", "1", "--k", "1000000"], "k must be between 1 and 100, got 1000000"),
    (["recommend", "--run", "x", "--user", "1", "--k", "0"], "k must be between 1 and 100, got 0"),
    (["recommend", "--run", "x", "--user", "1", "--k", "ten"], "argument --k: invalid int value: 'ten'"),
    (["bench", "scale", "--interactions", "1e6,lots"], "--interactions: 'lots' is not a number"),
    (["bench", "scale", "--interactions", "1e12"], "each size must be a whole number between 1,000 and"),
    (["bench", "scale", "--interactions", "-5"], "each size must be a whole number"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_cli_mistakes_print_one_line_and_exit_2(capsys, argv, expect):
    assert expect in _cli_error(capsys, argv)


@pytest.mark.parametrize("extra, expect", [
    (["--user", "99999"], "unknown user '99999' (ids run from 1 to 943)"),
    (["--user", ""], "unknown user ''"),
    (["--movie", "Star Wars"], "unknown movie title 'Star Wars'; did you mean 'Star Wars (1977)'"),
    (["--movie", "No Such Film (2031)"], "unknown movie title 'No Such Film (2031)'"),
    (["--user", "1", "--num-leaves", "5000"], "num_leaves must be between 1 and the catalog size 1664, got 5000"),
    (["--user", "1", "--num-leaves", "0"], "num_leaves must be between 1 and the catalog size 1664, got 0"),
    (["--user", "1", "--num-leaves", "10", "--num-leaves-to-search", "20"],
     "num_leaves_to_search must be between 1 and num_leaves (10), got 20"),
    (["--user", "1", "--num-leaves-to-search", "-1"], "num_leaves_to_search must be between 1 and num_leaves"),
    (["--user", "1", "--k", "50", "--num-reordering-candidates", "20"],
     "num_reordering_candidates must be between k (50) and the catalog size 1664, got 20"),
])
def test_cli_recommend_mistakes(capsys, tiny_run, extra, expect):
    assert expect in _cli_error(capsys, ["recommend", "--run", tiny_run.run_id, *extra])


def test_cli_recommend_still_works_after_mistakes(capsys, tiny_run):
    assert main(["recommend", "--run", tiny_run.run_id[:6], "--user", "1", "--k", "3", "--json",
                     "--num-leaves", "20", "--num-leaves-to-search", "5"]) == 0
    out = capsys.readouterr().out
    assert '"k": 3' in out and out.count('"rank"') == 6
    # fewer re-scored candidates than the default k of 10 is fine when the k asked for fits
    assert main(["recommend", "--run", tiny_run.run_id, "--user", "1", "--k", "5", "--json",
                     "--num-reordering-candidates", "8"]) == 0
    assert capsys.readouterr().out.count('"rank"') == 10
