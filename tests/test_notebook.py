"""Every retrieval run as a TFRS notebook: one per lever, random combinations, one executed in a fresh kernel.

The registry walk generates a notebook per lever set to a value other than its default (and
random lever combinations) without running it: valid nbformat, every code cell valid Python,
the lever's own lines in it. The executed notebook is a tiny run's (dim 8, 1 epoch, batches of 1,024) on the
real ML-100k, run top to bottom by nbclient in a new ipykernel process that inherits this
session's $RECSYS_HOME. The Train page's "Show the code" and its downloads are tested in Chromium
with the other browser tests (``tests/test_browser.py``).
"""
import ast
import json

import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys import config as cfg
from recsys.cli import main
from recsys.errors import UserError
from recsys.notebook import levers, writer
from tests import shared_runs
from tests.helpers import TINY, TINY_RANKING, other_value

IDENTITY = writer.Identity(run_id="test", export_dir="export", test_key="0123456789ab")
# The executed notebook's run: the tiny run in batches of 1,024, since the tutorial's loss builds the whole
# batch x batch matrix of scores (its fit cell: 5.7-6.8 CPU-s in batches of 4,096, 1.2-1.5 in batches of 1,024).
EXECUTED = TINY.with_(batch_size=1024)
# Levers that need another one on to be valid (TrainConfig.validate says why).
COMPANIONS = {"user_id": {"user_features": True}, "history_dropout": {"history_encoder": True}}


