"""Issue 17, classes 2, 7 and 12: medication history, combinations and unread data, as a payer pharmacist
would test them, with charts written from the guideline's words (09-J0000-45):

- initiation.1.a: "The member has been treated with anakinra (starting on samples is not approvable) within
  the past 90 days";
- initiation.4: "Member will NOT be using anakinra in combination with another biologic immunomodulator agent
  ...; Janus kinase (JAK) inhibitor [... Opzelura (ruxolitinib) ...]; Otezla/Otezla XR (apremilast); ...";
- design: "Data that could not be read (failed, refused, cut short, over budget) is UNKNOWN, never 'none found'".

Each chart starts from a fixture request and adds the records a real chart would hold. Before the fixes the
first test of each class was answered `covered` (or `not-covered` critical for the conflicting records).
"""

from __future__ import annotations

import copy
import json

import pytest

from cds_service.app import create_app
from cds_service.config import demo_settings
from tests.conftest import load_request, pinned_clock
from tests.e2e.helpers import card_kinds, clause_outcomes, coverage_infos, determinations
from tests.gather.recording_fhir import RecordingFhir

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _app(tmp_path, **overrides):
    return create_app(
        demo_settings().with_overrides(var_dir=str(tmp_path / "var"), auth_enabled=False, **overrides),
        clock=pinned_clock,
    )


def _post(tmp_path, req: dict, **overrides):
    client = _app(tmp_path, **overrides).test_client()
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    explained = client.post("/explain/anakinra-order-sign", json=req).get_json()
    return body, explained


def _request(slug: str) -> dict:
    req = copy.deepcopy(load_request(slug))
    req.pop("fhirServer", None)
    return req


def _add(req: dict, key: str, resource: dict) -> None:
    bundle = req["prefetch"][key]
    bundle.setdefault("entry", []).append({"resource": resource})
    if isinstance(bundle.get("total"), int):
        bundle["total"] += 1


def _kineret(pid: str) -> dict:
    return {
        "coding": [{"system": RXNORM, "code": "727711", "display": "0.67 ML anakinra 149 MG/ML Prefilled Syringe"}],
        "text": "Kineret 100 mg/0.67 mL prefilled syringe",
    }


