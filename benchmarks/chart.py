"""Benchmark workloads: the fixture order-sign requests, and a larger realistic chart built from one.

The fixture charts hold 8 to 27 resources. The issue's target is about "a realistic chart of at
least 40 resources", so `large_chart()` copies `ra-complete` under a new patient id
(`bench-chart-pat`: loading it into a FHIR server never touches a fixture patient) and adds what a
real rheumatology chart carries:

- a lab and weight history: each Observation code the chart already has, repeated every 13 weeks
  for a year and a half, all OLDER than the chart's oldest Observation, so the latest value of
  every code is unchanged;
- common comorbidities (hypertension, hyperlipidaemia, GERD, hypothyroidism, ...);
- chronic non-rheumatology medications, each as a MedicationStatement and a MedicationRequest.

Nothing added may change the decision; `benchmarks.load` checks that in process before any timing
(`same_decision`). All data is synthetic.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fhir_fixtures"
BUNDLES = ROOT / "cds_service" / "demo_charts" / "bundles"
FIXTURE_FHIR_BASE = "http://127.0.0.1:8913/fhir"

SOURCE_SLUG = "ra-complete"
SOURCE_PREFIX = "ra-complete-"
CHART_PREFIX = "bench-chart-"
CHART_PATIENT = "bench-chart-pat"

HISTORY_POINTS = 6  # older copies per Observation code
HISTORY_STEP_DAYS = 91

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

COMORBIDITIES = (
    ("I10", "Essential (primary) hypertension", "2016-04-11"),
    ("E78.5", "Hyperlipidemia, unspecified", "2018-09-03"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis", "2019-02-20"),
    ("E03.9", "Hypothyroidism, unspecified", "2014-06-30"),
    ("G43.909", "Migraine, unspecified, not intractable, without status migrainosus", "2009-11-15"),
    ("E55.9", "Vitamin D deficiency, unspecified", "2022-01-12"),
    ("F41.1", "Generalized anxiety disorder", "2020-05-07"),
    ("K58.9", "Irritable bowel syndrome without diarrhea", "2017-08-22"),
)

# (RxNorm ingredient, display, dose text, start date)
CHRONIC_MEDICATIONS = (
    ("29046", "lisinopril", "Lisinopril 10 mg oral tablet, 1 tablet by mouth once daily", "2016-04-11"),
    ("83367", "atorvastatin", "Atorvastatin 20 mg oral tablet, 1 tablet by mouth at bedtime", "2018-09-03"),
    ("7646", "omeprazole", "Omeprazole 20 mg delayed-release capsule, 1 capsule by mouth daily", "2019-02-20"),
    ("10582", "levothyroxine", "Levothyroxine 75 mcg oral tablet, 1 tablet by mouth every morning", "2014-06-30"),
    ("4511", "folic acid", "Folic acid 1 mg oral tablet, 1 tablet by mouth daily", "2024-01-10"),
    ("2418", "cholecalciferol", "Vitamin D3 2000 unit oral capsule, 1 capsule by mouth daily", "2022-01-12"),
)


class ChartError(Exception):
    """The benchmark chart could not be built, or it changed the decision."""


def load_request(slug: str) -> dict:
    return json.loads((FIXTURES / "requests" / f"{slug}.json").read_text(encoding="utf-8"))


def load_bundle(slug: str) -> dict:
    return json.loads((BUNDLES / f"{slug}.json").read_text(encoding="utf-8"))


def order_sign_slugs() -> list[str]:
    """Every fixture request for the order-sign hook, in a stable order."""
    out = []
    for path in sorted((FIXTURES / "requests").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("hook") == "order-sign":
            out.append(path.stem)
    return out


def with_fhir_server(request: dict, fhir_base: str) -> dict:
    """The request pointing at `fhir_base` instead of the fixtures' 127.0.0.1:8913 (fullUrls included)."""
    text = json.dumps(request).replace(FIXTURE_FHIR_BASE, fhir_base.rstrip("/"))
    return json.loads(text)


def without_prefetch(request: dict) -> dict:
    """The same call with no prefetch at all: the service reads everything from fhirServer."""
    out = dict(request)
    out.pop("prefetch", None)
    return out


def count_resources(request: dict) -> dict[str, int]:
    """Resources in a request: prefetch entries (single resources and Bundle entries) and draft orders."""
    prefetch = 0
    for value in (request.get("prefetch") or {}).values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            prefetch += sum(1 for e in value.get("entry") or [] if isinstance(e, dict) and "resource" in e)
        else:
            prefetch += 1
    drafts = len((request.get("context", {}).get("draftOrders") or {}).get("entry") or [])
    return {"prefetch": prefetch, "draft_orders": drafts, "total": prefetch + drafts}


def _renamed(value):
    return json.loads(json.dumps(value).replace(SOURCE_PREFIX, CHART_PREFIX))


def _shift(stamp: str, days: int) -> str:
    if "T" in stamp:
        return (datetime.fromisoformat(stamp) - timedelta(days=days)).isoformat()
    return (datetime.fromisoformat(stamp) - timedelta(days=days)).date().isoformat()


