"""A FHIR search cut short at the page limit is incomplete data, never "nothing more on file".

The chart is `ra-complete` (covered with full prefetch), read from a loopback FHIR server with no
prefetch. Its MedicationRequest search also returns 30 older, finished prescriptions and, last, an
active adalimumab (a TNF antagonist: `initiation.4` and `precautions.tnf` are not met). With a page
size of 10 and a limit of 2 pages, the adalimumab is on a page the service does not read. Before the
fix the order was answered `covered`; now the cut search is a technical error and the order is
`indeterminate`. With enough pages the adalimumab is read and the order is not covered.
"""

from __future__ import annotations

import copy

from cds_service.app import create_app
from cds_service.config import demo_settings
from tests.conftest import load_request, pinned_clock
from tests.e2e.helpers import coverage_infos, determinations
from tests.gather.recording_fhir import RecordingFhir, chart_resources

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PATIENT = "Patient/ra-complete-pat"


def _finished(i: int) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": f"old-rx-{i:02d}",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "197806", "display": "ibuprofen 600 MG Oral Tablet"}],
            "text": "ibuprofen 600 mg tablet",
        },
        "subject": {"reference": PATIENT},
        "authoredOn": f"20{10 + i // 12:02d}-{i % 12 + 1:02d}-15",
        "dosageInstruction": [{"text": "600 mg by mouth every 8 hours as needed"}],
    }


ADALIMUMAB = {
    "resourceType": "MedicationRequest",
    "id": "active-adalimumab",
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": RXNORM, "code": "327361", "display": "adalimumab"}],
        "text": "Humira (adalimumab) 40 mg/0.4 mL pen",
    },
    "subject": {"reference": PATIENT},
    "authoredOn": "2026-02-20",
    "dosageInstruction": [{"text": "40 mg subcutaneously every other week"}],
}


def _call(tmp_path, max_pages: int):
    req = copy.deepcopy(load_request("ra-complete"))
    served = chart_resources(req) + [_finished(i) for i in range(30)] + [ADALIMUMAB]
    with RecordingFhir(served, page_size=10) as fhir:
        settings = demo_settings().with_overrides(
            var_dir=str(tmp_path / f"var{max_pages}"),
            auth_enabled=False,
            fhir_allow=(fhir.url,),
            fhir_max_pages=max_pages,
        )
        app = create_app(settings, clock=pinned_clock)
        req.pop("prefetch")
        req["fhirServer"] = fhir.url
        client = app.test_client()
        body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
        explained = client.post("/explain/anakinra-order-sign", json=req).get_json()
        pages = [p for p in fhir.paths() if p.startswith("/fhir/MedicationRequest")]
    return body, explained, pages


def test_a_search_cut_at_the_page_limit_is_never_taken_as_the_whole_list(tmp_path):
    body, explained, pages = _call(tmp_path, max_pages=2)
    assert len(pages) == 2 * 2  # hook and explanation: 2 pages each, 4 were there
    assert determinations(body) == ["indeterminate"]
    info = coverage_infos(body)["MedicationRequest/ra-complete-draft"]
    technical = [r for r in info["reason"] if any(c["code"] == "technical" for c in r.get("coding", []))]
    assert technical and "page limit" in technical[0]["text"]
    assert "medicationRequests" in explained["unavailable"]
    assert any("medicationRequests" in e and "page limit" in e for e in explained["technicalErrors"])


def test_with_enough_pages_the_active_tnf_antagonist_is_read(tmp_path):
    body, explained, pages = _call(tmp_path, max_pages=10)
    assert len(pages) == 2 * 4
    assert determinations(body) == ["not-covered"]
    assert not explained.get("technicalErrors")
