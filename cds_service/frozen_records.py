"""A faster constructor for the frozen dataclasses a hook call creates by the hundred.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__` (to get past
its own `__setattr__`, which raises): about 1 µs for an 8-field `ClauseResult`, and a call for a
69-resource chart builds a few hundred such records (clause results, evidence, therapy spans, lab
values, diagnoses). `fast_init` gives the class an `__init__` with the same signature and defaults
that writes the new instance's `__dict__` directly (about 3x faster). Nothing else changes: the
class stays a frozen dataclass (assignment after construction raises `FrozenInstanceError`,
equality, hashing, `repr`, `fields` and `replace` are the dataclass's own).

Only for plain frozen dataclasses: every field in `__init__`, no `default_factory`, no
`__post_init__`, no `__slots__`, no keyword-only fields. Anything else is refused at import time.
"""

from __future__ import annotations

import dataclasses


# The generated __init__'s own names (a field may be called `d` or `self`: these cannot clash).
_SELF, _DICT = "_fast_init_self_", "_fast_init_dict_"


def fast_init(cls):
    """Class decorator, applied above `@dataclass(frozen=True)`."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: fast_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: fast_init does not support __post_init__ or __slots__")
    fields = dataclasses.fields(cls)
    defaults: dict[str, object] = {}
    args: list[str] = []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init supports plain fields with constant defaults only")
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
    if any(f.name in (_SELF, _DICT) for f in fields):
        raise TypeError(f"{cls.__name__}: a field is named {_SELF} or {_DICT}")
    body = "".join(f"    {_DICT}[{f.name!r}] = {f.name}\n" for f in fields)
    source = f"def __init__({_SELF}, {', '.join(args)}):\n    {_DICT} = {_SELF}.__dict__\n{body}"
    namespace: dict[str, object] = dict(defaults)
    exec(compile(source, f"<fast_init {cls.__qualname__}>", "exec"), namespace)   # as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init
    return cls
