"""The lever registry (``recsys.config.LEVERS``) is the one description of every setting.

Each ``TrainConfig`` field must carry a lever, and from it the CLI's ``train --help``, the
Train page's widgets and a link's round trip are generated. These tests fail when a field
lacks its entry or when one of the three places stops following the registry.
"""
from dataclasses import fields

import pytest

from recsys import cli
from recsys.config import LEVERS, TUTORIAL, TrainConfig
from recsys.experiments import sweep
from recsys.ui import links
from tests.helpers import assert_clean, open_page, other_value


def test_every_field_has_a_lever_and_every_lever_is_complete():
    assert [f.name for f in fields(TrainConfig)] == list(LEVERS)
    for name, spec in LEVERS.items():
        assert spec.label and spec.help and spec.help.endswith((".", ")")), name
        if not spec.main:
            assert spec.tag, f"{name}: a run label must show a non-default value"
        if spec.sweep:
            lo, hi = spec.range
            assert all(lo <= v <= hi for v in spec.sweep), name
    assert sweep.SWEEPABLE == tuple(n for n, s in LEVERS.items() if s.sweep)


def test_every_field_is_a_flag_of_train_with_its_help(capsys):
    train = cli.build_parser()._subparsers._group_actions[0].choices["train"]
    text = " ".join(train.format_help().split())
    dests = {a.dest for a in train._actions}
    for name, spec in LEVERS.items():
        assert name in dests and f"--{name.replace('_', '-')}" in text, name
        assert " ".join(spec.help.split())[:40] in text, name


@pytest.mark.parametrize("name", list(LEVERS))
def test_every_field_round_trips_through_a_link_and_the_cli(name):
    base = TUTORIAL.with_(history_encoder=True) if name == "user_id" else TUTORIAL  # a tower without ids reads something
    config = base.with_(**{name: other_value(name)}).validate()
    query = links.config_to_query(config)
    assert name in query
    assert links.config_from_query(query) == (config, [])
    flag = f"--{name.replace('_', '-')}"
    value = getattr(config, name)
    argv = [flag] if value is True else [f"--no-{flag[2:]}"] if value is False else \
        [flag, links.format_value(value)]
    argv += ["--history-encoder"] if base.history_encoder else []
    from recsys.cli.flags import config_from_args

    args = cli.build_parser().parse_args(["train", *argv])
    assert config_from_args(args) == config, name


def test_every_field_is_a_widget_of_the_train_page_with_its_help(ml100k):
    at = open_page("app_pages/train.py")
    assert_clean(at)
    for name, spec in LEVERS.items():
        widget = at.get_by_key(name)
        assert widget is not None and widget.help == spec.help, name
        assert spec.label in widget.label, name
    # a link that sets a lever sets its widget, and the widgets give back the same config
    config = TUTORIAL.with_(**{n: other_value(n) for n in ("user_history", "temperature", "split_fraction")})
    at = open_page("app_pages/train.py", links.config_to_query(config))
    assert_clean(at)
    assert (at.toggle(key="user_history").value, at.number_input(key="temperature").value,
            at.slider(key="split_fraction").value) == (True, config.temperature, config.split_fraction)
    assert at.query_params["temperature"] == repr(config.temperature)


def test_every_item_to_item_field_is_a_flag_and_a_widget_with_its_help(ml100k):
    from recsys.config import ITEM_LEVERS

    parser = cli.build_parser()._subparsers._group_actions[0].choices["train-item-to-item"]
    text = " ".join(parser.format_help().split())
    for name, spec in ITEM_LEVERS.items():
        assert f"--{name.replace('_', '-')}" in text and " ".join(spec.help.split())[:40] in text, name
    at = open_page("app_pages/train.py")
    for name, spec in ITEM_LEVERS.items():  # the Train page's item-to-item tab, keys prefixed "i2i_"
        widget = at.get_by_key("i2i_" + name)
        assert widget is not None and widget.help == spec.help and spec.label in widget.label, name
