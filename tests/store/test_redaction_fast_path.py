"""The hot-path shortcuts of the audit write give exactly what the general code gives.

`redact_text` skips its three substitutions when no pattern could match, `redact_plain_json`
redacts and checks plain JSON in one walk, and plain values are written with orjson. Each is
compared here with the general code (the pre-shortcut `redact_text` is kept below verbatim).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from enum import Enum, IntEnum

import pytest

from cds_service.store import AuditEntry, json_columns, patient_hash
from cds_service.store.redaction import (
    REDACTED,
    NotPlainJSON,
    redact_json,
    redact_plain_json,
    redact_text,
)

_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_PATIENT_REF_RE = re.compile(r"\bPatient/[A-Za-z0-9.\-]{1,64}")


def reference_redact_text(text: str) -> str:
    """redact_text before the shortcut."""
    text = _JWT_RE.sub(REDACTED, text)
    text = _BEARER_RE.sub("Bearer " + REDACTED, text)
    return _PATIENT_REF_RE.sub("Patient/" + REDACTED, text)


JWT = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJwYXQtMSJ9.c2ln"

TRICKY = [
    "",
    "met",
    "not-applicable",
    "initiation.1",
    "MedicationRequest/mr-1",
    JWT,
    f"{JWT} trailing",
    f"leading {JWT}",
    f"x{JWT}y",
    "eyJ",
    "eyJ.a.b",
    "eyJab.cd.",
    "eyJab.cd",
    "Bearer abc.def",
    "bearer abc",
    "BEARER abc",
    "BeArEr\tabc",
    "Authorization: Bearer " + JWT,
    "bearer",
    "bearer ",
    "xbearer abc",
    "bearerabc",
    "unbearer abc",
    "bearer\nabc",
    "beare\u017f abc",
    "\u212aelvin bearer abc",  # non-ASCII letters that fold like ASCII ones
    "Patient/123",
    "Patient/",
    "patient/123",
    "Patient/pat-RA-7731/_history/2",
    "http://ehr/fhir/Patient/pat-1",
    "https://ehr.example.org/fhir/Patient/a.b-c?x=1",
    "xPatient/1",
    "Patient/1 and Patient/2",
    "RelatedPerson/Patient/3",
    "Patient/" + "a" * 80,
    "Patient/\u00e9",
    "caf\u00e9 \ud800 bearer x",
    f"Bearer {JWT} for Patient/9",
    "eyJ Bearer Patient/",
]


@pytest.mark.parametrize("text", TRICKY)
def test_redact_text_matches_the_reference(text):
    assert redact_text(text) == reference_redact_text(text)
    assert redact_text(text.upper()) == reference_redact_text(text.upper())
    assert redact_text(text.lower()) == reference_redact_text(text.lower())


def test_redact_text_of_a_str_subclass_is_a_plain_str_as_before():
    class Tagged(str):
        pass

    got = redact_text(Tagged("met"))
    assert got == "met" and type(got) is str


PLAIN = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    1.5,
    -0.0,
    1e300,
    "x",
    [],
    {},
    (1, "Patient/2"),
    [{"order": "MedicationRequest/x", "clauses": {"initiation.1": "met", "Patient/7": "not-met"}}],
    {"token": {"nested": 1}, "patientId": None, "PATIENT": "p-1", "evidence": [f"Bearer {JWT}", 2, None]},
    {"caf\u00e9": "\u2603 Patient/\u00e9x", "a": [[[[]]]], "n": {"m": {"o": "eyJab.cd.ef"}}},
]


@pytest.mark.parametrize("value", PLAIN)
def test_redact_plain_json_matches_redact_json(value):
    got = redact_plain_json(value)
    assert got == redact_json(value)
    assert json.dumps(got) == json.dumps(redact_json(value))  # same types too (tuples become lists)


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    ONE = 1


class Tagged(str):
    pass


def _cycle():
    a: list = []
    a.append(a)
    return a


def _deep(n):
    value: list = []
    for _ in range(n):
        value = [value]
    return value


NOT_PLAIN = [
    {1: "a"},
    {None: 1},
    {(1, 2): "a"},
    2**64,
    -(2**63) - 1,
    float("nan"),
    float("inf"),
    [float("-inf")],
    datetime(2026, 1, 1, tzinfo=UTC),
    uuid.uuid4(),
    Colour.RED,
    Level.ONE,
    Tagged("t"),
    {"k": Tagged("v")},
    {Tagged("k"): "v"},
    {"token": uuid.uuid4()},
    {"a": {1, 2}},
    b"bytes",
    _cycle(),
    _deep(80),
    {"x": object()},
]


@pytest.mark.parametrize("value", NOT_PLAIN, ids=lambda v: type(v).__name__)
def test_redact_plain_json_leaves_everything_else_to_the_general_path(value):
    with pytest.raises(NotPlainJSON):
        redact_plain_json(value)


def _old_json_checked(name, value):
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from None
    return redact_json(value)


@pytest.mark.parametrize("value", PLAIN + NOT_PLAIN, ids=lambda v: type(v).__name__)
def test_json_checked_accepts_refuses_and_writes_as_before(value):
    try:
        expected = _old_json_checked("determinations", value)
    except ValueError as exc:
        with pytest.raises(ValueError) as got:
            json_columns.json_checked("determinations", value)
        assert str(got.value) == str(exc)
        return
    except RecursionError:
        with pytest.raises(RecursionError):
            json_columns.json_checked("determinations", value)
        return
    checked = json_columns.json_checked("determinations", value)
    written = json_columns.json_serializer(checked)
    old_written = json.dumps(expected)
    # orjson and json may differ in whitespace and escapes, never in what reads back
    assert json.loads(written) == json.loads(old_written) or (
        written == old_written  # NaN != NaN
    )
    assert type(json.loads(written)) is type(json.loads(old_written))


def test_serializer_falls_back_to_json_for_what_orjson_refuses():
    value = json_columns.json_checked("clause_outcomes", ["lone \ud800 surrogate"])
    assert json_columns.json_serializer(value) == json.dumps(["lone \ud800 surrogate"])


def test_values_other_than_audit_json_are_written_by_json_dumps():
    value = {"a": [1, 2.5, None], "b": "caf\u00e9"}
    assert json_columns.json_serializer(value) == json.dumps(value)


T0 = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


def test_plain_json_written_with_orjson_reads_back_identically(store):
    clauses = {f"initiation.{i}": ("met" if i % 2 else "not-met") for i in range(80)}
    determinations = [
        {
            "order": "MedicationRequest/mr-1",
            "determination": "covered",
            "unicode": "caf\u00e9 \u2603 \U0001f600",
            "numbers": [0, -1, 2**63 - 1, -(2**63), 1.5, -0.0, 1e-7, 1e300, 123456789.125],
            "flags": [True, False, None],
            "nested": {"a": [[{"b": []}]], "ctrl": 'tab\tnew\nline "quoted" back\\slash \u0001'},
            "tuple": (1, "two"),
        }
    ]
    entry = AuditEntry(
        service_id="anakinra-crd-order-sign",
        hook_instance="h-1",
        called_at=T0,
        http_status=200,
        latency_ms=3.0,
        patient_hash=patient_hash(b"k" * 32, "p"),
        determinations=determinations,
        clause_outcomes=[{"order": "MedicationRequest/mr-1", "clauses": clauses}],
        coverage_assertion_ids=["ca-1", "ca-\u00e9"],
        card_uuids=["c1"],
    )
    store.record_call(entry)
    (got,) = store.list_calls(T0 - timedelta(seconds=1))
    assert got.determinations == json.loads(json.dumps(redact_json(determinations)))
    assert got.clause_outcomes == [{"order": "MedicationRequest/mr-1", "clauses": clauses}]
    assert got.coverage_assertion_ids == ["ca-1", "ca-\u00e9"]


@pytest.mark.parametrize("text", TRICKY)
def test_flat_string_maps_take_one_check_and_agree_with_redact_json(text):
    """Dicts of plain strings (the clause outcome maps) are checked as one joined text; hints in a
    key, in a value, or only across two strings, and secret keys all give what redact_json gives."""
    for value in (
        {"a": text, "b": "met"},
        {text: "met", "initiation.1": "not-met"},
        {"ey": "J" + text},
        {"clauses": {"x": text, "y": "met"}},
        {"token": text, "x": "met"},
    ):
        got = redact_plain_json(value)
        assert got == redact_json(value) and json.dumps(got) == json.dumps(redact_json(value))
        assert got is not value
    with pytest.raises(NotPlainJSON):  # a str subclass is not plain, flat map or not
        redact_plain_json({"a": Tagged(text), "b": "met"})


def test_a_clean_flat_map_comes_back_as_an_equal_copy():
    value = {f"initiation.{i}": "met" for i in range(200)}
    got = redact_plain_json(value)
    assert got == value and got is not value and type(got) is dict
