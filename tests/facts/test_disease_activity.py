"""RA disease activity as the chart states it (Table 1 "Moderately to severely active"; Table 3 grades severity):
Condition severity, activity scores by name, and the Condition's words through the negation reader."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.facts.disease_activity import read_disease_activity

AS_OF = date(2026, 3, 2)
SNOMED = "http://snomed.info/sct"
RA = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M05.79"}], "text": "Rheumatoid arthritis"}


def cond(severity=None, note=None, code=RA, verification="confirmed", clinical="active", cid="c1"):
    c = {
        "resourceType": "Condition",
        "id": cid,
        "code": code,
        "recordedDate": "2025-11-03",
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "verificationStatus": {"coding": [{"code": verification}]},
    }
    if severity:
        c["severity"] = severity
    if note:
        c["note"] = [{"text": note}]
    return c


def obs(name, value, when="2026-02-16", oid="o1", status="final"):
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"text": name},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value},
    }


def levels(conditions=(), observations=()):
    return sorted({a.level for a in read_disease_activity(list(conditions), list(observations), AS_OF)})


@pytest.mark.parametrize(
    "severity, expected",
    [
        ({"coding": [{"system": SNOMED, "code": "255604002", "display": "Mild"}]}, ["low"]),
        ({"coding": [{"system": SNOMED, "code": "24484000", "display": "Severe"}]}, ["active"]),
        ({"coding": [{"system": SNOMED, "code": "6736007"}]}, ["active"]),
        ({"coding": [{"system": SNOMED, "code": "371923003"}], "text": "Mild to moderate"}, []),  # states neither
        ({"text": "Mild"}, ["low"]),
    ],
)
def test_condition_severity(severity, expected):
    assert levels([cond(severity=severity)]) == expected


@pytest.mark.parametrize(
    "note, expected",
    [
        ("Low disease activity: CDAI 6.5, 1 swollen / 2 tender joints; CRP normal.", ["low"]),
        ("In clinical remission on methotrexate.", ["low"]),
        ("Moderately to severely active disease: CDAI 31 (high disease activity).", ["active"]),
        ("CDAI 31 -> 30 at 11 months.", ["active"]),  # a trend: the last value
        ("Not in remission; synovitis of both wrists.", []),  # negated
        ("? remission", []),  # hedged
        ("Goal: low disease activity (CDAI <= 10).", []),  # a target is not a state
        ("DAS28-CRP 2.4.", ["low"]),
        ("Seropositive, erosive.", []),
    ],
)
def test_condition_words_and_scores(note, expected):
    assert levels([cond(note=note)]) == expected


def test_only_active_not_refuted_ra_conditions_count():
    note = "Low disease activity."
    assert levels([cond(note=note, verification="refuted")]) == []
    assert levels([cond(note=note, clinical="resolved")]) == []
    psa = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "L40.50"}], "text": "Psoriatic arthritis"}
    assert levels([cond(note=note, code=psa)]) == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("CDAI", 6.5, ["low"]),
        ("CDAI", 10.0, ["low"]),
        ("CDAI", 10.5, ["active"]),
        ("SDAI score", 26.0, ["active"]),
        ("DAS28-ESR", 3.1, ["low"]),
        ("DAS28-ESR", 5.6, ["active"]),
        ("RAPID3", 1.5, ["low"]),
        ("RAPID3", 4.0, []),  # 0-10 or 0-30 scale: 4 is high on one, low on the other
        ("RAPID3", 14.0, ["active"]),
        ("C-reactive protein", 3.0, []),  # not an activity score
    ],
)
def test_activity_scores_by_name(name, value, expected):
    assert levels(observations=[obs(name, value)]) == expected


def test_scores_after_the_order_date_or_not_final_are_not_read():
    assert levels(observations=[obs("CDAI", 6.5, when="2026-03-10")]) == []
    assert levels(observations=[obs("CDAI", 6.5, status="entered-in-error")]) == []


@pytest.mark.parametrize("status", [[], {}, ["final"], {"code": "final"}, 3])
def test_ill_typed_observation_status_is_skipped_not_a_crash(status):
    assert levels(observations=[dict(obs("CDAI", 6.5), status=status)]) == []