def check(config: cfg.TrainConfig) -> list:
    """Generate ``config``'s notebook and script; assert they are valid; return the marked cells."""
    nb = nbformat.reads(writer.notebook_text(config, IDENTITY), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 13 and nb.cells[0].cell_type == "markdown"
    assert code[0].source.index('os.environ["TF_USE_LEGACY_KERAS"] = "1"') < code[0].source.index("import tensorflow")
    for i, cell in enumerate(code):
        assert "⟨" not in cell.source and "⟪" not in cell.source, cell.source
        compile(cell.source, f"cell {i}", "exec")
    compile(writer.script(config, IDENTITY), "script", "exec")
    return writer.marked(config, IDENTITY)


def test_every_lever_has_its_notebook_code():
    assert set(levers.ENTRIES) == set(cfg.LEVERS)


@pytest.mark.parametrize("name", sorted(cfg.LEVERS))
def test_each_lever_gives_a_valid_notebook_with_its_own_lines(name):
    """A lever set to a non-default value: valid notebook, cells compile, its lines differ from the tutorial's."""
    config = cfg.TUTORIAL.with_(**{name: other_value(name)}, **COMPANIONS.get(name, {})).validate()
    marked = check(config)
    assert sum(len(cell.changed) for cell in marked) > 0, f"{name}: the notebook is the tutorial's"
    notes = "\n".join(cell.markdown for cell in marked)
    assert cfg.LEVERS[name].help in notes  # the cell holding its lines carries its help


def test_the_tutorial_preset_is_the_tutorials_code():
    marked = check(cfg.TUTORIAL)
    assert not any(cell.changed for cell in marked)
    code = {cell.section: cell.code for cell in marked}
    assert "tf.keras.Sequential" in code["query"] and "tf.keras.Sequential" in code["candidate"]
    assert "tfrs.tasks.Retrieval(" in code["task"] and "FactorizedTopK" in code["task"]
    assert "Adagrad(learning_rate=0.1)" in code["fit"] and ".batch(8192)" in code["fit"]
    assert "namespace_whitelist=[\"Scann\"]" in code["scann"]


@pytest.mark.parametrize("preset", sorted(cfg.PRESETS))
def test_the_presets_give_valid_notebooks(preset):
    check(cfg.PRESETS[preset])


LEVER_VALUES = {
    "split": st.sampled_from(cfg.SPLITS), "split_fraction": st.sampled_from([0.7, 0.8]),
    "validation_fraction": st.sampled_from([0.0, 0.1]), "l2": st.sampled_from([0.0, 0.01]),
    "deep_layers": st.sampled_from([(), (16,), (32, 16)]), "temperature": st.sampled_from([1.0, 0.5]),
    "num_hard_negatives": st.sampled_from([0, 100]), "user_id_dropout": st.sampled_from([0.0, 0.3]),
    "history_dropout": st.sampled_from([0.0, 0.5]), "optimizer": st.sampled_from(cfg.OPTIMIZERS),
    **{n: st.booleans() for n, spec in cfg.LEVERS.items() if spec.kind == "bool"},
}


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.fixed_dictionaries({n: s for n, s in LEVER_VALUES.items() if n in cfg.LEVERS}))
def test_any_lever_combination_gives_a_valid_notebook(values):
    try:
        config = cfg.TUTORIAL.with_(**values).validate()
    except UserError:  # a combination the registry refuses: no run can have it
        return
    check(config)


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(ml100k, tiny_run, tmp_path, capsys):
    cases = [["--run", "no-such-run", "--out", str(tmp_path / "a.ipynb")],
             ["--run", tiny_run.run_id, "--out", str(tmp_path / "missing" / "a.ipynb")],
             ["--run", tiny_run.run_id, "--out", str(tmp_path)],
             ["--run", tiny_run.run_id, "--out", str(tmp_path / "a.ipynb"), "--script", str(tmp_path / "a.ipynb")],
             ["--run", tiny_run.run_id, "--out", "/proc/a.ipynb"]]
    for config in (TINY_RANKING, cfg.ITEM_DEFAULT.with_(epochs=2)):  # not retrieval runs (other tests' runs too)
        cases.append(["--run", shared_runs.get(config, ml100k).run_id, "--out", str(tmp_path / "b.ipynb")])
    for argv in cases:
        assert main(["notebook", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not list(tmp_path.glob("*.ipynb"))


def test_the_cli_writes_the_notebook_and_the_script(tiny_run, tmp_path, capsys):
    out, script = tmp_path / "my_run.ipynb", tmp_path / "my_run.py"
    assert main(["notebook", "--run", tiny_run.run_id, "--out", str(out), "--script", str(script), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["run_id"] == tiny_run.run_id and said["export_dir"] == "my_run_export" and len(said["test_key"]) == 12
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert tiny_run.run_id in nb.cells[0].source and "embedding_dimension = 8" in "".join(c.source for c in nb.cells)
    compile(script.read_text(), str(script), "exec")


# Every lever's code at work, three notebooks (dim 8, 1 epoch): the in-batch softmax with every option and the
# mean history, the multinomial loss with the history encoder on the temporal split, the full softmax.
COMBINATIONS = {
    "in-batch": dict(popularity_correction=True, validation_fraction=0.1, l2=0.01, user_features=True,
                     movie_features=True, deep_layers=(16,), remove_accidental_hits=True, temperature=0.5,
                     num_hard_negatives=100, movie_bias=True, user_id_dropout=0.3, user_history=True, batch_size=1024),
    "multinomial": dict(multinomial=True, history_encoder=True, history_dropout=0.5, user_id=False,
                        user_features=True, movie_bias=True, deep_layers=(16,), l2=0.001, validation_fraction=0.1,
                        split="temporal", optimizer="adam", learning_rate=0.01),
    "full softmax": dict(full_softmax=True, history_encoder=True, temperature=0.5, l2=0.01, split_fraction=0.9),
}


def run_cells(config, ds, export_dir, until: str, run_id: str = "test", test_batches: int | None = None) -> dict:
    """Run ``config``'s notebook cells in this process, up to and including the section ``until``: their namespace.

    ``test_batches``: the evaluate cell reads only that many of the test set's batches (of 4,096 ratings)."""
    identity = writer.Identity(run_id=run_id, export_dir=str(export_dir), test_key=writer.test_key(ds, config))
    space = {}
    for cell in writer.cells(config, identity):
        if cell.section == "evaluate" and test_batches:
            space["cached_test"] = space["cached_test"].take(test_batches)
        exec(compile(cell.code, cell.section, "exec"), space)
        if cell.section == until:
            return space
    raise AssertionError(f"no section {until!r}")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_lever_combinations_train_and_evaluate(ml100k, tmp_path, name, capsys):
    """The notebook's cells up to evaluate, run here on the real ML-100k: FactorizedTopK agrees with our evaluator.

    On the first 4,096 test ratings: FactorizedTopK runs the movie tower over every title for each batch it scores
    (the evaluate cell on the whole test set runs in the fresh kernel, below)."""
    from recsys.evaluation import topk

    config = TINY.with_(**COMBINATIONS[name]).validate()
    space = run_cells(config, ml100k, tmp_path / "export", until="evaluate", run_id=name, test_batches=1)
    printed = capsys.readouterr().out
    assert "the run's own test ratings" in printed
    if config.validation_fraction:
        assert "kept epoch 1 of 1" in printed
    users = space["model"].user_model(space["unique_user_ids"]).numpy()
    movies = space["model"].movie_model(space["unique_movie_titles"]).numpy()
    rows = space["test_rows"][:len(next(iter(space["cached_test"]))["user_id"])]  # the cell's first batch, in order
    ours = topk.accuracy_at(topk.ranks(users, movies, space["user_pos"][rows], space["title_pos"][rows]))
    factorized = space["test_metrics"]["factorized_top_k/top_100_categorical_accuracy"]
    assert abs(factorized - ours["top_100"]) <= 0.002, (factorized, ours)
    assert ours["top_100"] > 0.05  # trained


@pytest.fixture(scope="module", autouse=True)
def executing(request, tmp_path_factory):
    """``EXECUTED``'s notebook, executed top to bottom in a fresh kernel (``bench notebook``'s own path).

    Started with the module's first test, in a thread (the kernel is a process of its own), so that
    the kernel's start-up and training run while the tests above run; ``executed`` waits for it.
    Not started when no selected test reads it. A notebook's data cell runs here first: its first
    import of TensorFlow Datasets runs TFDS's lazy imports, which replace ``builtins.__import__``
    for the whole process while they run, and an import in the thread's Jupyter client at that
    moment would fail ("Relative import statements not supported"). After it, the notebook cells
    the tests above run in this process import nothing new.
    """
    from concurrent.futures import ThreadPoolExecutor

    from recsys.bench import notebook as bench

    if not any("executed" in item.fixturenames for item in request.session.items if item.module is request.module):
        yield None
        return
    ml100k = request.getfixturevalue("ml100k")
    run = shared_runs.get(EXECUTED, ml100k)
    folder = tmp_path_factory.mktemp("executed")
    run_cells(EXECUTED, ml100k, folder / "imports", until="data")
    with ThreadPoolExecutor(1) as pool:
        yield folder, pool.submit(bench.run_notebook, run, ml100k, folder)


@pytest.fixture(scope="module")
def executed(executing):
    folder, running = executing
    return folder, running.result()


def outputs(nb, starts: str) -> str:
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts))
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


@pytest.mark.slow
def test_the_notebook_runs_to_the_end_in_a_fresh_kernel(executed, ml100k):
    folder, got = executed
    nb = got["notebook"]
    assert "wrote export" in outputs(nb, "def all_vectors")  # the last cell ran
    assert got["same_split"] and "the run's own test ratings" in outputs(nb, "tf.random.set_seed")
    assert "the lab's offline loader" in outputs(nb, 'VARIANT = "100k"')  # no network here: the fallback ran
    assert got["results"]["run_id"] == shared_runs.get(EXECUTED, ml100k).run_id


@pytest.mark.slow
def test_factorized_top_k_agrees_with_our_evaluator_on_the_notebooks_vectors(executed):
    _, got = executed
    for k in cfg.KS:  # FactorizedTopK as the notebook printed it, ours on its exported vectors (all candidates)
        assert abs(got["printed"][f"top_{k}"] - got["ours"]["test"][f"top_{k}"]) <= 0.002, k
    assert 0.05 < got["ours"]["test"]["top_100"] < 0.5  # a trained model, not noise


@pytest.mark.slow
def test_the_exported_savedmodel_reloads_with_the_bruteforce_titles(executed, ml100k):
    import tensorflow as tf

    from recsys.bench import notebook as bench

    folder, got = executed
    line = next(line for line in outputs(got["notebook"], "# Create a model").splitlines()
                if line.startswith("Recommendations for user 42: "))
    index_titles = ast.literal_eval(line.split(": ", 1)[1])  # what the BruteForce index answered in the notebook
    loaded = tf.saved_model.load(str(folder / "export" / "bruteforce"))
    scores, titles = loaded(tf.constant(["42"]))
    assert [t.decode() for t in titles[0].numpy()] == index_titles
    users, movies = bench.exported_vectors(folder / "export", ml100k)  # and what the vectors say, in NumPy
    row = users[list(ml100k.user_ids).index("42")] @ movies.T
    assert np.allclose(np.sort(row)[::-1][:10], scores[0].numpy(), atol=1e-4)
