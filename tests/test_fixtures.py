"""The synthetic EHR fixtures (fhir_fixtures/) are current, valid FHIR R4 and coherent.

These tests guard the e2e oracle: a request whose prefetch disagrees with its bundle, a
dangling reference or a chart that does not say what its description says would make every
end-to-end test built on it meaningless.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from urllib.parse import parse_qsl

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds_service.gather.data_needs import data_needs
from fhir_fixtures import build, load_bundle, load_index, load_request, template_search
from tests.policy.clause_map import documented_clause_ids

INDEX = load_index()
SLUGS = [entry["slug"] for entry in INDEX]
BY_SLUG = {entry["slug"]: entry for entry in INDEX}
NEEDS = {need.key: need for need in data_needs()}
AS_OF = date(2026, 3, 2)

DETERMINATIONS = {"covered", "not-covered", "conditional", "none"}
FINDING_KINDS = {
    "site-of-care",
    "combination",
    "dose",
    "weight-dose",
    "step-therapy",
    "renal",
    "missing-weight",
    "contraindication",
    "documentation",
    "program",
    "none",
}
REQUIRED_SCENARIOS = {
    "ra-complete",
    "ra-missing-preferred",
    "ra-on-humira",
    "ra-on-tofacitinib",
    "dose-200mg",
    "qty-56-syringes",
    "office-administered",
    "nomid-child-lb",
    "nomid-child-overdose",
    "dira-infant-no-weight",
    "medref-ndc",
    "medref-prefetch-ndc11",
    "non-anakinra",
    "order-select-ra",
    "ra-no-specialist",
    "ra-renal-crcl-25",
    "ra-anakinra-allergy",
    "covid-inpatient",
    "misc-child",
    "ra-continuation",
}


# ---------------------------------------------------------------------------------- helpers


def bundle_resources(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry", []) if "resource" in e]


def walk_references(node, path: str = ""):
    """Yield (path, reference string) for every Reference.reference in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from walk_references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk_references(item, f"{path}[{i}]")


def request_resources(request: dict) -> list[tuple[str, dict]]:
    """Every resource in a request, with where it sits: prefetch values, their entries, drafts, contained."""
    out: list[tuple[str, dict]] = []

    def add(where: str, resource: dict) -> None:
        out.append((where, resource))
        for i, contained in enumerate(resource.get("contained", [])):
            out.append((f"{where}.contained[{i}]", contained))
        if resource.get("resourceType") == "Bundle":
            for i, entry in enumerate(resource.get("entry", [])):
                add(f"{where}.entry[{i}]", entry["resource"])

    for key, value in request["prefetch"].items():
        if value is not None:
            add(f"prefetch.{key}", value)
    add("context.draftOrders", request["context"]["draftOrders"])
    return out


def drafts(request: dict) -> list[dict]:
    return [e["resource"] for e in request["context"]["draftOrders"]["entry"]]


def observation_time(obs: dict) -> datetime:
    return datetime.fromisoformat(obs["effectiveDateTime"])


def weight_kg(obs: dict) -> float:
    q = obs["valueQuantity"]
    assert q["system"] == "http://unitsofmeasure.org"
    return {"kg": 1.0, "[lb_av]": 0.45359237, "g": 0.001}[q["code"]] * q["value"]


def latest(resources: list[dict], loinc: str) -> dict | None:
    found = [
        r
        for r in resources
        if r["resourceType"] == "Observation" and any(c["code"] == loinc for c in r["code"]["coding"])
    ]
    return max(found, key=observation_time) if found else None


def age_on(birth: str, on: date) -> int:
    b = date.fromisoformat(birth)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def anakinra_drafts(request: dict) -> list[dict]:
    out = []
    for draft in drafts(request):
        if draft["resourceType"] != "MedicationRequest":
            continue
        text = json.dumps(draft.get("medicationCodeableConcept") or draft.get("contained") or {}).lower()
        if (
            "anakinra" in text
            or "kineret" in text
            or "66658" in text
            or draft.get("medicationReference", {}).get("reference", "").startswith("Medication/")
        ):
            out.append(draft)
    return out


# ---------------------------------------------------------------------------------- generation


def test_generated_files_are_up_to_date():
    files = build.build_all()
    stale = build.stale_files(files)
    assert not stale, f"regenerate with `python -m fhir_fixtures.build`: {stale}"


