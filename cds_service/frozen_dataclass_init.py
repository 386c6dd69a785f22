"""`fast_init`: a compiled `__init__` for the frozen dataclasses a hook call creates by the hundred.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__` (to get past
its own `__setattr__`, which raises). `fast_init` gives the class an `__init__` with the same
signature and defaults that writes the new instance's `__dict__` directly, built from source with
`exec` as `dataclasses` builds its own. Nothing else changes: the class stays a frozen dataclass
(assignment after construction raises `FrozenInstanceError`; equality, hashing, `repr`, `fields`
and `replace` are the dataclass's own). What it saves: benchmarks/README.md, "Speed seams".

The switch: `FAST_INIT` (read when a class is decorated, i.e. at import). When False the classes
keep the dataclass's own `__init__` (the plain path). Either way the dataclass's own `__init__`
stays reachable through `plain_init(cls)`, so that tests and `benchmarks/speed_seams.py` compare
both paths on the same classes.

Only for plain frozen dataclasses: every field in `__init__`, no `default_factory`, no
`__post_init__`, no `__slots__`, no keyword-only fields. Anything else is refused at import time,
whatever the switch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

#: The switch: True gives decorated classes the compiled __init__, False leaves the dataclass's own.
FAST_INIT = True

T = TypeVar("T")

# The generated __init__'s own names (a field may be called `d` or `self`: these cannot clash).
_SELF, _DICT = "_fast_init_self_", "_fast_init_dict_"

_PLAIN_INITS: dict[type, Callable[..., None]] = {}


def fast_init(cls: type[T]) -> type[T]:
    """Class decorator, applied above `@dataclass(frozen=True)`."""
    fields = _checked_fields(cls)
    _PLAIN_INITS[cls] = cls.__init__
    if FAST_INIT:
        # Replacing the class's __init__ is this decorator's purpose (mypy refuses any assignment to a method).
        cls.__init__ = compiled_init(cls, fields)  # type: ignore[method-assign]
    return cls


def plain_init(cls: type) -> Callable[..., None]:
    """The dataclass's own `__init__` of a class decorated with `fast_init` (the plain path)."""
    return _PLAIN_INITS[cls]


def _checked_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: fast_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init does not support __post_init__ or __slots__")
    fields = dataclasses.fields(cls)
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init supports plain fields with constant defaults only")
    if any(f.name in (_SELF, _DICT) for f in fields):
        raise TypeError(f"{cls.__name__}: a field is named {_SELF} or {_DICT}")
    return fields


def compiled_init(cls: type[Any], fields: tuple[dataclasses.Field, ...]) -> Callable[..., None]:
    """An `__init__` with the dataclass's signature and defaults that fills the instance's `__dict__`."""
    defaults: dict[str, Any] = {}
    args: list[str] = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    {_DICT}[{f.name!r}] = {f.name}\n" for f in fields)
    source = f"def __init__({_SELF}, {', '.join(args)}):\n    {_DICT} = {_SELF}.__dict__\n{body}"
    namespace: dict[str, Any] = dict(defaults)
    exec(compile(source, f"<fast_init {cls.__qualname__}>", "exec"), namespace)  # noqa: S102 (as dataclasses does)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    return init
