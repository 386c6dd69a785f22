"""Facts readers the policy issue relies on: weights in pounds, CrCl and creatinine units, suPAR by name,
SARS-CoV-2 results, oxygen, allergens by text, route intolerances, responses, encounters, procedures,
vaccines being ordered, preauthorizations, and the prescriber's statements on the order."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.facts.allergies import read_allergies
from cds_service.facts.builder import read_prescriber_statements
from cds_service.facts.extra_history import encounters, immunizations, prior_authorizations, procedures
from cds_service.facts.labs import lab_values, latest_weight
from cds_service.facts.medication import classify_stop_reason, therapy_history
from cds_service.facts.terminology.loader import data
from cds_service.facts.terminology.wording import any_of_patterns
from cds_service.facts.text_statements import is_route_intolerance, response_of

AS_OF = date(2026, 3, 2)
LOINC = "http://loinc.org"


def obs(code=None, value=None, unit=None, when="2026-02-20", text=None, status="final", oid="o1", **extra):
    res = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "effectiveDateTime": when,
        "code": {**({"coding": [{"system": LOINC, "code": code}]} if code else {}), **({"text": text} if text else {})},
    }
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": unit, "code": unit}
    res.update(extra)
    return res


@pytest.mark.parametrize(
    "value, unit, kg", [(44, "[lb_av]", 19.958), (44, "lb", 19.958), (20, "kg", 20.0), (3500, "g", 3.5)]
)
def test_weight_units(value, unit, kg):
    w = latest_weight([obs("29463-7", value, unit)], AS_OF)
    assert w.kg == pytest.approx(kg, abs=0.01) and w.source == "Observation/o1"


def test_weight_newest_and_not_after_the_order():
    ws = [
        obs("29463-7", 60, "kg", "2025-01-01", oid="a"),
        obs("29463-7", 58, "kg", "2026-02-16", oid="b"),
        obs("29463-7", 90, "kg", "2026-04-01", oid="future"),
    ]
    assert latest_weight(ws, AS_OF).source == "Observation/b"


@pytest.mark.parametrize(
    "code, value, unit, kind, out_value, out_unit",
    [
        ("2164-2", 25, "mL/min", "crcl", 25, "mL/min"),
        ("2160-0", 2.1, "mg/dL", "creatinine", 2.1, "mg/dL"),
        ("14682-9", 185.7, "umol/L", "creatinine", 2.1, "mg/dL"),
        ("98979-8", 20, "mL/min/{1.73_m2}", "egfr", 20, "mL/min/{1.73_m2}"),
        ("751-8", 4200, "/uL", "anc", 4.2, "10*3/uL"),
        ("3151-8", 4, "L/min", "oxygen", 4, "L/min"),
    ],
)
def test_lab_kinds_and_units(code, value, unit, kind, out_value, out_unit):
    [lab] = lab_values([obs(code, value, unit)], AS_OF)
    assert (lab.kind, lab.unit) == (kind, out_unit) and lab.value == pytest.approx(out_value, abs=0.01)


def test_supar_is_read_by_name():
    [lab] = lab_values(
        [obs(None, 7.1, "ng/mL", text="suPAR (soluble urokinase plasminogen activator receptor)")], AS_OF
    )
    assert lab.kind == "supar" and lab.value == 7.1


@pytest.mark.parametrize(
    "value, positive",
    [
        ({"valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260373001"}]}}, True),
        ({"valueCodeableConcept": {"text": "Not detected"}}, False),
        ({"valueString": "POSITIVE"}, True),
    ],
)
def test_sars_cov_2_results(value, positive):
    [lab] = lab_values([obs("94500-6", **value)], AS_OF)
    assert lab.kind == "sars_cov_2" and lab.positive is positive


def allergy_res(code=None, text=None, verification="confirmed", kind=None, reactions=(), note=None, aid="a1"):
    res = {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "code": {**({"coding": [code]} if code else {}), **({"text": text} if text else {})},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "reaction": [{"manifestation": [{"text": r}]} for r in reactions],
    }
    if kind:
        res["type"] = kind
    if note:
        res["note"] = [{"text": note}]
    return res


@pytest.mark.parametrize(
    "res, substance",
    [
        (allergy_res({"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "72435"}), "anakinra"),
        (allergy_res(text="Kineret"), "anakinra"),
        (allergy_res(text="E. coli derived proteins"), "ecoli-protein"),
        (allergy_res(text="Polysorbate 80"), "kineret-excipient"),
        (allergy_res(text="Prednisone"), "prednisone"),
        (allergy_res(text="Peanuts"), "other"),
    ],
)
def test_allergens_by_code_and_text(res, substance):
    [a] = read_allergies([res])
    assert a.substance == substance


def test_allergy_flags():
    [a] = read_allergies([allergy_res(text="Kineret", verification="unconfirmed")])
    assert a.unconfirmed and not a.refuted
    [a] = read_allergies([allergy_res(text="Humira", kind="intolerance", note="needle phobia, cannot self-inject")])
    assert a.route_only and a.preferred_product == "humira"
    [a] = read_allergies([allergy_res(text="Prednisone")])
    assert "glucocorticoid" in a.classes


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Inadequate response", "ineffective"),
        ("Hepatotoxicity", "adverse"),
        ("Needle phobia", "route"),
        ("Insurance change", "other"),
        ("", None),
    ],
)
def test_stop_reasons(text, reason):
    assert classify_stop_reason(text) == reason


@pytest.mark.parametrize(
    "text, response",
    [
        ("Good clinical response: DAS28-CRP 5.6 -> 2.4 at 6 months.", "benefit"),
        ("In remission on anakinra", "benefit"),
        ("No response after 3 months", "no-benefit"),
        ("Inadequate response", "no-benefit"),
        ("Refill sent", None),
    ],
)
def test_response_statements(text, response):
    assert response_of(text) == response


def test_anakinra_statement_carries_the_response():
    ms = {
        "resourceType": "MedicationStatement",
        "id": "k",
        "status": "active",
        "medicationCodeableConcept": {"text": "Kineret 100 mg"},
        "effectivePeriod": {"start": "2025-03-12"},
        "note": [{"text": "Good clinical response."}],
    }
    [s] = therapy_history({"MedicationStatement": [ms]}, lambda r: None, AS_OF)
    assert s.drug == "anakinra" and s.response == "benefit"


def test_encounters_inpatient_and_review():
    encs = encounters(
        [
            {
                "resourceType": "Encounter",
                "id": "i",
                "status": "in-progress",
                "class": {"code": "IMP"},
                "period": {"start": "2026-02-28"},
            },
            {"resourceType": "Encounter", "id": "e", "status": "in-progress", "class": {"code": "EMER"}},
            {
                "resourceType": "Encounter",
                "id": "old",
                "status": "finished",
                "class": {"code": "IMP"},
                "period": {"start": "2025-01-01", "end": "2025-01-05"},
            },
            {"resourceType": "Encounter", "id": "x", "status": "cancelled", "class": {"code": "IMP"}},
        ],
        AS_OF,
    )
    got = {e.source: (e.inpatient, e.active, e.review) for e in encs}
    assert got == {
        "Encounter/i": (True, True, False),
        "Encounter/e": (False, True, True),
        "Encounter/old": (True, False, False),
    }


def test_procedures_oxygen_by_code_or_name():
    procs = procedures(
        [
            {
                "resourceType": "Procedure",
                "id": "p1",
                "status": "in-progress",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "57485005"}]},
                "performedPeriod": {"start": "2026-02-28"},
            },
            {
                "resourceType": "Procedure",
                "id": "p2",
                "status": "completed",
                "code": {"text": "High-flow nasal cannula"},
                "performedDateTime": "2026-03-01",
            },
            {"resourceType": "Procedure", "id": "p3", "status": "not-done", "code": {"text": "Oxygen therapy"}},
        ]
    )
    assert [(p.source, p.active, "oxygen" in p.kinds) for p in procs] == [
        ("Procedure/p1", True, True),
        ("Procedure/p2", False, True),
    ]


def test_immunizations_given_and_ordered():
    given = [
        {
            "resourceType": "Immunization",
            "id": "mmr",
            "status": "completed",
            "occurrenceDateTime": "2026-02-20",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03"}]},
        },
        {
            "resourceType": "Immunization",
            "id": "flu",
            "status": "completed",
            "occurrenceDateTime": "2026-02-20",
            "vaccineCode": {
                "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "141"}],
                "text": "Influenza, injectable",
            },
        },
    ]
    drafts = [
        {
            "resourceType": "MedicationRequest",
            "id": "var",
            "authoredOn": "2026-03-02",
            "medicationCodeableConcept": {"text": "Varivax (varicella vaccine live)"},
        },
        {"resourceType": "MedicationRequest", "id": "asp", "medicationCodeableConcept": {"text": "Aspirin"}},
    ]
    imms = immunizations(given, drafts)
    assert [(i.source, i.live, i.kind) for i in imms] == [
        ("Immunization/mmr", True, "given"),
        ("Immunization/flu", False, "given"),
        ("MedicationRequest/var", True, "ordered"),
    ]


def test_prior_authorization_indication_and_status():
    cr = {
        "resourceType": "ClaimResponse",
        "id": "pa",
        "status": "active",
        "use": "preauthorization",
        "outcome": "complete",
        "preAuthRef": "PA-1",
        "preAuthPeriod": {"start": "2025-03-10", "end": "2026-03-09"},
        "disposition": "Approved: Kineret (anakinra) 100 mg, initial authorization for rheumatoid arthritis",
    }
    [pa] = prior_authorizations([cr], lambda r: None)
    assert (pa.status, pa.indication, pa.pa_id, pa.end) == ("approved", "ra", "PA-1", date(2026, 3, 9))
    denied = dict(cr, disposition="Denied: Kineret for rheumatoid arthritis")
    assert prior_authorizations([denied], lambda r: None)[0].status != "approved"
    assert prior_authorizations([dict(cr, status="cancelled")], lambda r: None) == ()


@pytest.mark.parametrize(
    "note, keys",
    [
        (
            "Treated with anakinra within the past 90 days; at risk if therapy is changed.",
            {"recent_anakinra", "anakinra_use", "at_risk_if_changed"},
        ),  # anakinra_use: a statement of treatment
        ("Consulted rheumatology (Dr. A) who recommends anakinra.", {"specialist_consult"}),
        ("Not treated with anakinra within the past 90 days.", set()),  # a negation states nothing
        (
            "High risk of progression to severe respiratory failure. suPAR likely elevated.",
            {"respiratory_failure_risk", "elevated_supar"},
        ),
        ("No risk of respiratory failure.", set()),
        ("Elevated suPAR expected (SCORE criteria).", {"elevated_supar"}),
        ("Long-term glucocorticoids are contraindicated (avascular necrosis).", {"glucocorticoid_contraindication"}),
        ("Sustained clinical response on anakinra.", {"clinical_benefit", "anakinra_use"}),
    ],
)
def test_prescriber_statements_on_the_order(note, keys):
    found = read_prescriber_statements({"id": "o1", "note": [{"text": note}]})
    assert set(found) == keys
    for statement in found.values():
        assert statement.source == "MedicationRequest/o1.note[0]" and statement.text


_RESPONSE_WORDS = [
    "no",
    "clinical",
    "response",
    "benefit",
    "improvement",
    "inadequate",
    "not",
    "responding",
    "improved",
    "effective",
    "ineffective",
    "lack",
    "of",
    "efficacy",
    "effect",
    "loss",
    "worsening",
    "good",
    "significant",
    "marked",
    "sustained",
    "partial",
    "excellent",
    "remission",
    "disease",
    "symptoms",
    "flares",
    "is",
    "are",
    "well",
    "controlled",
    "low",
    "activity",
    "to",
    "unimproved",
    "Remission.",
    "NO",
    "Clinical",
    "Response:",
    "x",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_RESPONSE_WORDS), max_size=8), st.sampled_from([" ", "", "  ", ", "]))
def test_one_alternation_matches_exactly_when_one_of_the_patterns_does(words, sep):
    """response_of scans once per group with an alternation; it must agree with trying each pattern."""
    text = sep.join(words)
    raw = data()["response_patterns"]
    for group in ("no_benefit", "benefit"):
        each = any(re.search(p, text, re.I) for p in raw[group])
        assert bool(any_of_patterns(raw[group]).search(text)) is each, (group, text)
    # The alternation finds the candidates; the negation reader may then keep none of them ("no remission" states
    # no benefit), never one the patterns did not find.
    allowed = {None}
    if any(re.search(p, text, re.I) for p in raw["no_benefit"]):
        allowed.add("no-benefit")
    if any(re.search(p, text, re.I) for p in raw["benefit"]):
        allowed.add("benefit")
    assert response_of(text) in (allowed if text else {None})


_STOP_WORDS = [
    "inadequate",
    "response",
    "ineffective",
    "not",
    "effective",
    "failure",
    "failed",
    "adverse",
    "reaction",
    "rash",
    "nausea",
    "needle",
    "phobia",
    "injection",
    "site",
    "pain",
    "cannot",
    "self-inject",
    "insurance",
    "change",
    "hepatotoxicity",
    "elevated",
    "LFT",
    "loss",
    "of",
    "refractory",
    "allergy",
    "intolerance",
    "afraid",
    "needles",
    "and",
    "x",
]


def _stop_reason_reference(text):
    """The rule as first written (one search per phrase of the data, in a different order): the single pass must
    agree with it."""
    raw = data()["stop_reasons"]

    def says(group):
        return any(re.search(p, text, re.I) for p in raw[group])

    if not text:
        return None
    if is_route_intolerance(text) and not says("ineffective"):
        return "route"
    if says("adverse") and not says("ineffective"):
        return "adverse"
    if says("ineffective"):
        return "ineffective"
    if says("adverse"):
        return "adverse"
    return "other"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_STOP_WORDS), max_size=7))
def test_stop_reason_single_pass_agrees_with_the_rule(words):
    text = " ".join(words)
    assert classify_stop_reason(text) == _stop_reason_reference(text)


# -- active medication records whose medication cannot be identified -----------------------------------

_RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _mr(rid: str, medication: dict, status: str = "active") -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "authoredOn": "2026-02-01",
        "subject": {"reference": "Patient/p1"},
        **medication,
    }


@pytest.mark.parametrize(
    "medication, status, unidentified",
    [
        ({"medicationReference": {"reference": "Medication/not-included"}}, "active", True),
        ({"medicationReference": {"reference": "Medication/not-included"}}, "completed", False),  # not active
        (
            {"medicationReference": {"reference": "Medication/not-included", "display": "ibuprofen 600 mg"}},
            "active",
            False,
        ),  # named: not a drug we rule out
        (
            {
                "medicationCodeableConcept": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "99999-9999-99"}]
                }
            },
            "active",
            True,
        ),  # unknown code only
        ({"medicationCodeableConcept": {"text": "ibuprofen 600 mg tablet"}}, "active", False),
        ({"medicationCodeableConcept": {"coding": [{"system": _RX, "code": "327361"}]}}, "active", False),  # adalimumab
        ({"medicationReference": {"reference": "Medication/known"}}, "active", False),  # resolved
        ({}, "active", True),  # no medication at all
    ],
)
def test_active_records_without_an_identifiable_medication_are_listed(medication, status, unidentified):
    known = {
        "Medication/known": {
            "resourceType": "Medication",
            "id": "known",
            "code": {"coding": [{"system": _RX, "code": "1602603", "display": "etanercept"}]},
        }
    }
    found: list[str] = []
    therapy_history({"MedicationRequest": [_mr("rx-1", medication, status)]}, known.get, AS_OF, found)
    assert found == (["MedicationRequest/rx-1"] if unidentified else [])


def test_unidentified_records_of_every_kind_are_listed_once_each():
    unnamed = {"medicationReference": {"reference": "Medication/gone"}}
    resources = {
        "MedicationRequest": [_mr("rx-1", unnamed)],
        "MedicationStatement": [
            {
                "resourceType": "MedicationStatement",
                "id": "ms-1",
                "status": "active",
                "effectivePeriod": {"start": "2025-06-01"},
                **unnamed,
            }
        ],
        "MedicationDispense": [
            {
                "resourceType": "MedicationDispense",
                "id": "md-1",
                "status": "completed",
                "whenHandedOver": "2026-02-20",
                "daysSupply": {"value": 28},
                **unnamed,
            }
        ],
    }
    found: list[str] = []
    spans = therapy_history(resources, lambda r: None, AS_OF, found)
    assert spans == ()
    assert found == ["MedicationStatement/ms-1", "MedicationRequest/rx-1", "MedicationDispense/md-1"]