def test_generation_is_deterministic_and_covers_the_required_scenarios():
    assert build.build_all() == build.build_all()
    assert set(SLUGS) >= REQUIRED_SCENARIOS
    assert len(SLUGS) == len(set(SLUGS))


def test_stale_check_notices_an_edited_file(tmp_path):
    files = build.build_all()
    build.write(files, tmp_path)
    assert build.stale_files(files, tmp_path) == []
    edited = tmp_path / build.REQUESTS / "ra-complete.json"
    edited.write_text(edited.read_text().replace("M05.79", "M06.9"))
    (tmp_path / build.BUNDLES / "leftover.json").write_text("{}")
    assert set(build.stale_files(files, tmp_path)) == {
        f"{build.REQUESTS}/ra-complete.json",
        f"{build.BUNDLES}/leftover.json",
    }


def test_the_service_package_holds_the_bundles_and_the_tests_the_requests():
    files = build.build_all()
    assert build.BUNDLES.startswith("cds_service/") and build.DEMO_MANIFEST.startswith("cds_service/")
    assert build.REQUESTS.startswith("fhir_fixtures/") and build.INDEX.startswith("fhir_fixtures/")
    assert {f"{build.BUNDLES}/{slug}.json" for slug in SLUGS} <= set(files)
    assert {f"{build.REQUESTS}/{slug}.json" for slug in SLUGS} <= set(files)


# ---------------------------------------------------------------------------------- FHIR validity


@pytest.mark.parametrize("slug", SLUGS)
def test_every_resource_validates_with_r4b_models(slug):
    errors = []
    where_resources = request_resources(load_request(slug))
    bundle = load_bundle(slug)
    where_resources.append(("bundle", bundle))
    where_resources += [(f"bundle.entry[{i}]", r) for i, r in enumerate(bundle_resources(bundle))]
    for where, resource in where_resources:
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except Exception as exc:  # pydantic ValidationError, or an unknown resourceType
            errors.append(f"{where} {resource.get('resourceType')}/{resource.get('id')}: {exc}")
    assert not errors, "\n".join(errors)


# ---------------------------------------------------------------------------------- requests


@pytest.mark.parametrize("slug", SLUGS)
def test_request_envelope(slug):
    request, entry = load_request(slug), BY_SLUG[slug]
    assert request["hook"] == entry["hook"] in ("order-sign", "order-select")
    assert uuid.UUID(request["hookInstance"]).version == 5
    assert request["fhirServer"] == "http://127.0.0.1:8913/fhir"
    assert "fhirAuthorization" not in request
    context = request["context"]
    assert context["patientId"] == entry["patientId"] == request["prefetch"]["patient"]["id"]
    user_type, _, user_id = context["userId"].partition("/")
    assert user_type in ("Practitioner", "PractitionerRole") and user_id
    assert request["prefetch"]["user"]["resourceType"] == user_type
    assert request["prefetch"]["user"]["id"] == user_id
    bundle_ids = {(r["resourceType"], r["id"]) for r in bundle_resources(load_bundle(slug))}
    if "encounterId" in context:
        assert ("Encounter", context["encounterId"]) in bundle_ids
    assert (user_type, user_id) in bundle_ids


def test_hook_instances_are_unique():
    instances = [load_request(slug)["hookInstance"] for slug in SLUGS]
    assert len(instances) == len(set(instances))


@pytest.mark.parametrize("slug", SLUGS)
def test_prefetch_answers_every_data_need(slug):
    request = load_request(slug)
    prefetch = request["prefetch"]
    assert set(prefetch) == set(NEEDS), "prefetch keys must be exactly the data needs of services.py"
    patient_ref = f"Patient/{request['context']['patientId']}"
    for key, need in NEEDS.items():
        value = prefetch[key]
        if need.single:
            assert value is None or value["resourceType"] in need.resource_types, key
            continue
        assert value["resourceType"] == "Bundle" and value["type"] == "searchset", key
        assert value.get("entry", None) != [], f"{key}: an empty search has no entry array (no empty arrays)"
        entries = value.get("entry", [])
        matches = [e for e in entries if e["search"]["mode"] == "match"]
        assert value["total"] == len(matches), key
        for e in entries:
            r = e["resource"]
            assert e["search"]["mode"] in ("match", "include"), key
            assert e["fullUrl"] == f"{request['fhirServer']}/{r['resourceType']}/{r['id']}", key
            assert r["resourceType"] in need.resource_types, key
        for e in matches:
            refs = {v for _, v in walk_references(e["resource"])}
            if key != "userRoles":
                assert patient_ref in refs, f"{key}: {e['fullUrl']} is not about the patient"


