"""fast_init: the same objects as a frozen dataclass's own __init__, still frozen, refused where it cannot hold."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from cds_service.facts import model as facts_model
from cds_service.frozen_dataclass_init import fast_init, plain_init
from cds_service.policy import model as policy_model

FAST = [
    facts_model.Weight,
    facts_model.LabValue,
    facts_model.Diagnosis,
    facts_model.TherapySpan,
    facts_model.AllergyFact,
    policy_model.Evidence,
    policy_model.Missing,
    policy_model.ClauseResult,
]


@dataclasses.dataclass(frozen=True)
class Plain:
    a: str
    b: int = 3
    c: tuple = ()
    d: str | None = None


Fast = fast_init(
    dataclasses.dataclass(frozen=True)(
        type(
            "Fast",
            (),
            {"__annotations__": {"a": "str", "b": "int", "c": "tuple", "d": "str | None"}, "b": 3, "c": (), "d": None},
        )
    )
)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("x",), {}),
        (("x", 1), {}),
        (("x",), {"d": "y"}),
        ((), {"a": "x", "b": 2, "c": (1,), "d": "z"}),
        (("x", 1, (2,), "w"), {}),
    ],
)
def test_same_fields_as_the_dataclass_init(args, kwargs):
    plain, fast = Plain(*args, **kwargs), Fast(*args, **kwargs)
    assert dataclasses.asdict(plain) == dataclasses.asdict(fast)


def test_same_errors_for_wrong_arguments():
    for call in (
        lambda cls: cls(),
        lambda cls: cls("x", 1, (), None, "extra"),
        lambda cls: cls("x", e=1),
        lambda cls: cls("x", a="again"),
    ):
        with pytest.raises(TypeError):
            call(Plain)
        with pytest.raises(TypeError):
            call(Fast)


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_models_stay_frozen_equal_and_hashable(cls):
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    values = {f.name: _sample(f) for f in required}
    one, two = cls(**values), cls(**values)
    assert one == two and hash(one) == hash(two)
    for f in fields:  # defaults are the declared ones
        expected = values.get(f.name, f.default)
        assert getattr(one, f.name) == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(one, fields[0].name, _sample(fields[0]))
    assert dataclasses.replace(one, **{fields[0].name: values[fields[0].name]}) == one


def _sample(f):
    samples = {
        "outcome": policy_model.Outcome.MET,
        "kg": 70.0,
        "observed_on": date(2026, 3, 2),
        "value": 1.0,
        "indications": frozenset({"ra"}),
        "classes": frozenset({"tnf"}),
        "code": facts_model.Code("http://snomed.info/sct", "1"),
        "start": date(2026, 1, 1),
        "end": None,
        "active": True,
        "from_order": False,
        "confirmed": True,
    }
    return samples.get(f.name, f"{f.name}-value")


def test_refused_where_it_cannot_keep_the_dataclass_behaviour():
    with pytest.raises(TypeError, match="frozen"):
        fast_init(dataclasses.dataclass(type("NotFrozen", (), {"__annotations__": {"a": "int"}})))
    with pytest.raises(TypeError, match="constant defaults"):
        fast_init(
            dataclasses.dataclass(frozen=True)(
                type("Factory", (), {"__annotations__": {"a": "list"}, "a": dataclasses.field(default_factory=list)})
            )
        )

    class WithPostInit:
        a: int

        def __post_init__(self):
            pass

    WithPostInit.__annotations__ = {"a": "int"}
    with pytest.raises(TypeError, match="__post_init__"):
        fast_init(dataclasses.dataclass(frozen=True)(WithPostInit))


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_fast_and_plain_paths_build_equal_objects(cls):
    """The switch's two paths (the compiled __init__ and the dataclass's own) on the models themselves:
    the same fields, equal and equally hashed, with defaults and with every field given by position."""
    fields = dataclasses.fields(cls)
    required = {f.name: _sample(f) for f in fields if f.default is dataclasses.MISSING}
    every = [_sample(f) for f in fields]
    for args, kwargs in (((), required), (every, {})):
        fast = cls(*args, **kwargs)
        plain = object.__new__(cls)
        plain_init(cls)(plain, *args, **kwargs)
        assert vars(plain) == vars(fast) and list(vars(plain)) == list(vars(fast))
        assert plain == fast and hash(plain) == hash(fast) and repr(plain) == repr(fast)
    assert cls.__init__ is not plain_init(cls)  # the switch is on: the models use the compiled __init__
