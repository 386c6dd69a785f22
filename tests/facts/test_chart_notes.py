"""Condition notes read as text evidence (facts/diagnoses.condition_notes): the statements a note makes, the values
it states, the kinds it names; near misses written from the guideline (Table 1 COVID-19 3-5, MIS-C 4.a)."""

from datetime import date

import pytest

from cds_service.facts.diagnoses import condition_notes
from cds_service.facts.extra_history import procedures
from cds_service.facts.labs import lab_values


def _notes(text: str, status: str = "active", verification: str = "confirmed"):
    cond = {
        "resourceType": "Condition",
        "id": "c1",
        "recordedDate": "2026-02-28",
        "clinicalStatus": {"coding": [{"code": status}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "code": {"text": "COVID-19 pneumonia"},
        "note": [{"text": text}],
    }
    return condition_notes([cond])


def _stated(text: str, key: str) -> bool:
    return any(n.states(key) for n in _notes(text))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Age 58, smoker, NLR 9.1: high risk of progression to severe respiratory failure.", True),
        ("Age 66: at risk of progressing to severe respiratory failure.", True),
        ("At risk of progression; suPAR 6.4 ng/mL.", False),  # names no respiratory failure
        ("Low risk of respiratory failure at present.", False),
        ("Not at risk of respiratory failure.", False),
        ("Not confirmed: high risk of progression to severe respiratory failure.", False),  # heading negates
    ],
)
def test_respiratory_failure_risk_statement(text, expected):
    assert _stated(text, "respiratory_failure_risk") is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Persistent fever despite IVIG 2 g/kg and IV methylprednisolone: refractory to IVIG and glucocorticoids.",
            True,
        ),
        ("Refractory to IVIG and steroids.", True),
        ("Persistent fever 36 h after IVIG. Glucocorticoids not yet given.", False),  # one sentence each, no failure
        ("Not refractory to IVIG and glucocorticoids.", False),
        ("Refractory to IVIG; glucocorticoids to start today.", False),
        (
            "Not confirmed: no persistent fever despite IVIG and methylprednisolone, refractory to IVIG and "
            "glucocorticoids.",
            False,
        ),
    ],
)
def test_ivig_glucocorticoid_refractory_statement(text, expected):
    assert _stated(text, "ivig_glucocorticoid_refractory") is expected


@pytest.mark.parametrize(
    "text, values",
    [
        ("suPAR 7.8 ng/mL (suPARnostic, 2026-03-01), elevated (>= 6 ng/mL).", [7.8]),
        ("Measured suPAR 3.2 ng/mL: below the 6 ng/mL EUA threshold, not elevated.", [3.2]),
        ("suPAR 9.1 ug/L on 2026-03-01.", [9.1]),
        ("suPAR pending.", []),
        ("? suPAR 7 ng/mL", []),
        ("Not confirmed: suPAR 7.8 ng/mL.", []),
        ("suPARnostic kit 7 ng/mL lot", []),  # the assay's name is not the result
        ("suPAR 7.8 mg/dL.", []),  # not a unit the EUA's cut-off uses
    ],
)
def test_stated_supar_values(text, values):
    found = [v.value for n in _notes(text) for v in n.values if v.kind == "supar"]
    assert found == values
    for n in _notes(text):
        for v in n.values:
            assert v.unit == "ng/mL" and v.source == "Condition/c1.note[0]" and v.observed_on == date(2026, 2, 28)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Intubated 2026-03-01 for hypoxemic respiratory failure; invasive mechanical ventilation, FiO2 0.7.", True),
        ("On BiPAP overnight.", True),
        ("At risk of intubation; on 4 L nasal cannula.", False),
        ("Extubated 2026-02-20, now on 2 L nasal cannula.", False),
        ("No mechanical ventilation.", False),
    ],
)
def test_ventilation_named_in_a_note(text, expected):
    assert ("ventilation" in _notes(text)[0].kinds) is expected


def test_refuted_conditions_are_not_read_and_status_is_kept():
    assert _notes("suPAR 7.8 ng/mL.", verification="refuted") == ()
    assert _notes("suPAR 7.8 ng/mL.", verification="entered-in-error") == ()
    assert _notes("suPAR 7.8 ng/mL.", status="resolved")[0].active is False


def test_lab_flag_and_reference_range_are_kept():
    obs = {
        "resourceType": "Observation",
        "id": "anc",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "effectiveDateTime": "2026-02-25",
        "valueQuantity": {"value": 1100, "unit": "/uL"},
        "referenceRange": [{"low": {"value": 1500, "unit": "/uL"}}],
        "interpretation": [{"coding": [{"code": "L"}]}],
    }
    (anc,) = lab_values([obs], date(2026, 3, 2))
    assert (anc.value, anc.unit, anc.flag, anc.ref_low) == (1.1, "10*3/uL", "L", 1.5)


def test_procedure_end_date_is_read():
    p = {
        "resourceType": "Procedure",
        "id": "v",
        "status": "completed",
        "code": {"text": "Invasive mechanical ventilation"},
        "performedPeriod": {"start": "2026-02-27T04:00:00Z", "end": "2026-03-01T09:00:00Z"},
    }
    (proc,) = procedures([p])
    assert proc.ended == date(2026, 3, 1) and "ventilation" in proc.kinds