def _history(observations: list[dict]) -> list[dict]:
    """Older copies of each Observation code, all before the chart's oldest Observation, newest first
    (the prefetch query sorts by -date)."""
    chart_oldest = min(obs["effectiveDateTime"] for obs in observations)
    template: dict[str, dict] = {}
    for obs in observations:
        template.setdefault(obs["code"]["coding"][0]["code"], obs)
    out = []
    for _code, obs in sorted(template.items()):
        offset = datetime.fromisoformat(obs["effectiveDateTime"]) - datetime.fromisoformat(chart_oldest)
        for k in range(1, HISTORY_POINTS + 1):
            days = offset.days + 1 + k * HISTORY_STEP_DAYS
            new = copy.deepcopy(obs)
            new["id"] = f"{obs['id']}-h{k}"
            new["effectiveDateTime"] = _shift(obs["effectiveDateTime"], days)
            if "issued" in new:
                new["issued"] = _shift(obs["issued"].replace("Z", "+00:00"), days)
            if "valueQuantity" in new:
                factor = 1 + 0.02 * ((k % 5) - 2)
                new["valueQuantity"]["value"] = round(obs["valueQuantity"]["value"] * factor, 2)
            out.append(new)
    out.sort(key=lambda o: o["effectiveDateTime"], reverse=True)
    return out


def _condition(i: int, code: str, display: str, onset: str, patient_ref: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": f"{CHART_PREFIX}comorb-{i}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                    "display": "Active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                    "display": "Confirmed",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display},
        "subject": {"reference": patient_ref},
        "onsetDateTime": onset,
        "recordedDate": onset,
    }


def _medications(
    i: int, rxnorm: str, name: str, text: str, start: str, patient_ref: str, requester: dict
) -> tuple[dict, dict]:
    concept = {"coding": [{"system": RXNORM, "code": rxnorm, "display": name}], "text": text}
    dosage = [{"sequence": 1, "text": text, "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]
    statement = {
        "resourceType": "MedicationStatement",
        "id": f"{CHART_PREFIX}ms-chronic-{i}",
        "status": "active",
        "medicationCodeableConcept": concept,
        "subject": {"reference": patient_ref},
        "effectivePeriod": {"start": start},
        "dateAsserted": "2026-02-16",
        "dosage": dosage,
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": f"{CHART_PREFIX}mr-chronic-{i}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": patient_ref},
        "authoredOn": "2025-11-03",
        "requester": requester,
        "dosageInstruction": dosage,
        "dispenseRequest": {
            "numberOfRepeatsAllowed": 3,
            "expectedSupplyDuration": {"value": 90, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        },
    }
    return statement, order


def _append(bundle: dict, resources: list[dict], base: str) -> None:
    bundle.setdefault("entry", [])
    for res in resources:
        bundle["entry"].append(
            {"fullUrl": f"{base}/{res['resourceType']}/{res['id']}", "resource": res, "search": {"mode": "match"}}
        )
    if "total" in bundle:
        bundle["total"] = len(bundle["entry"])


def large_chart(fhir_base: str = FIXTURE_FHIR_BASE) -> tuple[dict, dict]:
    """(order-sign request with full prefetch, transaction Bundle for a FHIR server) of the large chart."""
    request = _renamed(load_request(SOURCE_SLUG))
    bundle = _renamed(load_bundle(SOURCE_SLUG))
    prefetch = request.get("prefetch") or {}
    try:
        observations = [e["resource"] for e in prefetch["observations"]["entry"]]
        patient_ref = f"Patient/{request['context']['patientId']}"
        requester = prefetch["medicationRequests"]["entry"][0]["resource"]["requester"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ChartError(f"fixture {SOURCE_SLUG} does not have the expected prefetch shape ({exc})") from exc
    if patient_ref != f"Patient/{CHART_PATIENT}":
        raise ChartError(f"renaming {SOURCE_SLUG} gave patient {patient_ref}, expected Patient/{CHART_PATIENT}")

    history = _history(observations)
    conditions = [_condition(i, c, d, onset, patient_ref) for i, (c, d, onset) in enumerate(COMORBIDITIES, 1)]
    statements, orders = [], []
    for i, (rx, name, text, start) in enumerate(CHRONIC_MEDICATIONS, 1):
        ms, mr = _medications(i, rx, name, text, start, patient_ref, requester)
        statements.append(ms)
        orders.append(mr)

    base = FIXTURE_FHIR_BASE
    _append(prefetch["observations"], history, base)  # older than every existing entry: _sort=-date holds
    _append(prefetch["conditions"], conditions, base)
    _append(prefetch["medicationStatements"], statements, base)
    _append(prefetch["medicationRequests"], orders, base)
    for res in history + conditions + statements + orders:
        bundle["entry"].append(
            {
                "fullUrl": f"{base}/{res['resourceType']}/{res['id']}",
                "resource": res,
                "request": {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"},
            }
        )
    bundle["id"] = "bench-chart-transaction"
    return with_fhir_server(request, fhir_base), with_fhir_server(bundle, fhir_base)


def decision_signature(body: dict, decisions) -> dict:
    """What must not change when the chart grows: determinations, PA flags, card kinds and cited clauses."""
    kinds, clauses = [], set()
    for card in body.get("cards", []):
        ext = card.get("extension") or {}
        kinds.append(ext.get("anakinra-cds.finding"))
        clauses.update(ext.get("anakinra-cds.clauses") or [])
    return {
        "determinations": [d.determination.value for d in decisions],
        "pa_needed": [str(d.pa_needed) for d in decisions],
        "cards": sorted(k for k in kinds if k),
        "clauses": sorted(clauses),
    }