@pytest.mark.parametrize("slug", SLUGS)
def test_observations_are_newest_first_and_in_the_template_code_list(slug):
    request = load_request(slug)
    template = NEEDS["observations"].template
    codes = set(re.search(r"code=([^&]+)", template).group(1).split(","))
    observations = bundle_resources(request["prefetch"]["observations"])
    times = [observation_time(o) for o in observations]
    assert times == sorted(times, reverse=True)
    for obs in observations:
        assert {f"{c['system']}|{c['code']}" for c in obs["code"]["coding"]} & codes
    # and nothing in the chart that the template selects is left out
    chart_obs = [
        r
        for r in bundle_resources(load_bundle(slug))
        if r["resourceType"] == "Observation" and {f"{c['system']}|{c['code']}" for c in r["code"]["coding"]} & codes
    ]
    assert {o["id"] for o in chart_obs} == {o["id"] for o in observations}


@pytest.mark.parametrize("slug", SLUGS)
def test_draft_orders_are_exactly_the_documented_drafts(slug):
    request, entry = load_request(slug), BY_SLUG[slug]
    draft_orders = request["context"]["draftOrders"]
    assert draft_orders["resourceType"] == "Bundle" and draft_orders["type"] == "collection"
    found = [f"{d['resourceType']}/{d['id']}" for d in drafts(request)]
    assert found == entry["draftOrders"] and found
    bundle = load_bundle(slug)
    stored = {f"{r['resourceType']}/{r['id']}" for r in bundle_resources(bundle)}
    for draft in drafts(request):
        assert draft["status"] == "draft" and draft["intent"] == "order"
        assert draft["authoredOn"] == "2026-03-02"
        assert f"{draft['resourceType']}/{draft['id']}" not in stored, "a draft is not stored on the FHIR server"
        contained = {f"#{c['id']}" for c in draft.get("contained", [])}
        for where, reference in walk_references(draft):
            assert reference in stored or reference in contained, f"{draft['id']}{where}: {reference} dangles"
    selections = request["context"].get("selections")
    if request["hook"] == "order-select":
        assert selections and set(selections) <= set(found)
    else:
        assert selections is None


@pytest.mark.parametrize("slug", [s for s in SLUGS if BY_SLUG[s]["expect"]["determination"] != "none"])
def test_anakinra_drafts_follow_the_documented_shape(slug):
    request = load_request(slug)
    meds = anakinra_drafts(request)
    assert len(meds) == 1
    draft = meds[0]
    assert (
        draft["category"][0]["coding"][0]["system"]
        == "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
    )
    dosage = draft["dosageInstruction"][0]
    assert dosage["route"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "34206005",
        "display": "Subcutaneous route",
    }
    assert dosage["timing"]["repeat"]["frequency"] == 1 and dosage["timing"]["repeat"]["periodUnit"] == "d"
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg"
    assert draft["dispenseRequest"]["quantity"]["code"] == "{syringe}"
    assert draft["dispenseRequest"]["expectedSupplyDuration"]["code"] == "d"
    assert draft["reasonCode"][0]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"


# ---------------------------------------------------------------------------------- bundles


def test_ids_are_unique_across_fixtures_and_prefixed_by_slug():
    owner: dict[tuple[str, str], str] = {}
    for slug in SLUGS:
        ids = [(r["resourceType"], r["id"]) for r in bundle_resources(load_bundle(slug))]
        ids += [(d["resourceType"], d["id"]) for d in drafts(load_request(slug))]
        for key in ids:
            assert key[1].startswith(slug + "-"), f"{key} in {slug}"
            assert key not in owner, f"{key} is in both {owner.get(key)} and {slug}"
            owner[key] = slug


@pytest.mark.parametrize("slug", SLUGS)
def test_transaction_bundle_puts_fixed_ids_and_references_resolve(slug):
    bundle = load_bundle(slug)
    assert bundle["type"] == "transaction"
    present = set()
    for entry in bundle["entry"]:
        r = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
        assert entry["fullUrl"].endswith(f"/{r['resourceType']}/{r['id']}")
        present.add(f"{r['resourceType']}/{r['id']}")
    assert len(present) == len(bundle["entry"])
    for entry in bundle["entry"]:
        r = entry["resource"]
        contained = {f"#{c['id']}" for c in r.get("contained", [])}
        for where, reference in walk_references(r):
            assert reference in present or reference in contained, f"{r['id']}{where}: {reference} dangles"


