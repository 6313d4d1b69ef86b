"""``python -m recsys train-ranking``: train (or reuse) a ranking run: the stars a user gives a movie.

Its flags are every ``RankingConfig`` field (``recsys/cli/flags.py``), on top of ``--preset``
(``tutorial``: the TFRS basic ranking tutorial; ``best``: ours). The run's test RMSE is
printed beside the global mean and the user/movie bias baseline on the same split, and the
published matrix-factorisation references (``recsys/evaluation/ranking.py: REFERENCES``).
"""
from __future__ import annotations

from recsys import config as cfg
from recsys.cli.flags import add_lever_flags, settings_from_args
from recsys.cli.output import TrainingBar, emit


def register(sub) -> None:
    t = sub.add_parser("train-ranking", help="train (or reuse) the ranking model (predicted stars, RMSE)")
    t.add_argument("--preset", choices=sorted(cfg.RANKING_PRESET_KEYS), default="tutorial",
                   help="start from the TFRS ranking tutorial's settings or from ours (default: tutorial)")
    add_lever_flags(t, cfg.RANKING_LEVERS, cfg.RANKING_TUTORIAL)
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--json", action="store_true")
    t.set_defaults(fn=run)


def run(a) -> int:
    from recsys.evaluation.ranking import REFERENCES
    from recsys.store import runs

    config = settings_from_args(a, cfg.RANKING_PRESETS[cfg.RANKING_PRESET_KEYS[a.preset]])
    run_, reused = runs.train_or_load(config, callback=TrainingBar(config.epochs, a.json or a.quiet))
    m = run_.metrics
    out = {"run_id": run_.run_id, "run_dir": str(run_.path), "kind": run_.kind, "config": run_.config.to_dict(),
           "history": run_.history, "metrics": m, "references": REFERENCES, "seconds": run_.seconds,
           "reused": reused, "best_epoch": run_.best_epoch}
    emit(out, a.json, text(run_, reused))
    return 0


def text(run_, reused: bool) -> str:
    """The run's test RMSE beside the baselines of its split and the published references, and a reading."""
    from recsys.evaluation.ranking import REFERENCES

    m = run_.metrics
    model, mean, biases = (m[k]["test"]["rmse"] for k in ("model", "global_mean", "biases"))
    lam = m["biases"]["params"]
    rows = [("ranking model", model, f"best epoch {run_.best_epoch} of {run_.config.epochs}"),
            ("global mean", mean, f"mu = {m['global_mean']['params']['mean']:.3f}"),
            ("user/movie biases", biases, f"lam_user {lam['lam_user']:g}, lam_movie {lam['lam_movie']:g}")]
    rows += [(name, value, "published reference") for name, value in REFERENCES.items()]
    lines = [f"run {run_.run_id} ({'loaded, trained before' if reused else 'trained'} in {run_.seconds:.1f} s) "
             f"-> {run_.path}", f"{'':34}{'test RMSE':>10}"]
    lines += [f"{name:34}{value:10.4f}   {note}" if note != "published reference" else
              f"{name:34}{value:9.3f}    {note}" for name, value, note in rows]
    if model < biases:
        lines.append(f"Beats the bias baseline by {biases - model:.4f} stars of RMSE.")
    elif model < mean:
        lines.append(f"Beats the global mean, but not the bias baseline (by {model - biases:.4f} stars).")
    else:
        lines.append("Does not beat predicting the global mean: it has learned nothing yet.")
    return "\n".join(lines)