def _dispense(pid: str, rid: str, when: str, *, type_: dict | None = None, note: str | None = None) -> dict:
    res = {
        "resourceType": "MedicationDispense",
        "id": rid,
        "status": "completed",
        "medicationCodeableConcept": _kineret(pid),
        "subject": {"reference": f"Patient/{pid}"},
        "quantity": {"value": 28, "unit": "syringe"},
        "daysSupply": {"value": 28, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        "whenHandedOver": when,
    }
    if type_ is not None:
        res["type"] = type_
    if note:
        res["note"] = [{"text": note}]
    return res


# ---------------------------------------------------------------------------------------------- class 2

MP = "ra-missing-preferred-pat"  # RA, methotrexate and Humira only: step therapy not met (conditional)


def test_a_dispense_coded_as_a_manufacturer_sample_is_not_treatment_that_counts(tmp_path):
    """v3 ActCode MS, code only (no display, no word 'sample'): before the fix 1.a was met and the order covered."""
    req = _request("ra-missing-preferred")
    _add(
        req,
        "medicationDispenses",
        _dispense(MP, "kin-ms", "2026-02-01", type_={"coding": [{"system": V3, "code": "MS"}]}),
    )
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    assert clause_outcomes(explained)["initiation.1.a"] == "not-met"
    assert "manufacturer sample (v3 ActCode MS)" in json.dumps(explained)


@pytest.mark.parametrize(
    "type_, note",
    [
        ({"coding": [{"system": V3, "code": "TF", "display": "Trial Fill"}]}, None),
        ({"text": "Starter kit from the manufacturer"}, None),
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0484", "code": "S"}]}, None),
        (None, "Free drug from the manufacturer's patient assistance program; 2 syringes handed over in clinic"),
    ],
)
def test_trial_starter_and_free_supplies_do_not_count_either(tmp_path, type_, note):
    req = _request("ra-missing-preferred")
    _add(req, "medicationDispenses", _dispense(MP, "kin-free", "2026-02-01", type_=type_, note=note))
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    assert clause_outcomes(explained)["initiation.1.a"] == "not-met"


def test_near_miss_a_refill_noted_not_a_sample_counts(tmp_path):
    """Looks like a sample by its words, is not: a pharmacy refill whose note says 'not a sample'."""
    req = _request("ra-missing-preferred")
    _add(
        req,
        "medicationDispenses",
        _dispense(
            MP,
            "kin-rf",
            "2026-02-01",
            type_={"coding": [{"system": V3, "code": "RF", "display": "Refill"}]},
            note="Specialty pharmacy refill, not a sample.",
        ),
    )
    body, explained = _post(tmp_path, req)
    assert clause_outcomes(explained)["initiation.1.a"] == "met"
    assert determinations(body) == ["covered"]


def _continuing(req: dict) -> None:
    """An active MedicationStatement since two months and the MedicationRequest before it; no dispense."""
    _add(
        req,
        "medicationStatements",
        {
            "resourceType": "MedicationStatement",
            "id": "kin-ms-active",
            "status": "active",
            "medicationCodeableConcept": _kineret(MP),
            "subject": {"reference": f"Patient/{MP}"},
            "effectivePeriod": {"start": "2026-01-02"},
            "dateAsserted": "2026-02-20",
            "dosage": [{"text": "100 mg subcutaneously once daily"}],
        },
    )
    _add(
        req,
        "medicationRequests",
        {
            "resourceType": "MedicationRequest",
            "id": "kin-mr-earlier",
            "status": "completed",
            "intent": "order",
            "medicationCodeableConcept": _kineret(MP),
            "subject": {"reference": f"Patient/{MP}"},
            "authoredOn": "2025-12-29",
            "dosageInstruction": [{"text": "100 mg subcutaneously once daily"}],
            "dispenseRequest": {
                "validityPeriod": {"start": "2025-12-29", "end": "2026-01-28"},
                "expectedSupplyDuration": {"value": 28, "unit": "days", "code": "d"},
            },
        },
    )


def test_continuing_therapy_without_a_dispense_is_unknown_and_the_card_leads_with_confirming_it(tmp_path):
    """Before the fix: 1.a not met ("no dispense"), and the first card asked for step therapy."""
    req = _request("ra-missing-preferred")
    _continuing(req)
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    assert clause_outcomes(explained)["initiation.1.a"] == "unknown"
    kinds = card_kinds(body)
    assert kinds[0] == "continuing-therapy", kinds
    assert "step-therapy" in kinds and kinds.index("step-therapy") > 0
    first = body["cards"][0]
    assert "not samples" in first["summary"] and "initiation.1.b" in first["detail"]


def test_a_pharmacy_dispense_rules_out_samples(tmp_path):
    """The same chart with the pharmacy's first fill: treated within 90 days, covered."""
    req = _request("ra-missing-preferred")
    _continuing(req)
    _add(
        req,
        "medicationDispenses",
        _dispense(
            MP, "kin-ff", "2026-02-10", type_={"coding": [{"system": V3, "code": "FF", "display": "First Fill"}]}
        ),
    )
    body, explained = _post(tmp_path, req)
    assert clause_outcomes(explained)["initiation.1.a"] == "met"
    assert determinations(body) == ["covered"]


# ---------------------------------------------------------------------------------------------- class 7

RC = "ra-complete-pat"  # meets every clause: covered


def _statement(rid: str, concept: dict, status: str = "active", start: str = "2025-11-03", **extra) -> dict:
    res = {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{RC}"},
        "effectivePeriod": {"start": start},
        "dateAsserted": "2026-02-20",
    }
    res.update(extra)
    return res


@pytest.mark.parametrize(
    "concept",
    [
        {"coding": [{"system": RXNORM, "code": "1193326", "display": "ruxolitinib"}]},  # the ingredient code only
        {
            "coding": [{"system": RXNORM, "code": "9990001"}],
            "text": "ruxolitinib 15 MG/GM Topical Cream",
        },  # unknown code, generic name
        {"text": "Opzelura 1.5% cream, apply to vitiligo patches twice daily"},
        {"text": "Jakafi 10 mg tablet"},  # oral: readings.jak_inhibitor_class
    ],
)
def test_ruxolitinib_in_every_form_is_a_jak_inhibitor(tmp_path, concept):
    req = _request("ra-complete")
    _add(req, "medicationStatements", _statement("rux", concept))
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["not-covered"]
    assert clause_outcomes(explained)["initiation.4"] == "not-met"


@pytest.mark.parametrize(
    "resource",
    [
        _statement("otezla-next-week", {"text": "Otezla XR 75 mg tablet"}, status="intended", start="2026-03-09"),
        _statement("sotyktu-on-hold", {"text": "Sotyktu (deucravacitinib) 6 mg"}, status="on-hold"),
        {
            "resourceType": "MedicationRequest",
            "id": "zeposia-plan",
            "status": "active",
            "intent": "plan",
            "medicationCodeableConcept": {"text": "ozanimod 0.92 MG Oral Capsule"},
            "subject": {"reference": f"Patient/{RC}"},
            "authoredOn": "2026-02-25",
        },
        _statement("litfulo", {"text": "Litfulo 50 mg capsule"}),
        _statement("leqselvi", {"text": "deuruxolitinib 8 mg"}),
        _statement("cibinqo", {"text": "CIBINQO 100 mg"}),
        _statement("velsipity", {"text": "etrasimod 2 mg"}),
    ],
)
def test_current_intended_and_on_hold_use_of_every_named_class_counts(tmp_path, resource):
    req = _request("ra-complete")
    _add(
        req,
        "medicationRequests" if resource["resourceType"] == "MedicationRequest" else "medicationStatements",
        resource,
    )
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["not-covered"]
    assert clause_outcomes(explained)["initiation.4"] == "not-met"


def test_near_miss_a_stopped_jak_inhibitor_does_not_count(tmp_path):
    req = _request("ra-complete")
    _add(
        req,
        "medicationStatements",
        _statement(
            "opz-stopped",
            {"text": "Opzelura 1.5% cream"},
            status="stopped",
            effectivePeriod={"start": "2025-01-01", "end": "2025-06-30"},
        ),
    )
    body, _ = _post(tmp_path, req)
    assert determinations(body) == ["covered"]


def _stale_humira_request(valid_until: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "humira-still-active",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "327361", "display": "adalimumab"}],
            "text": "Humira 40 mg/0.4 mL pen",
        },
        "subject": {"reference": f"Patient/{RC}"},
        "authoredOn": "2024-07-22",
        "dispenseRequest": {"validityPeriod": {"start": "2024-07-22", "end": valid_until}},
    }