@pytest.mark.parametrize("slug", SLUGS)
def test_prefetch_resources_are_the_bundle_resources(slug):
    """Prefetch and bundle describe one chart: same resources, same content."""
    in_bundle = {(r["resourceType"], r["id"]): r for r in bundle_resources(load_bundle(slug))}
    for where, resource in request_resources(load_request(slug)):
        if where.startswith("prefetch") and resource["resourceType"] != "Bundle" and ".contained" not in where:
            assert in_bundle[(resource["resourceType"], resource["id"])] == resource, where


def test_prefetch_is_what_a_fhir_server_answers(tmp_path):
    """Load every bundle into one FHIR server (twice: PUT is idempotent) and run every prefetch template."""
    pytest.importorskip("sekmet")
    from sekmet.config import Settings
    from sekmet.fhir.bundle import process_bundle
    from sekmet.fhir.service import FhirService
    from sekmet.fhir.store import Store

    service = FhirService(Store(str(tmp_path / "fhir.sqlite")), Settings(base_url=build.FHIR_SERVER))
    for slug in SLUGS:
        assert process_bundle(service, load_bundle(slug)).status == 200, slug
    counts = service.store.counts()
    for slug in SLUGS:
        process_bundle(service, load_bundle(slug))
    assert service.store.counts() == counts, "loading the bundles twice must not add resources"
    assert sum(counts.values()) == sum(len(load_bundle(s)["entry"]) for s in SLUGS)

    for slug in SLUGS:
        request = load_request(slug)
        chart = bundle_resources(load_bundle(slug))
        for key, need in NEEDS.items():
            url = template_search.resolve_tokens(need.template, request["context"], chart)
            mine = request["prefetch"][key]
            if need.single:
                rtype, _, rid = url.partition("/")
                stored = service.store.read(rtype, rid)
                assert (stored["id"] if stored else None) == (mine["id"] if mine else None), (slug, key)
                continue
            rtype, _, query = url.partition("?")
            result = service.search(rtype, parse_qsl(query))
            assert result.status == 200 and not [i for i in result.issues if i.get("severity") == "error"]
            theirs = [e["resource"]["id"] for e in result.body.get("entry", []) if e["search"]["mode"] == "match"]
            ours = [e["resource"]["id"] for e in mine.get("entry", []) if e["search"]["mode"] == "match"]
            if "_sort" in query:
                assert theirs == ours, (slug, key)
            else:
                assert sorted(theirs) == sorted(ours), (slug, key)
            assert result.body["total"] == mine["total"], (slug, key)


# ---------------------------------------------------------------------------------- the oracle


@pytest.mark.parametrize("slug", SLUGS)
def test_expectations_use_the_documented_vocabulary(slug):
    entry = BY_SLUG[slug]
    exp = entry["expect"]
    assert set(exp) == {"determination", "findings", "clauses", "summary"}
    assert exp["determination"] in DETERMINATIONS
    assert set(exp["findings"]) <= FINDING_KINDS
    assert len(exp["findings"]) == len(set(exp["findings"]))
    if exp["determination"] == "none":
        assert exp["findings"] == [] and exp["clauses"] == []
    else:
        assert exp["findings"], "an evaluated order lists its findings, or ['none']"
        assert "none" not in exp["findings"] or exp["findings"] == ["none"]
        assert exp["clauses"]
    if exp["determination"] == "covered":
        assert set(exp["findings"]) <= {"none", "renal"}, "a covered order has no blocking finding"
    assert entry["description"] and exp["summary"]
    known = documented_clause_ids()
    assert set(exp["clauses"]) <= known, set(exp["clauses"]) - known


def test_the_clause_map_is_found_and_parsed():
    known = documented_clause_ids()
    assert {"position.site-of-care", "initiation.5.a", "table1.ra.2", "dosage.renal"} <= known


# ---------------------------------------------------------------------------------- charts say what they claim


