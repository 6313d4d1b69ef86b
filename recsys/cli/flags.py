"""The flags that build a settings object, generated from its lever registry (``recsys.config``).

Every field of ``TrainConfig`` (``train``, ``sweep``), of ``ItemToItemConfig``
(``train-item-to-item``) or of ``RankingConfig`` (``train-ranking``) is a flag, named after it (``user_id_dropout`` ->
``--user-id-dropout``), typed and checked as its lever says, with its lever's help:
booleans are ``--x/--no-x``, choices are closed lists, ``--deep-layers 64,32``. With
``multi`` (the sweep), a sweepable setting takes comma-separated values: ``--epochs 1,3,10``.
A flag left out keeps the base's value (``--preset tutorial|best`` for a retrieval or a ranking run).
"""
from __future__ import annotations

import argparse

from recsys import config as cfg
from recsys.errors import UserError

CONFIG_FLAGS = tuple(cfg.LEVERS)  # the TrainConfig fields a command reads from its arguments


def layers(text: str) -> tuple:
    """``"64,32"`` -> ``(64, 32)`` (sizes are checked with the rest of the config)."""
    return tuple(int(x) for x in text.split(",") if x.strip())


def _listed(kind):
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}")
    return parse


def flag_help(spec: cfg.Lever, default) -> str:
    """A lever's help for argparse, with its range and the default's value."""
    where = f" [{spec.range[0]:g} .. {spec.range[1]:g}]" if spec.range else ""
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f"{spec.help}{where} (default: {shown if shown != '' else 'none'})".replace("%", "%%")


def add_lever_flags(p: argparse.ArgumentParser, levers: dict, defaults, multi: bool = False,
                    exclude: tuple = ()) -> None:
    """One flag per lever but ``exclude`` (``multi``: comma-separated lists for sweepable ones)."""
    for name, spec in levers.items():
        if name in exclude:
            continue
        flag = "--" + name.replace("_", "-")
        kw = {"help": flag_help(spec, getattr(defaults, name)), "dest": name}
        if spec.kind == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, **kw)
        elif spec.kind == "choice":
            p.add_argument(flag, choices=spec.choices, **kw)
        elif spec.kind == "layers":
            p.add_argument(flag, type=layers, metavar="SIZES", **kw)
        else:
            kind = int if spec.kind == "int" else float
            p.add_argument(flag, type=_listed(kind) if multi and spec.sweep else kind, **kw)


def add_config_flags(p: argparse.ArgumentParser, multi: bool = False, exclude: tuple = ()) -> None:
    """``--preset`` and one flag per TrainConfig field (the tutorial's value is each flag's default)."""
    p.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="tutorial",
                   help="start from the TFRS tutorial's settings or from ours (default: tutorial)")
    add_lever_flags(p, cfg.LEVERS, cfg.TUTORIAL, multi, exclude)


def settings_from_args(a, base, **override):
    """``base`` with every flag given (and ``override``) applied; ``UserError`` if out of range."""
    changes = {k: getattr(a, k) for k in base.levers() if getattr(a, k, None) is not None}
    changes.update(override)
    lists = [k for k, v in changes.items() if isinstance(v, list)]
    if lists:
        raise UserError(f"{', '.join(lists)}: one value each here (a sweep takes several)")
    return base.with_(**changes).validate()


def config_from_args(a, **override) -> cfg.TrainConfig:
    """The preset, with every flag given (and ``override``) applied; ``UserError`` if out of range."""
    return settings_from_args(a, cfg.PRESETS[cfg.PRESET_KEYS[a.preset]], **override)
