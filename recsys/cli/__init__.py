"""Command line: ``python -m recsys {data,train,train-item-to-item,train-ranking,recommend,runs,bench,sweep,sweep-multitask,export,notebook,embeddings,report,ready}``.

Every number a page shows can be had here too. One module per command, each with
``register(sub)`` (its flags) and ``run(args)`` (what it does); the library below never
imports this package. Commands load TensorFlow only when they run, so building the
parser, ``--help`` and ``python -m recsys runs`` stay fast.

Mistakes a user can make print one line on stderr and exit with status 2; ``--json``
prints one JSON object (or list) on stdout.
"""
from __future__ import annotations

import sys

from recsys.cli import (bench, data, embeddings, export, notebook, ready, recommend, report, runs, sweep, sweep_multitask,
                        train, train_item_to_item, train_ranking)
from recsys.cli.output import Parser
from recsys.errors import UserError

COMMANDS = (data, train, train_item_to_item, train_ranking, recommend, runs, bench, sweep, sweep_multitask, export,
            notebook, embeddings, report, ready)


def build_parser() -> Parser:
    p = Parser(prog="python -m recsys", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return p


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.fn(args) or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