@pytest.mark.parametrize("slug", SLUGS)
def test_dates_are_fixed_and_ages_unambiguous(slug):
    chart = bundle_resources(load_bundle(slug))
    patient = next(r for r in chart if r["resourceType"] == "Patient")
    birth = date.fromisoformat(patient["birthDate"])
    this_year_birthday = birth.replace(year=2026)
    assert abs((this_year_birthday - AS_OF).days) > 14, "birthday too close to 2026-03-02"
    for r in chart + drafts(load_request(slug)):
        for field in (
            "effectiveDateTime",
            "authoredOn",
            "onsetDateTime",
            "recordedDate",
            "occurrenceDateTime",
            "whenHandedOver",
            "dateAsserted",
        ):
            if field in r:
                assert r[field][:10] <= "2026-03-02", f"{r['id']}.{field} is after the order date"


@pytest.mark.parametrize("slug", SLUGS)
def test_patient_identity_is_synthetic_us_core(slug):
    patient = next(r for r in bundle_resources(load_bundle(slug)) if r["resourceType"] == "Patient")
    assert patient["identifier"][0]["system"] == "urn:oid:2.16.840.1.113883.3.9999.1"
    assert all("555-01" in t["value"] or t["value"].endswith("@example.com") for t in patient["telecom"])
    coverage = next(r for r in bundle_resources(load_bundle(slug)) if r["resourceType"] == "Coverage")
    assert coverage["status"] == "active"
    assert coverage["payor"] == [{"display": "Florida Blue"}]
    assert coverage["type"]["coding"][0]["system"] == "urn:oid:2.16.840.1.113883.3.221.5"


def test_ra_continuation_member_and_history():
    chart = bundle_resources(load_bundle("ra-continuation"))
    coverage = next(r for r in chart if r["resourceType"] == "Coverage")
    assert coverage["subscriberId"] == "MBR-RA-CONT-001"
    dispenses = [r for r in chart if r["resourceType"] == "MedicationDispense"]
    recent = [d for d in dispenses if (AS_OF - date.fromisoformat(d["whenHandedOver"][:10])).days <= 90]
    assert recent, "initiation.1.a needs an anakinra dispense within 90 days"
    approvals = [r for r in chart if r["resourceType"] == "ClaimResponse"]
    assert approvals and approvals[0]["use"] == "preauthorization" and approvals[0]["outcome"] == "complete"


def _mg_per_kg(slug: str) -> float | None:
    request = load_request(slug)
    draft = anakinra_drafts(request)[0]
    weight = latest(bundle_resources(request["prefetch"]["observations"]), "29463-7")
    if weight is None:
        return None
    dose = draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"]
    return dose / weight_kg(weight)


def test_weight_based_scenarios_have_the_doses_they_describe():
    weight = latest(bundle_resources(load_request("nomid-child-lb")["prefetch"]["observations"]), "29463-7")
    assert weight["valueQuantity"]["code"] == "[lb_av]"
    assert 1 <= _mg_per_kg("nomid-child-lb") <= 8  # within dosage.nomid-dira
    assert _mg_per_kg("nomid-child-overdose") > 8  # above dosage.nomid-dira
    assert _mg_per_kg("dira-infant-no-weight") is None  # no weight anywhere in the chart
    patient = load_request("dira-infant-no-weight")["prefetch"]["patient"]
    assert age_on(patient["birthDate"], AS_OF) == 0
    assert age_on(load_request("nomid-child-lb")["prefetch"]["patient"]["birthDate"], AS_OF) == 7


def test_renal_scenario_has_crcl_below_30_and_the_others_do_not():
    def crcl(slug: str) -> float:
        prefetch = load_request(slug)["prefetch"]
        observations = bundle_resources(prefetch["observations"])
        creatinine = latest(observations, "2160-0")["valueQuantity"]["value"]
        kg = weight_kg(latest(observations, "29463-7"))
        patient = prefetch["patient"]
        value = (140 - age_on(patient["birthDate"], AS_OF)) * kg / (72 * creatinine)
        return value * (0.85 if patient["gender"] == "female" else 1.0)

    assert crcl("ra-renal-crcl-25") < 30
    for slug in ("ra-complete", "dose-200mg", "ra-continuation"):
        assert crcl(slug) > 60


