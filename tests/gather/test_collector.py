"""Gathering: prefetch first, the FHIR server for what is absent or an OperationOutcome, 412 only
when required data can be had from neither."""

from __future__ import annotations

import logging

import pytest

from cds_service.config import demo_settings
from cds_service.gather.collector import DataUnavailable, collect
from cds_service.protocol.request import parse_hook_request
from tests.conftest import load_request
from tests.gather.recording_fhir import RecordingFhir, chart_resources


def make(req: dict):
    return parse_hook_request(req, req["hook"])


def test_full_prefetch_needs_no_server():
    req = load_request("ra-complete")
    req.pop("fhirServer", None)
    record = collect(make(req), demo_settings())
    assert record.of("Patient") and record.of("MedicationStatement")
    assert not record.unavailable and not record.technical_errors


def test_absent_required_key_without_server_is_412():
    req = load_request("ra-complete")
    req.pop("fhirServer", None)
    del req["prefetch"]["conditions"]
    with pytest.raises(DataUnavailable) as info:
        collect(make(req), demo_settings())
    assert info.value.keys == ["conditions"]


def test_absent_optional_key_without_server_is_only_unavailable():
    req = load_request("ra-complete")
    req.pop("fhirServer", None)
    del req["prefetch"]["immunizations"]
    record = collect(make(req), demo_settings())
    assert record.unavailable == {"immunizations"}


def test_null_means_no_data_and_is_not_fetched():
    req = load_request("ra-complete")
    with RecordingFhir(chart_resources(req)) as fhir:
        req["fhirServer"] = fhir.url
        req["prefetch"]["allergies"] = None
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
        assert fhir.paths() == []
    assert record.sources["allergies"] == "null" and not record.of("AllergyIntolerance")


def test_absent_and_operation_outcome_keys_are_fetched_with_the_token(caplog):
    req = load_request("ra-complete")
    expected_conditions = len(req["prefetch"]["conditions"]["entry"])
    with RecordingFhir(chart_resources(req), page_size=2) as fhir:
        req["fhirServer"] = fhir.url
        req["fhirAuthorization"] = {
            "access_token": "tok-SECRET-42",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "anakinra-cds",
        }
        del req["prefetch"]["conditions"]
        req["prefetch"]["medicationStatements"] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout"}],
        }
        caplog.set_level(logging.DEBUG)
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
        paths = fhir.paths()
        headers = [r["headers"] for r in fhir.requests]
    assert any(p.startswith("/fhir/Condition?patient=") for p in paths)
    assert any(p.startswith("/fhir/MedicationStatement?patient=") for p in paths)
    assert any("_page=2" in p for p in paths)  # paging followed
    assert all(h.get("Authorization") == "Bearer tok-SECRET-42" for h in headers)
    assert len(record.of("Condition")) == expected_conditions
    assert record.sources["conditions"] == "fhir"
    assert "tok-SECRET-42" not in caplog.text


def test_paged_prefetch_bundle_is_followed():
    req = load_request("ra-complete")
    extra = {"resourceType": "Condition", "id": "extra-page-cond", "subject": {"reference": "Patient/x"}}
    with RecordingFhir([extra]) as fhir:
        req["fhirServer"] = fhir.url
        req["prefetch"]["conditions"]["link"] = [{"relation": "next", "url": f"{fhir.url}/Condition?_page=1"}]
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
    assert "extra-page-cond" in {c["id"] for c in record.of("Condition")}


def test_server_not_on_allow_list_is_a_technical_failure_without_connection():
    req = load_request("ra-complete")
    with RecordingFhir(chart_resources(req)) as fhir:
        req["fhirServer"] = fhir.url
        del req["prefetch"]["conditions"]
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=("http://127.0.0.1:1/fhir",)))
        assert fhir.paths() == []
    assert "conditions" in record.unavailable
    assert record.technical_errors


def _conditions(n: int) -> list[dict]:
    return [
        {
            "resourceType": "Condition",
            "id": f"cond-{i}",
            "subject": {"reference": "Patient/ra-complete-pat"},
            "code": {"text": f"condition {i}"},
        }
        for i in range(n)
    ]


