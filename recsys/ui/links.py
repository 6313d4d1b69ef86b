"""Links: a ``TrainConfig`` (or the Recommend page's query) as URL query parameters, and back.

The Train page mirrors its settings in the URL, as TensorFlow Playground does, so a copied
link opens the same configuration. A link is typed by people, so nothing in it may crash
the page: ``config_from_query`` clamps numbers to their range, rounds whole numbers, ignores
what it cannot read, and returns one notice per fix, naming the parameter, for the page to show.

Query values are strings (``{"embedding_dim": "64", "optimizer": "adam"}``); a list value
(a repeated parameter) counts by its last item, as ``st.query_params`` does.
"""
from __future__ import annotations

import math
from dataclasses import fields

from recsys.config import LEVERS, MAX_LAYER, PRESET_KEYS, PRESETS, TUTORIAL, TrainConfig
from recsys.errors import UserError

# Always in the URL (the main settings, ``Lever.main``); the other levers only when they differ
# from the tutorial. Every field of TrainConfig is a key: a new lever joins by itself.
MAIN = tuple(name for name, spec in LEVERS.items() if spec.main)
LEVER_KEYS = tuple(name for name in LEVERS if name not in MAIN)
KEYS = MAIN + LEVER_KEYS

TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def format_layers(layers) -> str:
    """``(64, 32)`` -> ``"64,32"``; no layers -> ``""``."""
    return ",".join(str(int(x)) for x in layers)


def parse_layers(text: str) -> tuple:
    """``"64, 32"`` -> ``(64, 32)``: hidden sizes of the towers' MLP; ``UserError`` if unreadable."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise UserError(f"deep_layers must be comma-separated whole numbers like 64,32; got {text!r}")
    if any(not 1 <= s <= MAX_LAYER for s in sizes):
        raise UserError(f"deep_layers sizes must be between 1 and {MAX_LAYER}; got {text!r}")
    return sizes


def format_value(v) -> str:
    """A setting as a query value: ``true``/``false``, floats exactly (``repr``), layers as ``64,32``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, tuple):
        return format_layers(v)
    return str(v)


def config_to_query(config: TrainConfig) -> dict:
    """Query parameters that describe ``config``: the main settings always, other levers when not default."""
    out = {}
    for name in KEYS:
        v = getattr(config, name)
        if name in MAIN or v != getattr(TUTORIAL, name):
            out[name] = format_value(v)
    return out


def _g(x) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) >= 1 else f"{x:g}"


def parse_number(name: str, raw: str, notices: list, what: str = "URL parameter"):
    """Parse and clamp one numeric setting; None (with a notice) if unreadable."""
    spec = LEVERS[name]
    try:
        v = float(raw)
    except ValueError:
        notices.append(f"{what} {name}={raw!r} is not a number; ignored.")
        return None
    if not math.isfinite(v):
        notices.append(f"{what} {name}={raw!r} is not a finite number; ignored.")
        return None
    lo, hi = spec.range
    if v < lo or v > hi:
        clamped = min(max(v, lo), hi)
        notices.append(f"{what} {name}={raw} is out of range [{_g(lo)}, {_g(hi)}]; using {_g(clamped)}.")
        v = clamped
    if spec.kind == "int" and not float(v).is_integer():
        notices.append(f"{what} {name}={raw} is not a whole number; using {round(v)}.")
    return int(round(v)) if spec.kind == "int" else float(v)


def parse_bool(name: str, raw: str, notices: list, what: str = "URL parameter"):
    low = str(raw).strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    notices.append(f"{what} {name}={raw!r} is not true/false; ignored.")
    return None


def parse_setting(name: str, raw: str, notices: list):
    """One link value read as its lever's kind says; None (with a notice naming it) if unusable."""
    spec = LEVERS[name]
    raw = str(raw).strip()
    if spec.kind == "choice":
        if raw.lower() in spec.choices:
            return raw.lower()
        notices.append(f"URL parameter {name}={raw!r} is not one of {', '.join(spec.choices)}; ignored.")
        return None
    if spec.kind == "bool":
        return parse_bool(name, raw, notices)
    if spec.kind == "layers":
        try:
            return parse_layers(raw)
        except UserError as e:
            notices.append(f"URL parameter {name}={raw!r}: {str(e).split('; got')[0]}; ignored.")
            return None
    return parse_number(name, raw, notices)


