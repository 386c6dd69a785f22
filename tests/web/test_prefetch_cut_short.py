"""A prefetched medication list cut short by the EHR (its `total` counts more matches than it holds, and it
links to no next page) must never yield `covered`: absence in it proves nothing. With a FHIR server the rest
is read; a biologic found there decides."""

from __future__ import annotations

import copy

from cds_service.app import create_app
from tests.conftest import load_request, pinned_clock
from tests.e2e.helpers import coverage_infos
from tests.gather.recording_fhir import RecordingFhir, chart_resources

PATH = "/cds-services/anakinra-order-sign"


def _cut_short(req: dict) -> dict:
    bundle = req["prefetch"]["medicationRequests"]
    bundle["total"] = len(bundle["entry"]) + 1
    bundle.pop("link", None)
    return req


def _humira_for(patient_ref: str) -> dict:
    """ra-on-humira's active adalimumab order, as the ra-complete patient's: the one match the EHR left out."""
    src = load_request("ra-on-humira")["prefetch"]["medicationRequests"]["entry"]
    mr = copy.deepcopy(next(e["resource"] for e in src if e["resource"]["id"] == "ra-on-humira-mr-humira"))
    mr["id"] = "ra-complete-mr-humira-current"
    mr["subject"] = {"reference": patient_ref}
    mr["authoredOn"] = "2026-02-01"
    return mr


def _covered(body: dict) -> list[str]:
    return next(iter(coverage_infos(body).values()))["covered"]


def test_the_complete_chart_is_covered(client):
    """The control: ra-complete, prefetch complete, no FHIR server needed."""
    req = load_request("ra-complete")
    req.pop("fhirServer", None)
    assert _covered(client.post(PATH, json=req).get_json()) == ["covered"]


def test_cut_short_without_a_fhir_server_is_not_covered(client):
    req = _cut_short(load_request("ra-complete"))
    req.pop("fhirServer", None)
    body = client.post(PATH, json=req).get_json()
    assert _covered(body) != ["covered"]
    text = str(body)
    assert "medicationRequests" in text and "no next page" in text  # the reason is given, not guessed


def test_cut_short_with_a_fhir_server_reads_the_rest_and_the_biologic_found_decides(settings):
    req = _cut_short(load_request("ra-complete"))
    humira = _humira_for("Patient/" + req["context"]["patientId"])
    with RecordingFhir([*chart_resources(req), humira]) as fhir:
        req["fhirServer"] = fhir.url
        app = create_app(settings.with_overrides(fhir_allow=(fhir.url,)), clock=pinned_clock)
        body = app.test_client().post(PATH, json=req).get_json()
        assert any(p.startswith("/fhir/MedicationRequest?") for p in fhir.paths())
    assert _covered(body) == ["not-covered"]
    assert "adalimumab" in str(body).lower() or "humira" in str(body).lower()
