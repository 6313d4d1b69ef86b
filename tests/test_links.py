"""Property-based tests of what a link can carry (recsys/ui/links.py): whatever people type, a valid result.

Hypothesis generates query dicts of arbitrary strings (and of near-miss values: numbers out
of range, floats, NaN, words) and checks that the parsers always return valid settings plus
notices, never raise, and that writing valid settings into a query and reading it back is
the identity.
"""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.ui import links
from recsys.config import LEVERS, MAX_LAYER, PRESETS, TrainConfig

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that reach every branch of the parsers: arbitrary text, numbers of every size and
# spelling, the words the parsers know, and their near misses.
numbers = st.one_of(st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.floats(-1e5, 1e5).map(lambda x: f"{x:.3f}"), st.sampled_from(["1e999", "-0", "0x10", "1_000"]))
words = st.sampled_from(["true", "false", "yes", "off", "maybe", "", " ", "adam", "ADAGRAD", "sgd", "random",
                         "temporal", "tutorial", "best", "Our best", "64,32", "0", "a,b", "2000", "64;;32"])
value = st.one_of(st.text(max_size=30), numbers, words)
train_keys = st.sampled_from(links.KEYS + ("preset", "variant", "unrelated"))
train_query = st.dictionaries(st.one_of(train_keys, st.text(max_size=10)), value, max_size=12)


@FAST
@given(train_query)
def test_any_train_link_gives_a_valid_config(query):
    config, notices = links.config_from_query(query)
    assert isinstance(config, TrainConfig)
    assert config.validate() is config  # would raise if a value were out of range
    assert all(isinstance(n, str) and n.startswith("URL parameter") for n in notices)
    for name in links.KEYS:  # every value the link set but could not use is named in a notice
        if name in query and str(getattr(config, name)) != str(query[name]).strip():
            if name not in notices_mentioning(notices) and not equivalent(name, query[name], config):
                raise AssertionError((name, query[name], getattr(config, name), notices))


def notices_mentioning(notices) -> set:
    return {name for name in links.KEYS + ("preset",) for n in notices if f"{name}=" in n}


def equivalent(name, raw, config) -> bool:
    """A link value that means the config's value though spelled differently ("1e2" for 100, "ADAM")."""
    raw = str(raw).strip()
    value = getattr(config, name)
    if isinstance(value, bool):
        return raw.lower() in (links.TRUE if value else links.FALSE)
    if isinstance(value, str):
        return raw.lower() == value
    if isinstance(value, tuple):
        try:
            return links.parse_layers(raw) == value
        except Exception:
            return False
    try:
        return math.isclose(float(raw), value, rel_tol=0, abs_tol=0)
    except ValueError:
        return False


@st.composite
def valid_configs(draw):
    """Any valid TrainConfig, drawn lever by lever as the registry describes each (a new lever joins by itself)."""
    values = {}
    for name, spec in LEVERS.items():
        if spec.kind == "bool":
            values[name] = draw(st.booleans())
        elif spec.kind == "choice":
            values[name] = draw(st.sampled_from(spec.choices))
        elif spec.kind == "layers":
            values[name] = tuple(draw(st.lists(st.integers(1, MAX_LAYER), max_size=3)))
        elif spec.kind == "int":
            values[name] = draw(st.integers(*spec.range))
        else:
            values[name] = draw(st.floats(*spec.range, allow_nan=False, allow_infinity=False))
    if values["num_hard_negatives"] >= values["batch_size"]:  # the rules between levers
        values["num_hard_negatives"] = draw(st.integers(0, values["batch_size"] - 1))
    if not (values["user_id"] or values["user_features"] or values["history_encoder"]):
        values["user_id"] = True  # the user tower must read something
    return TrainConfig(**values).validate()


@FAST
@given(st.one_of(valid_configs(), st.sampled_from(list(PRESETS.values()))))
def test_config_link_round_trip(config):
    query = links.config_to_query(config)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    assert links.config_from_query(query) == (config, [])


# ----------------------------------------------------------------------------- the Recommend page's link