def test_site_of_care_and_combination_scenarios():
    office = anakinra_drafts(load_request("office-administered"))[0]
    assert office["category"][0]["coding"][0]["code"] == "outpatient"
    assert office["performer"]["reference"].startswith("Practitioner/")
    for slug, drug in (("ra-on-humira", "327361"), ("ra-on-tofacitinib", "1357536")):
        statements = bundle_resources(load_request(slug)["prefetch"]["medicationStatements"])
        active = [
            s
            for s in statements
            if s["status"] == "active" and s["medicationCodeableConcept"]["coding"][0]["code"] == drug
        ]
        assert active, slug
    for slug in ("covid-inpatient", "misc-child"):  # hospitalised: the indications require it
        request = load_request(slug)
        assert anakinra_drafts(request)[0]["category"][0]["coding"][0]["code"] == "inpatient"
        encounter = bundle_resources(request["prefetch"]["encounters"])[0]
        assert encounter["class"]["code"] == "IMP" and encounter["status"] == "in-progress"


def test_medication_reference_scenarios():
    contained = anakinra_drafts(load_request("medref-ndc"))[0]
    assert contained["medicationReference"]["reference"] == "#med1"
    assert contained["contained"][0]["code"]["coding"][0]["code"] == "66658-234-07"
    request = load_request("medref-prefetch-ndc11")
    draft = anakinra_drafts(request)[0]
    reference = draft["medicationReference"]["reference"]
    included = {
        f"Medication/{e['resource']['id']}": e["resource"]
        for e in request["prefetch"]["medicationRequests"]["entry"]
        if e["search"]["mode"] == "include"
    }
    assert included[reference]["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/ndc",
        "code": "66658023428",
        "display": "Kineret 100 MG/0.67ML Prefilled Syringe",
    }


def test_step_therapy_scenarios_record_three_month_courses():
    """RA charts expected 'covered' show >= 3 months of methotrexate (or an intolerance) and of each product."""

    def courses(slug):
        statements = bundle_resources(load_request(slug)["prefetch"]["medicationStatements"])
        out = {}
        for s in statements:
            period = s["effectivePeriod"]
            end = date.fromisoformat(period["end"]) if "end" in period else AS_OF
            out[s["medicationCodeableConcept"]["coding"][0]["display"]] = (
                (end - date.fromisoformat(period["start"])).days,
                s.get("statusReason", [{}])[0].get("text"),
            )
        return out

    complete = courses("ra-complete")
    for drug in ("methotrexate", "adalimumab", "etanercept", "tofacitinib"):
        days, reason = complete[drug]
        assert days >= 90 and reason == "Inadequate response", drug
    missing = courses("ra-missing-preferred")
    assert {"etanercept", "tofacitinib", "upadacitinib"}.isdisjoint(missing)


def test_covid_and_misc_charts_show_the_table1_criteria_they_claim():
    covid = load_request("covid-inpatient")["prefetch"]
    observations = bundle_resources(covid["observations"])
    pcr = latest(observations, "94500-6")
    assert pcr["valueCodeableConcept"]["coding"][0]["code"] == "260373001"  # Detected (covid-19.2)
    assert [p["status"] for p in bundle_resources(covid["procedures"])] == ["in-progress"]  # oxygen (covid-19.3)
    assert age_on(covid["patient"]["birthDate"], AS_OF) >= 18
    assert "supar" not in json.dumps(covid).lower()  # covid-19.5 undocumented
    draft = anakinra_drafts(load_request("covid-inpatient"))[0]
    assert draft["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"]["value"] == 10  # covid-19.6

    misc = load_request("misc-child")["prefetch"]
    assert age_on(misc["patient"]["birthDate"], AS_OF) < 18  # mis-c.1
    conditions = {c["code"]["coding"][0]["code"]: c for c in bundle_resources(misc["conditions"])}
    assert conditions["U07.1"]["clinicalStatus"]["coding"][0]["code"] == "resolved"  # mis-c.2 (prior infection)
    positive = latest(bundle_resources(misc["observations"]), "94500-6")
    assert positive["effectiveDateTime"][:10] < conditions["M35.81"]["onsetDateTime"]
    statements = bundle_resources(misc["medicationStatements"])
    refractory = {
        s["medicationCodeableConcept"]["coding"][0]["code"]
        for s in statements
        if s["statusReason"][0]["text"].startswith("Inadequate response")
    }
    assert {"5666", "6902"} <= refractory  # mis-c.4.a (IVIG + steroid)
    assert len(bundle_resources(misc["medicationAdministrations"])) == 2