def last_values(query: dict) -> dict:
    """A query as ``{key: value}``; a repeated parameter counts by its last value, as ``st.query_params``."""
    return {k: (v[-1] if isinstance(v, (list, tuple)) and v else v) for k, v in dict(query).items()}


def config_from_query(query: dict) -> tuple[TrainConfig, list[str]]:
    """The config a link describes, and notices about every value that had to be fixed.

    Starts from ``preset`` (``tutorial``, ``best`` or a preset's name; default: the tutorial),
    then applies each known parameter, read as its lever says (``parse_setting``). Unknown
    parameter names are left alone (they may belong to another page).
    """
    q = last_values(query)
    notices: list[str] = []
    base = TUTORIAL
    if "preset" in q:
        raw = str(q["preset"])
        name = PRESET_KEYS.get(raw.strip().lower(), raw)
        if name in PRESETS:
            base = PRESETS[name]
        else:
            notices.append(f"URL parameter preset={raw!r} is unknown (choose {', '.join(PRESET_KEYS)}); ignored.")
    changes = {}
    for name in KEYS:
        if name in q:
            v = parse_setting(name, q[name], notices)
            if v is not None:
                changes[name] = v
    config = base.with_(**changes)
    if config.num_hard_negatives and config.num_hard_negatives >= config.batch_size:
        notices.append(f"URL parameter num_hard_negatives={config.num_hard_negatives} must be smaller than "
                       f"batch_size {config.batch_size}; using 0 (all negatives).")
        config = config.with_(num_hard_negatives=0)
    if not (config.user_id or config.user_features or config.history_encoder):
        notices.append("URL parameter user_id=false leaves the user tower nothing to read (no user_features, no "
                       "history_encoder); using user_id=true.")
        config = config.with_(user_id=True)
    return config.validate(), notices


def preset_of(config: TrainConfig) -> str | None:
    """The name of the preset ``config`` equals, if any."""
    return next((name for name, p in PRESETS.items() if p == config), None)


def differences(config: TrainConfig, base: TrainConfig) -> list[tuple[str, object, object]]:
    """``(field, base value, value)`` for every setting where ``config`` differs from ``base``."""
    return [(f.name, getattr(base, f.name), getattr(config, f.name)) for f in fields(TrainConfig)
            if getattr(base, f.name) != getattr(config, f.name)]


# ----------------------------------------------------------------------------- the Recommend page's link
# ``?mode=user&user_id=42&k=10&exclude_seen=true``, ``?mode=movie&movie_title=Star+Wars+(1977)&k=5`` or
# ``?mode=me&likes=Star+Wars+(1977)|Alien+(1979)`` (the picks of "recommend for me", joined by ``|``).
RECOMMEND_KEYS = ("mode", "user_id", "movie_title", "likes", "k", "exclude_seen")
RECOMMEND_MODES = ("user", "movie", "me")
K_RANGE = (1, 50)  # the page's slider
LIKES_SEPARATOR = "|"
RECOMMEND_DEFAULTS = {"mode": "user", "user_id": "42", "movie_title": "Star Wars (1977)", "k": 10,
                      "exclude_seen": True, "likes": ("Star Wars (1977)", "Alien (1979)")}


def _close_titles(raw: str, titles, n: int = 3) -> list[str]:
    """Up to ``n`` titles containing ``raw`` (case-insensitive), to suggest instead of a typo."""
    low = raw.lower()
    return [t for t in titles if low and low in str(t).lower()][:n]


