"""Values for the JSON columns of the audit trail: checked, redacted and serialised.

`json_checked` refuses what is not JSON and redacts the rest (`redaction`). A value that is plain
JSON (exact dict / list / str / int / float / bool / None) comes back wrapped in `PlainJSON`, which the
engines' `json_serializer` writes with orjson; everything else is written with `json.dumps`. Both give
a document that reads back identically (tests/store/test_redaction_fast_path.py).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .redaction import NotPlainJSON, redact_json, redact_plain_json


class PlainJSON:
    """A value `redaction.redact_plain_json` accepted, on its way to a JSON column: the engine's
    serializer writes it with orjson. Every other JSON value is written with json.dumps."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"PlainJSON({self.value!r})"


def json_serializer(value: Any) -> str:
    """The engines' JSON serializer (SQLAlchemy's JSON type and psycopg call it)."""
    if type(value) is PlainJSON:
        try:
            return orjson.dumps(value.value).decode()
        except TypeError:  # e.g. a lone surrogate: orjson refuses it, json escapes it
            return json.dumps(value.value)
    return json.dumps(value)


def json_checked(name: str, value: Any) -> Any:
    """`value` redacted for a JSON column; ValueError naming `name` when it is not JSON-serialisable."""
    try:
        # Exact JSON types are checked and redacted in one walk (json.dumps cannot fail on them).
        return PlainJSON(redact_plain_json(value))
    except NotPlainJSON:
        pass  # anything else: the general check and redaction
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from None
    return redact_json(value)


def str_list(values: Any) -> Any:
    """`list(values)`, marked for orjson when every item is exactly a str (coverage_assertion_ids)."""
    values = list(values)
    return PlainJSON(values) if all(type(v) is str for v in values) else values