USERS = [str(u) for u in range(1, 944)]
TITLES = ["Star Wars (1977)", "Star Trek: First Contact (1996)", "Toy Story (1995)", "Alien (1979)",
          "Heat (1995)", "Heat (1995) "]  # a title with a trailing space: exact matches only
rec_keys = st.sampled_from(links.RECOMMEND_KEYS + ("unrelated",))
rec_value = st.one_of(value, st.sampled_from(USERS[:5] + TITLES + ["user", "movie", "USER", "star wars", "0", "944"]))
rec_query = st.dictionaries(st.one_of(rec_keys, st.text(max_size=8)), st.one_of(rec_value, st.lists(rec_value)),
                            max_size=8)


@FAST
@given(rec_query)
def test_any_recommend_link_gives_valid_settings(query):
    out, notices = links.recommend_from_query(query, USERS, TITLES)
    assert out["mode"] in links.RECOMMEND_MODES
    assert out["user_id"] in USERS and out["movie_title"] in TITLES
    lo, hi = links.K_RANGE
    assert isinstance(out["k"], int) and lo <= out["k"] <= hi
    assert isinstance(out["exclude_seen"], bool)
    mentioned = {name for name in links.RECOMMEND_KEYS for n in notices if f"URL parameter {name}=" in n}
    assert len(mentioned) == len(notices)  # one notice per bad parameter, naming it
    q = {k: (v[-1] if isinstance(v, list) and v else v) for k, v in query.items()}
    if "user_id" in q and str(q["user_id"]).strip() != out["user_id"]:
        assert "user_id" in mentioned
    if "k" in q and "k" not in mentioned:
        assert float(str(q["k"]).strip()) == out["k"]


@FAST
@given(st.fixed_dictionaries({"mode": st.sampled_from(links.RECOMMEND_MODES), "user_id": st.sampled_from(USERS),
                              "movie_title": st.sampled_from(TITLES), "k": st.integers(*links.K_RANGE),
                              "exclude_seen": st.booleans(),
                              "likes": st.lists(st.sampled_from(TITLES[:5]), min_size=1, max_size=4, unique=True)
                              .map(tuple)}))
def test_recommend_link_round_trip(settings_):
    out, notices = links.recommend_from_query(links.recommend_to_query(settings_), USERS, TITLES)
    assert notices == []
    keys = ("mode", "k") + {"user": ("user_id", "exclude_seen"), "movie": ("movie_title",),
                            "me": ("likes",)}[settings_["mode"]]
    assert {k: out[k] for k in keys} == {k: settings_[k] for k in keys}


def test_recommend_link_messages():
    """The notices a person reads: what was wrong, what is shown instead."""
    out, notices = links.recommend_from_query(
        {"mode": "film", "user_id": "9999", "k": "1e9", "movie_title": "star war", "exclude_seen": "maybe"},
        USERS, TITLES)
    assert out == {"mode": "user", "user_id": "42", "movie_title": "Star Wars (1977)", "k": 50, "exclude_seen": True,
                   "likes": ("Star Wars (1977)", "Alien (1979)")}
    text = " | ".join(notices)
    assert "mode='film' is not one of user, movie, me" in text
    assert "user_id='9999' is not a user of this dataset (ids run from 1 to 943); showing user 42" in text
    assert "k=1e9 is out of range [1, 50]; using 50" in text
    assert "movie_title='star war' is not a movie of this dataset" in text and "Did you mean 'Star Wars (1977)'" in text
    assert "exclude_seen='maybe' is not true/false; using true" in text
    out, notices = links.recommend_from_query({"k": "abc", "movie_title": "toy story (1995)"}, USERS, TITLES)
    assert (out["k"], out["movie_title"]) == (10, "Toy Story (1995)")  # case-insensitive exact title is fine
    assert notices == ["URL parameter k='abc' is not a number; using 10."]
    out, notices = links.recommend_from_query({"mode": "me", "likes": "Alien (1979)|star war|Heat (1995)"}, USERS,
                                              TITLES)
    assert out["mode"] == "me" and out["likes"] == ("Alien (1979)", "Heat (1995)")  # the known picks, in order
    assert len(notices) == 1 and "'star war'" in notices[0] and "Did you mean 'Star Wars (1977)'" in notices[0]