def _conditions_read(conditions: int, page_size: int = 2, max_pages: int = 3):
    """ra-complete with its conditions searched on a server holding `conditions` of them."""
    req = load_request("ra-complete")
    with RecordingFhir(_conditions(conditions), page_size=page_size) as fhir:
        req["fhirServer"] = fhir.url
        del req["prefetch"]["conditions"]
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,), fhir_max_pages=max_pages))
        read = [p for p in fhir.paths() if p.startswith("/fhir/Condition")]
    return record, read, fhir


def test_a_search_cut_at_the_page_limit_keeps_what_it_read_but_is_unavailable():
    record, read, fhir = _conditions_read(7)
    assert len(read) == 3  # 4 pages were there
    assert sorted(c["id"] for c in record.of("Condition")) == [f"cond-{i}" for i in range(6)]
    assert record.unavailable == {"conditions"}
    assert record.technical_errors == [
        f"conditions: Condition request to 127.0.0.1:{fhir.url.split(':')[2].split('/')[0]}: stopped at the "
        "page limit (3 pages, CDS_FHIR_MAX_PAGES); later pages were not read"
    ]


def test_a_complete_search_on_the_last_allowed_page_is_not_cut():
    record, read, _ = _conditions_read(6)
    assert len(read) == 3 and len(record.of("Condition")) == 6
    assert not record.unavailable and not record.technical_errors


def test_a_paged_prefetch_bundle_cut_at_the_page_limit_is_unavailable_too():
    req = load_request("ra-complete")
    prefetched = {e["resource"]["id"] for e in req["prefetch"]["conditions"]["entry"]}
    with RecordingFhir(_conditions(5), page_size=1) as fhir:
        req["fhirServer"] = fhir.url
        req["prefetch"]["conditions"]["link"] = [{"relation": "next", "url": f"{fhir.url}/Condition?_page=1"}]
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,), fhir_max_pages=2))
    ids = {c["id"] for c in record.of("Condition")}
    assert prefetched and ids == prefetched | {"cond-0"}  # the bundle and one page: 2 pages
    assert record.unavailable == {"conditions"}
    assert any(e.startswith("conditions: ") and "page limit" in e for e in record.technical_errors)


# -- Medications named by reference but not included --------------------------------------------------


def _with_referenced_medication(req: dict, ref: str) -> dict:
    req["prefetch"]["medicationRequests"].setdefault("entry", []).append(
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "rx-by-reference",
                "status": "active",
                "intent": "order",
                "medicationReference": {"reference": ref},
                "subject": {"reference": "Patient/ra-complete-pat"},
                "authoredOn": "2026-02-20",
            }
        }
    )
    return req


ADALIMUMAB_MED = {
    "resourceType": "Medication",
    "id": "med-ada-1",
    "code": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "327361", "display": "adalimumab"}]
    },
}


def test_a_medication_named_by_reference_is_read_from_the_fhir_server_with_full_prefetch():
    req = _with_referenced_medication(load_request("ra-complete"), "Medication/med-ada-1")
    with RecordingFhir([ADALIMUMAB_MED]) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
        paths = fhir.paths()
    assert paths == ["/fhir/Medication/med-ada-1"]  # nothing else: the rest was prefetched
    assert record.get("Medication/med-ada-1") == ADALIMUMAB_MED
    assert not record.technical_errors and not record.unavailable


def test_a_medication_that_cannot_be_read_stays_unresolved_with_a_technical_note():
    req = _with_referenced_medication(load_request("ra-complete"), "Medication/not-there")
    with RecordingFhir([]) as fhir:  # 404
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
    assert record.get("Medication/not-there") is None
    assert not record.technical_errors  # 404: simply not there


def test_medication_reads_are_bounded_per_call():
    from cds_service.gather.collector import MAX_MEDICATION_READS

    req = load_request("ra-complete")
    for i in range(MAX_MEDICATION_READS + 5):
        _with_referenced_medication(req, f"Medication/m-{i:02d}")
        req["prefetch"]["medicationRequests"]["entry"][-1]["resource"]["id"] = f"rx-{i:02d}"
    meds = [{**ADALIMUMAB_MED, "id": f"m-{i:02d}"} for i in range(MAX_MEDICATION_READS + 5)]
    with RecordingFhir(meds) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
        reads = [p for p in fhir.paths() if p.startswith("/fhir/Medication/")]
    assert len(reads) == MAX_MEDICATION_READS
    assert len(record.of("Medication")) >= MAX_MEDICATION_READS


