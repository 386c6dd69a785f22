"""The nesting bound on request bodies: `container_depth` (read from the bytes) agrees with a walk
of the parsed value, whatever the strings hold and however the JSON was written."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.protocol.request import RequestError, container_depth, json_depth, load_json

# Strings full of what could confuse a byte scan: brackets, quotes, backslashes, escapes, non-ASCII.
tricky_text = st.text(alphabet=st.sampled_from(list('[]{}"\\/ au\u00e9\u2028\U0001f489\n\t')), max_size=8)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(tricky_text, children, max_size=4),
    max_leaves=40,
)


def walked_containers(value) -> int:
    if isinstance(value, dict):
        return 1 + max((walked_containers(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((walked_containers(v) for v in value), default=0)
    return 0


def encodings(value) -> list[bytes]:
    return [
        orjson.dumps(value),
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=2, ensure_ascii=False).encode(),
    ]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(json_values)
def test_container_depth_matches_a_walk_of_the_parsed_value(value):
    expected = walked_containers(value)
    for raw in encodings(value):
        assert container_depth(raw, 99) == expected, raw


@settings(max_examples=200, derandomize=True, deadline=None)
@given(json_values, st.integers(1, 8))
def test_load_json_bounds_exactly_like_the_walk(value, limit):
    for raw in encodings(value):
        if json_depth(value, limit) > limit:
            with pytest.raises(RequestError, match="deeper"):
                load_json(raw, limit)
        else:
            assert load_json(raw, limit) == orjson.loads(raw)


@pytest.mark.parametrize(
    "raw, depth",
    [
        (b"1", 0),
        (b'"[[["', 0),
        (b"[]", 1),
        (b"[1]", 1),
        (b'{"a": [{"b": 1}]}', 3),
        (b'["\\\\", "]"]', 1),
        (b'["\\"[", [[]]]', 3),
        (b'{"div": "<div xmlns=\\"http://www.w3.org/1999/xhtml\\">[</div>"}', 1),
        (b'[[[""]], ""]', 3),
        (b'["", [""], {"": ""}]', 2),
    ],
)
def test_container_depth_examples(raw, depth):
    assert container_depth(raw, 99) == depth


def test_the_exact_walk_decides_at_the_limit():
    # containers nest exactly 3 deep: [[[]]] is depth 3 (empty), [[[1]]] is 4 (a scalar below)
    assert load_json(b"[[[]]]", 3) == [[[]]]
    with pytest.raises(RequestError):
        load_json(b"[[[1]]]", 3)
    with pytest.raises(RequestError):
        load_json(b"[" * 5000 + b"]" * 5000, 64)


def test_str_bodies_are_bounded_too():
    assert load_json('{"a": ["\u00e9"]}', 3) == {"a": ["\u00e9"]}
    with pytest.raises(RequestError):
        load_json("[[[[1]]]]", 3)
