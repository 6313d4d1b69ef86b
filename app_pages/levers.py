"""Widgets drawn from a lever registry (``recsys.config.Lever``): label, help, range and widget come from it.

The Train page's tabs draw their settings class's levers here, the Recommend page and the ANN lab
ScaNN's (``recsys.serving.index.SCANN_LEVERS``). A widget's key is ``prefix + field name`` unless
given, and a settings object goes to the widgets and back through ``widget_values`` and ``config_of``.
"""
import streamlit as st

from recsys.ui import links


def lever_widget(name: str, levers: dict, key: str | None = None, most: int | None = None, **value):
    """The widget ``levers[name]`` asks for, and its value (key ``name`` unless given); ``most`` lowers its top."""
    spec = levers[name]
    key = key or name
    label = spec.label if spec.main else f"{spec.label} (`{name}`)"
    lo, hi = spec.range or (None, None)
    if most is not None:
        hi = min(hi, most)
    kw = {"key": key, "help": spec.help, **value}
    if spec.widget == "slider":
        return st.slider(label, lo, hi, step=spec.step, **kw)
    elif spec.widget == "select_slider":
        stops = tuple(sorted(set(spec.stops) | {st.session_state[key]}))  # a linked value between stops
        return st.select_slider(label, stops, format_func=lambda v: f"{v:g}", **kw)
    elif spec.widget == "number":
        return st.number_input(label, lo, hi, step=spec.step, format=spec.format, **kw)
    elif spec.widget == "toggle":
        return st.toggle(label, **kw)
    elif spec.widget == "select":
        return st.selectbox(label, spec.choices, **kw)
    else:  # text: an MLP's layer sizes
        return st.text_input(label, placeholder="e.g. 64,32", **kw)


def lever_widgets(levers: dict, prefix: str = "") -> None:
    """Every lever: the main ones in view (two choices side by side), the others in "More levers"."""
    main = [name for name, spec in levers.items() if spec.main]
    i = 0
    while i < len(main):
        pair = main[i:i + 2]
        if len(pair) == 2 and all(levers[n].widget == "select" for n in pair):
            for col, name in zip(st.columns(2), pair):
                with col:
                    lever_widget(name, levers, prefix + name)
            i += 2
        else:
            lever_widget(main[i], levers, prefix + main[i])
            i += 1
    with st.expander("More levers"):
        for name in (n for n, spec in levers.items() if not spec.main):
            lever_widget(name, levers, prefix + name)


def widget_values(config) -> dict:
    """The value each lever's widget shows for ``config`` (layer sizes as text: ``"64,32"``)."""
    return {name: links.format_layers(getattr(config, name)) if spec.kind == "layers" else getattr(config, name)
            for name, spec in config.levers().items()}


def set_widgets(config, prefix: str = "", only_unset: bool = False) -> None:
    """Put ``config`` in its widgets (keys ``prefix + name``); with ``only_unset``, into those not drawn yet."""
    for name, value in widget_values(config).items():
        if not only_unset or prefix + name not in st.session_state:
            st.session_state[prefix + name] = value


def config_of(settings: type, prefix: str = ""):
    """The ``settings`` object the widgets (keys ``prefix + name``) describe; ``UserError`` if a value is invalid."""
    values = {name: st.session_state[prefix + name] for name in settings.levers()}
    for name, spec in settings.levers().items():
        if spec.kind == "layers":
            values[name] = links.parse_layers(values[name])
    return settings(**values).validate()