def recommend_from_query(query: dict, user_ids, titles, defaults: dict | None = None) -> tuple[dict, list[str]]:
    """The Recommend page's settings a link describes, and a notice for every value that had to be replaced.

    Returns ``{"mode": "user"|"movie"|"me", "user_id": str, "movie_title": str, "likes": tuple of
    titles, "k": int, "exclude_seen": bool}``: each value from the link when it is valid for this
    dataset (a known user id, an exact movie title, a whole ``k`` within the slider's range), else
    the default, with a notice naming the parameter. Never raises: a link is typed by people.
    ``defaults`` must hold valid values (a default user or title missing from the data falls
    back to the first one).
    """
    q = last_values(query)
    out = {**RECOMMEND_DEFAULTS, **(defaults or {})}
    users = {str(u) for u in user_ids}
    title_set = set(map(str, titles))
    if out["user_id"] not in users and len(user_ids):
        out["user_id"] = str(user_ids[0])
    if out["movie_title"] not in title_set and len(titles):
        out["movie_title"] = str(titles[0])
    out["likes"] = tuple(t for t in out["likes"] if t in title_set)
    notices: list[str] = []
    if "mode" in q:
        raw = str(q["mode"]).strip().lower()
        if raw in RECOMMEND_MODES:
            out["mode"] = raw
        else:
            notices.append(f"URL parameter mode={q['mode']!r} is not one of {', '.join(RECOMMEND_MODES)}; "
                           f"showing {out['mode']}.")
    if "user_id" in q:
        raw = str(q["user_id"]).strip()
        if raw in users:
            out["user_id"] = raw
        else:
            ids = sorted(users, key=lambda u: (len(u), u))
            span = f" (ids run from {ids[0]} to {ids[-1]})" if ids else ""
            notices.append(f"URL parameter user_id={raw!r} is not a user of this dataset{span}; "
                           f"showing user {out['user_id']}.")
    if "movie_title" in q:
        raw = str(q["movie_title"])
        same = [t for t in title_set if t.strip().lower() == raw.strip().lower()]
        if raw in title_set or len(same) == 1:  # "star wars (1977)" is unambiguous too
            out["movie_title"] = raw if raw in title_set else same[0]
        else:
            raw = raw.strip()
            close = _close_titles(raw, titles)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            notices.append(f"URL parameter movie_title={raw!r} is not a movie of this dataset; "
                           f"showing {out['movie_title']!r}.{hint}")
    if "likes" in q:
        picks = [t.strip() for t in str(q["likes"]).split(LIKES_SEPARATOR) if t.strip()]
        known = [t for t in picks if t in title_set]
        unknown = [t for t in picks if t not in title_set]
        if unknown:
            close = [c for raw in unknown for c in _close_titles(raw, titles, 1)]
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            notices.append(f"URL parameter likes={q['likes']!r} names {len(unknown)} movie(s) not in this dataset "
                           f"({', '.join(repr(t) for t in unknown[:3])}); left out.{hint}")
        out["likes"] = tuple(dict.fromkeys(known))
    if "k" in q:
        raw = str(q["k"]).strip()
        try:
            v = float(raw)
        except ValueError:
            v = math.nan
        lo, hi = K_RANGE
        if not math.isfinite(v):
            notices.append(f"URL parameter k={raw!r} is not a number; using {out['k']}.")
        else:
            k = int(round(min(max(v, lo), hi)))
            if not lo <= v <= hi:
                notices.append(f"URL parameter k={raw} is out of range [{lo}, {hi}]; using {k}.")
            elif not float(v).is_integer():
                notices.append(f"URL parameter k={raw} is not a whole number; using {k}.")
            out["k"] = k
    if "exclude_seen" in q:
        raw = str(q["exclude_seen"]).strip().lower()
        if raw in TRUE | FALSE:
            out["exclude_seen"] = raw in TRUE
        else:
            notices.append(f"URL parameter exclude_seen={q['exclude_seen']!r} is not true/false; "
                           f"using {format_value(out['exclude_seen'])}.")
    return out, notices


def recommend_to_query(settings: dict) -> dict:
    """Query parameters for the Recommend page's settings (only those of the current mode)."""
    out = {"mode": settings["mode"], "k": str(int(settings["k"]))}
    if settings["mode"] == "user":
        out["user_id"] = str(settings["user_id"])
        out["exclude_seen"] = format_value(bool(settings["exclude_seen"]))
    elif settings["mode"] == "me":
        out["likes"] = LIKES_SEPARATOR.join(settings["likes"])
    else:
        out["movie_title"] = str(settings["movie_title"])
    return out
