"""The flags that build a ``TrainConfig``, generated from the lever registry (``recsys.config.LEVERS``).

Every field of ``TrainConfig`` is a flag, named after it (``user_id_dropout`` ->
``--user-id-dropout``), typed and checked as its lever says, with its lever's help:
booleans are ``--x/--no-x``, choices are closed lists, ``--deep-layers 64,32``. With
``multi`` (the sweep), a sweepable setting takes comma-separated values: ``--epochs 1,3,10``.
A flag left out keeps the preset's value (``--preset tutorial|best``).
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


def flag_help(name: str) -> str:
    """A lever's help for argparse, with its range or choices and the tutorial's value."""
    spec = cfg.LEVERS[name]
    default = getattr(cfg.TUTORIAL, name)
    where = f" [{spec.range[0]:g} .. {spec.range[1]:g}]" if spec.range else ""
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f"{spec.help}{where} (tutorial: {shown if shown != '' else 'none'})".replace("%", "%%")


def add_config_flags(p: argparse.ArgumentParser, multi: bool = False, exclude: tuple = ()) -> None:
    """One flag per TrainConfig field but ``exclude`` (``multi``: comma-separated lists for sweepable ones)."""
    p.add_argument("--preset", choices=sorted(cfg.PRESET_KEYS), default="tutorial",
                   help="start from the TFRS tutorial's settings or from ours (default: tutorial)")
    for name, spec in cfg.LEVERS.items():
        if name in exclude:
            continue
        flag, kw = "--" + name.replace("_", "-"), {"help": flag_help(name), "dest": name}
        if spec.kind == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, **kw)
        elif spec.kind == "choice":
            p.add_argument(flag, choices=spec.choices, **kw)
        elif spec.kind == "layers":
            p.add_argument(flag, type=layers, metavar="SIZES", **kw)
        else:
            kind = int if spec.kind == "int" else float
            p.add_argument(flag, type=_listed(kind) if multi and spec.sweep else kind, **kw)


def config_from_args(a, **override) -> cfg.TrainConfig:
    """The preset, with every flag given (and ``override``) applied; ``UserError`` if out of range."""
    base = cfg.PRESETS[cfg.PRESET_KEYS[a.preset]]
    changes = {k: getattr(a, k) for k in CONFIG_FLAGS if getattr(a, k, None) is not None}
    changes.update(override)
    lists = [k for k, v in changes.items() if isinstance(v, list)]
    if lists:
        raise UserError(f"{', '.join(lists)}: one value each here (a sweep takes several)")
    return base.with_(**changes).validate()