def test_conflicting_records_ask_to_confirm_and_are_not_a_critical_do_not_combine(tmp_path):
    """An active Humira order whose validity ended in 2025 and the statement that Humira was stopped: before the
    fix, not-covered with a critical 'do not combine' card."""
    req = _request("ra-complete")
    _add(req, "medicationRequests", _stale_humira_request("2025-07-21"))
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    outcomes = clause_outcomes(explained)
    assert outcomes["initiation.4"] == "unknown" and outcomes["precautions.tnf"] == "unknown"
    assert not any(c["indicator"] == "critical" for c in body["cards"])
    assert "combination-confirm" in card_kinds(body)


def test_near_miss_an_active_order_still_valid_is_a_conflict(tmp_path):
    """The same order still valid, and no statement after it says stopped: a combination (critical)."""
    req = _request("ra-complete")
    for key in ("medicationStatements", "medicationRequests"):
        req["prefetch"][key]["entry"] = [
            e for e in req["prefetch"][key]["entry"] if "humira" not in e["resource"]["id"]
        ]
    _add(req, "medicationRequests", _stale_humira_request("2026-07-21"))
    body, _explained = _post(tmp_path, req)
    assert determinations(body) == ["not-covered"]
    assert any(c["indicator"] == "critical" for c in body["cards"])


# --------------------------------------------------------------------------------------------- class 12

HUMIRA_FILL = {
    "resourceType": "MedicationDispense",
    "id": "humira-fill",
    "status": "completed",
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "code": "327361", "display": "adalimumab"}],
        "text": "Humira 40 mg/0.4 mL pen",
    },
    "subject": {"reference": f"Patient/{RC}"},
    "whenHandedOver": "2026-02-16",
    "daysSupply": {"value": 28, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
}


@pytest.mark.parametrize(
    "refused, expected",
    [
        (("MedicationDispense",), "conditional"),  # before the fix: covered, approval issued
        ((), "not-covered"),  # the dispenses readable: the adalimumab fill is found
    ],
)
def test_dispenses_the_ehr_refuses_to_give_are_not_taken_as_none(tmp_path, refused, expected):
    req = copy.deepcopy(load_request("ra-complete"))
    req["prefetch"].pop("medicationDispenses")
    with RecordingFhir([HUMIRA_FILL], refused=refused) as ehr:
        req["fhirServer"] = ehr.url
        body, explained = _post(tmp_path, req, fhir_allow=(ehr.url,))
        assert any("/fhir/MedicationDispense" in r["path"] for r in ehr.requests)
    assert determinations(body) == [expected]
    info = coverage_infos(body)["MedicationRequest/ra-complete-draft"]
    assert not info.get("satisfied-pa-id")
    outcomes = clause_outcomes(explained)
    if refused:
        assert outcomes["initiation.4"] == "unknown" and outcomes["precautions.tnf"] == "unknown"
        assert "dispensing records (MedicationDispense)" in json.dumps(body)  # the answer names what was missing
    else:
        assert outcomes["initiation.4"] == "not-met"
        assert any(c["indicator"] == "critical" for c in body["cards"])


@pytest.mark.parametrize("key", ["medicationAdministrations", "medicationStatements"])
def test_any_medication_list_cut_short_makes_the_combination_clauses_unknown(tmp_path, key):
    """A prefetched Bundle whose `total` counts more matches than it holds (and no next page)."""
    req = _request("ra-complete")
    bundle = req["prefetch"][key]
    bundle["total"] = len(bundle.get("entry", [])) + 3
    body, explained = _post(tmp_path, req)
    assert determinations(body) != ["covered"]
    outcomes = clause_outcomes(explained)
    assert outcomes["initiation.4"] == "unknown" and outcomes["precautions.tnf"] == "unknown"
