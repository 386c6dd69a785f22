"""An active medication that cannot be identified is never taken for "no conflicting drug".

`ra-complete` (covered) plus one active MedicationRequest whose medicationReference was not included in
the prefetch, has no display, and cannot be fetched (no fhirServer): it could be a TNF antagonist. Before
the fix the order was answered `covered`.
"""

from __future__ import annotations

import copy

from cds_service.app import create_app
from cds_service.config import demo_settings
from tests.conftest import load_request, pinned_clock
from tests.e2e.helpers import coverage_infos, determinations

UNNAMED = {
    "resourceType": "MedicationRequest",
    "id": "active-unnamed-med",
    "status": "active",
    "intent": "order",
    "medicationReference": {"reference": "Medication/med-not-included-9931"},
    "subject": {"reference": "Patient/ra-complete-pat"},
    "authoredOn": "2026-02-20",
    "dosageInstruction": [{"text": "40 mg subcutaneously every other week"}],
}


def _post(tmp_path, req: dict):
    app = create_app(
        demo_settings().with_overrides(var_dir=str(tmp_path / "var"), auth_enabled=False), clock=pinned_clock
    )
    client = app.test_client()
    return (
        client.post("/cds-services/anakinra-order-sign", json=req).get_json(),
        client.post("/explain/anakinra-order-sign", json=req).get_json(),
    )


def test_an_unidentifiable_active_medication_makes_the_order_conditional_not_covered(tmp_path):
    req = copy.deepcopy(load_request("ra-complete"))
    req.pop("fhirServer", None)
    req["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": UNNAMED})
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    info = coverage_infos(body)["MedicationRequest/ra-complete-draft"]
    assert info["info-needed"]  # what to send: the medication's name or code
    text = str(explained)
    assert "MedicationRequest/active-unnamed-med" in text
    assert "could be a drug this clause rules out" in text


def test_the_same_record_named_is_read_as_that_drug(tmp_path):
    req = copy.deepcopy(load_request("ra-complete"))
    req.pop("fhirServer", None)
    named = copy.deepcopy(UNNAMED)
    named["medicationReference"]["display"] = "Humira (adalimumab) 40 mg/0.4 mL pen"
    req["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": named})
    body, _ = _post(tmp_path, req)
    assert determinations(body) == ["not-covered"]  # an active TNF antagonist (initiation.4)


def test_a_medication_named_by_reference_is_read_from_the_ehr_and_identified(tmp_path):
    from tests.gather.recording_fhir import RecordingFhir

    humira = {
        "resourceType": "Medication",
        "id": "med-not-included-9931",
        "code": {
            "coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "327361", "display": "adalimumab"}
            ],
            "text": "Humira 40 mg/0.4 mL pen",
        },
    }
    req = copy.deepcopy(load_request("ra-complete"))
    req["prefetch"]["medicationRequests"].setdefault("entry", []).append({"resource": UNNAMED})
    with RecordingFhir([humira]) as fhir:
        req["fhirServer"] = fhir.url
        app = create_app(
            demo_settings().with_overrides(var_dir=str(tmp_path / "var"), auth_enabled=False, fhir_allow=(fhir.url,)),
            clock=pinned_clock,
        )
        body = app.test_client().post("/cds-services/anakinra-order-sign", json=req).get_json()
        assert "/fhir/Medication/med-not-included-9931" in fhir.paths()
    assert determinations(body) == ["not-covered"]  # the active adalimumab, read by reference


def test_another_draft_order_naming_no_identifiable_drug_is_unidentified_too(tmp_path):
    """Signed together with the anakinra order, it could be a biologic started at the same time."""
    req = copy.deepcopy(load_request("ra-complete"))
    req.pop("fhirServer", None)
    co_draft = {
        "resourceType": "MedicationRequest",
        "id": "co-draft-unnamed",
        "status": "draft",
        "intent": "order",
        "medicationReference": {"reference": "Medication/not-in-prefetch-77"},
        "subject": {"reference": "Patient/ra-complete-pat"},
        "authoredOn": "2026-03-02",
    }
    req["context"]["draftOrders"]["entry"].append({"resource": co_draft})
    body, explained = _post(tmp_path, req)
    assert determinations(body) == ["conditional"]
    assert "MedicationRequest/co-draft-unnamed" in str(explained)