def test_a_medication_read_that_fails_is_a_technical_note(monkeypatch):
    from cds_service.gather.fhir_client import FhirAccessError, FhirClient

    def refuse(self, ref):
        raise FhirAccessError("http-status", "Medication request to ehr answered HTTP 500", status=500)

    monkeypatch.setattr(FhirClient, "read", refuse)
    req = _with_referenced_medication(load_request("ra-complete"), "Medication/med-ada-1")
    with RecordingFhir([ADALIMUMAB_MED]) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
    assert record.technical_errors == [
        "medications: 1 of 1 Medication resources could not be read (Medication request to ehr answered HTTP 500)"
    ]
    assert not record.unavailable


def test_a_medication_on_a_server_not_allowed_is_not_read_and_says_so():
    """Full prefetch, one Medication named by reference and not included, and a fhirServer that is not on
    the allow-list: no connection, the record stays unidentified, and a technical note says why (as for
    any other read that fails)."""
    req = _with_referenced_medication(load_request("ra-complete"), "Medication/med-ada-1")
    with RecordingFhir([ADALIMUMAB_MED]) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=("http://127.0.0.1:1/fhir",)))
        assert fhir.paths() == []
    assert record.get("Medication/med-ada-1") is None
    [note] = record.technical_errors
    assert note.startswith("medications: 1 of 1 Medication resources could not be read (")
    assert not record.unavailable


# -- A prefetched Bundle cut short (its total counts more matches than it holds, and no next link) -----------


def _cut_short(req: dict, key: str = "medicationRequests") -> dict:
    bundle = req["prefetch"][key]
    bundle["total"] = len(bundle.get("entry") or []) + 1
    bundle.pop("link", None)
    return req


def test_a_prefetch_bundle_cut_short_is_searched_again_on_the_fhir_server():
    req = _cut_short(load_request("ra-complete"))
    held = {e["resource"]["id"] for e in req["prefetch"]["medicationRequests"]["entry"]}
    hidden = {
        "resourceType": "MedicationRequest",
        "id": "rx-not-in-the-prefetch",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/ra-complete-pat"},
    }
    with RecordingFhir([*chart_resources(req), hidden]) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=(fhir.url,)))
        paths = fhir.paths()
    assert [p for p in paths if p.startswith("/fhir/MedicationRequest?patient=")]  # searched again
    assert not [p for p in paths if p.startswith("/fhir/Condition")]  # complete keys are not
    assert {r["id"] for r in record.of("MedicationRequest")} >= held | {"rx-not-in-the-prefetch"}
    assert not record.unavailable and not record.technical_errors


def test_a_prefetch_bundle_cut_short_without_a_fhir_server_is_unavailable_but_what_it_holds_counts():
    req = _cut_short(load_request("ra-complete"))
    req.pop("fhirServer", None)
    held = {e["resource"]["id"] for e in req["prefetch"]["medicationRequests"]["entry"]}
    record = collect(make(req), demo_settings())
    assert {r["id"] for r in record.of("MedicationRequest")} == held
    assert record.unavailable == {"medicationRequests"}
    [note] = record.technical_errors
    assert note.startswith("medicationRequests: the prefetched Bundle holds ") and "no next page" in note
    assert "no fhirServer" in note


def test_a_prefetch_bundle_cut_short_whose_search_fails_is_unavailable():
    req = _cut_short(load_request("ra-complete"), "conditions")
    with RecordingFhir(chart_resources(req)) as fhir:
        req["fhirServer"] = fhir.url
        record = collect(make(req), demo_settings().with_overrides(fhir_allow=("http://127.0.0.1:1/fhir",)))
        assert fhir.paths() == []  # not on the allow-list: never contacted
    assert "conditions" in record.unavailable and record.technical_errors
    assert record.of("Condition")  # what the Bundle held still counts
