"""The medication history reader (issue 17, classes 2 and 7): supplies that are samples, planned use,
records whose current use is in doubt. Charts are synthetic; dates are relative to the pinned 2026-03-02."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.facts.medication import therapy_history
from cds_service.facts.terminology.codes import drug_classes, drug_for_code
from cds_service.facts.terminology.names import drug_for_name

AS_OF = date(2026, 3, 2)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
KINERET = {"coding": [{"system": RXNORM, "code": "727711"}], "text": "Kineret 100 mg/0.67 mL"}


def _read(*resources):
    by_type: dict[str, list] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    planned: list = []
    unidentified: list = []
    history = therapy_history(by_type, lambda ref: None, AS_OF, unidentified, planned)
    return history, planned, unidentified


def _dispense(type_=None, note=None, rid="d1"):
    res = {
        "resourceType": "MedicationDispense",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": KINERET,
        "whenHandedOver": "2026-02-01",
        "daysSupply": {"value": 28, "unit": "d"},
    }
    if type_ is not None:
        res["type"] = type_
    if note is not None:
        res["note"] = [{"text": note}]
    return res


@pytest.mark.parametrize(
    "type_, note, sample",
    [
        ({"coding": [{"system": V3, "code": "MS"}]}, None, True),  # coded only, no word "sample"
        ({"coding": [{"system": V3, "code": "TF"}]}, None, True),
        ({"coding": [{"system": V3, "code": "TFS"}]}, None, True),
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0484", "code": "T"}]}, None, True),
        ({"text": "manufacturer starter pack"}, None, True),
        (None, "Samples given in clinic while the PA is pending", True),
        (None, "free drug program supply", True),
        ({"coding": [{"system": V3, "code": "RF"}]}, None, False),
        ({"coding": [{"system": V3, "code": "TB", "display": "Trial Balance"}]}, None, False),  # the paid balance
        ({"coding": [{"system": V3, "code": "FF"}]}, "Not a sample: dispensed by the specialty pharmacy", False),
        (None, "No samples were used", False),
        (None, None, False),
    ],
)
def test_samples_are_read_from_the_dispense_type_code_and_unnegated_words(type_, note, sample):
    history, _, _ = _read(_dispense(type_, note))
    (span,) = history
    assert span.is_sample is sample
    assert bool(span.supply) is sample


def test_an_intended_statement_is_planned_use_and_no_history():
    st = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "intended",
        "medicationCodeableConcept": {"text": "Otezla 30 mg"},
        "effectivePeriod": {"start": "2026-03-09"},
    }
    history, planned, _ = _read(st)
    assert history == ()
    assert [(s.drug, s.source) for s in planned] == [("apremilast", "MedicationStatement/s1")]


def test_a_plan_request_is_planned_use_and_no_history():
    mr = {
        "resourceType": "MedicationRequest",
        "id": "r1",
        "status": "active",
        "intent": "plan",
        "medicationCodeableConcept": {"text": "Zeposia 0.92 mg"},
        "authoredOn": "2026-02-20",
    }
    history, planned, _ = _read(mr)
    assert history == () and [s.drug for s in planned] == ["ozanimod"]


def test_an_active_statement_starting_after_the_order_is_planned_too():
    st = {
        "resourceType": "MedicationStatement",
        "id": "s2",
        "status": "active",
        "medicationCodeableConcept": {"text": "Rinvoq 15 mg"},
        "effectivePeriod": {"start": "2026-04-01"},
    }
    history, planned, _ = _read(st)
    assert [s.drug for s in planned] == ["upadacitinib"]
    assert len(history) == 1 and not history[0].active


def test_an_unidentifiable_planned_record_is_unidentified():
    st = {
        "resourceType": "MedicationStatement",
        "id": "s3",
        "status": "intended",
        "medicationReference": {"reference": "Medication/not-here"},
    }
    _, _, unidentified = _read(st)
    assert unidentified == ["MedicationStatement/s3"]


def test_an_active_order_past_its_validity_is_in_doubt():
    mr = {
        "resourceType": "MedicationRequest",
        "id": "r2",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Humira 40 mg pen"},
        "authoredOn": "2025-01-10",
        "dispenseRequest": {"validityPeriod": {"start": "2025-01-10", "end": "2026-01-09"}},
    }
    (span,), _, _ = _read(mr)
    assert span.active and "validity period ended on 2026-01-09" in span.doubt


def test_an_active_order_contradicted_by_a_later_stopped_statement_is_in_doubt():
    mr = {
        "resourceType": "MedicationRequest",
        "id": "r3",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Enbrel 50 mg"},
        "authoredOn": "2025-06-01",
    }
    st = {
        "resourceType": "MedicationStatement",
        "id": "s4",
        "status": "stopped",
        "medicationCodeableConcept": {"text": "Enbrel 50 mg"},
        "effectivePeriod": {"start": "2025-06-01", "end": "2025-12-15"},
    }
    history, _, _ = _read(mr, st)
    active = [s for s in history if s.active]
    assert len(active) == 1 and "MedicationStatement/s4 says it was stopped on 2025-12-15" in active[0].doubt


def test_near_miss_a_restart_after_the_stop_is_not_in_doubt():
    mr = {
        "resourceType": "MedicationRequest",
        "id": "r4",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Enbrel 50 mg"},
        "authoredOn": "2026-01-20",
    }
    st = {
        "resourceType": "MedicationStatement",
        "id": "s5",
        "status": "stopped",
        "medicationCodeableConcept": {"text": "Enbrel 50 mg"},
        "effectivePeriod": {"start": "2025-06-01", "end": "2025-12-15"},
    }
    history, _, _ = _read(mr, st)
    assert [s.doubt for s in history if s.active] == [""]


@pytest.mark.parametrize(
    "system, code, text, drug",
    [
        (RXNORM, "1193326", None, "ruxolitinib"),
        (RXNORM, "1193339", None, "ruxolitinib"),  # oral tablet SCD: readings.jak_inhibitor_class
        (None, None, "ruxolitinib phosphate 1.5% topical cream", "ruxolitinib"),
        (None, None, "OPZELURA", "ruxolitinib"),
        (None, None, "Rinvoq LQ 1 mg/mL oral solution", "upadacitinib"),
        (None, None, "Xeljanz XR 11 mg", "tofacitinib"),
        (None, None, "Otezla XR 75 mg", "apremilast"),
        (None, None, "Cibinquo 100 mg", "abrocitinib"),
        (None, None, "Gilenya 0.5 mg", "fingolimod"),
    ],
)
def test_every_product_of_the_named_classes_is_recognised(system, code, text, drug):
    found = drug_for_code(system, code) if code else drug_for_name(text)
    assert found == drug
    assert drug_classes(found) & {"jak", "pde4", "tyk2", "s1p"}


def _mtx_statement(note=None, reason=None, dose_text="Take 10 mg (4 tablets) by mouth once weekly", rid="m1"):
    res = {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "stopped",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6851"}], "text": "Methotrexate 2.5 mg"},
        "effectivePeriod": {"start": "2025-03-03", "end": "2025-10-06"},
        "dosage": [
            {
                "text": dose_text,
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
                "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}],
            }
        ],
    }
    if note is not None:
        res["note"] = [{"text": note}]
    if reason is not None:
        res["statusReason"] = [{"text": reason}]
    return res


@pytest.mark.parametrize(
    "note, reason, limited",
    [
        ("Methotrexate 10 mg weekly; active synovitis persists (CDAI 24).", "Inadequate response", False),
        ("10 mg weekly was her maximum tolerated dose (nausea at 15 mg).", "Inadequate response", True),
        ("Unable to titrate above 10 mg because of persistent nausea.", None, True),
        ("Transaminases 3x ULN at 15 mg, reduced to 10 mg.", None, True),
        ("Kept at 10 mg because of CKD stage 3b.", "Inadequate response", True),
        ("Not at the maximally tolerated dose; titration planned.", "Inadequate response", False),  # negated
        ("No nausea at 15 mg; patient preferred 10 mg.", "Inadequate response", False),  # negated
        ("Kept at 10 mg.", "Inadequate response", False),  # no reason given
    ],
)
def test_methotrexate_dose_limit_is_read_by_meaning(note, reason, limited):
    """Table 1 RA 1.a: "maximally tolerated methotrexate (e.g., titrated to 25 mg weekly)": the record's words that
    say why the dose stayed below the target, read with the negation reader."""
    [mtx], _, _ = _read(_mtx_statement(note, reason))
    assert mtx.mg_per_week == 10
    assert bool(mtx.dose_limit) is limited
