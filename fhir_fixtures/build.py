"""Deterministic generator of synthetic EHR charts for the anakinra coverage service.

Run from the repository root (paths below are relative to it):  python -m fhir_fixtures.build        (writes the files)
                               python -m fhir_fixtures.build --check (exit 1 when a file is stale)

Every chart looks like a US Core shaped export of an EHR (MRN identifiers, NUCC specialties,
ICD-10-CM + SNOMED problems, LOINC vitals and labs, RxNorm medication history with stop
reasons) and is written twice:

- `fhir_fixtures/requests/<slug>.json`: a CDS Hooks 2.0 order-sign / order-select request. Its `prefetch`
  answers every template of `cds_service.gather.data_needs.data_needs()` by running the
  template against the chart with a small in-memory search engine (`answer_template`), so
  the prefetch is what a FHIR server holding the chart would return (newest Observation
  first). Medications referenced by the answered MedicationRequests / Statements /
  Dispenses / Administrations (and by the draft orders, for the `medicationRequests` key)
  are added as `search.mode = include` entries, as EHRs do for `medicationReference`.
- `cds_service/demo_charts/bundles/<slug>.json`: a `transaction` Bundle that PUTs the same resources under fixed
  ids (loading it twice changes nothing). The draft order is NOT in it: a draft lives in
  the EHR's ordering session, not in its FHIR store. The bundles are package data of the
  service (`cds_service.demo_charts`): `anakinra-cds serve` loads them into the embedded FHIR
  server after a plain `pip install`. So are the demo patients' bundles and their manifest
  `cds_service/demo_charts/demo.json` (`demo.py`).

`fhir_fixtures/index.json` lists each scenario with its clinically intended outcome (`expect`), derived
from guideline 09-J0000-45 (shared/policy/clauses.md), never from the service's code.
See README.md beside this file for the meaning of `expect`.

All dates are fixed: every draft order is authored 2026-03-02 (`AS_OF`); history is dated
relative to it. All ids start with the scenario slug, so every bundle can share one server.
Only the standard library and `cds_service.gather.data_needs` (the prefetch templates) are used.

Modules: `codes` (code tables, fixed values), `datatypes` (FHIR datatype builders), `chart` (`Chart`),
`building_blocks` (draft orders, shared histories, `Fixture`), `scenarios/` (the scenarios by
indication), `demo` (the Sandbox demo patients), `template_search` (the prefetch search engine) and
this module (assembling the files, the command line).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from cds_service.gather.data_needs import data_needs

from .building_blocks import Fixture
from .codes import FHIR_SERVER
from .datatypes import fixed_uuid
from .demo import SANDBOX_USER_SLUG, build_demo_bundle, build_demo_manifest, demo_patients, sandbox_user_resources
from .scenarios import fixtures
from .template_search import answer_template

# Where the files go, relative to the repository root. The requests and the scenario oracle are test
# material (outside the wheel); the bundles and the demo manifest are read by the installed service.
REPO_ROOT = Path(__file__).resolve().parent.parent
REQUESTS = "fhir_fixtures/requests"
INDEX = "fhir_fixtures/index.json"
BUNDLES = "cds_service/demo_charts/bundles"
DEMO_MANIFEST = "cds_service/demo_charts/demo.json"


def build_request(fx: Fixture) -> dict:
    context: dict = {"userId": fx.user, "patientId": fx.patient_id}
    if fx.encounter_id:
        context["encounterId"] = fx.encounter_id
    if fx.selections is not None:
        context["selections"] = list(fx.selections)
    context["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": copy.deepcopy(o)} for o in fx.drafts],
    }
    prefetch = {}
    for need in data_needs():
        includes = "Medication" in need.resource_types and not need.single
        extra = tuple(fx.drafts) if need.key == "medicationRequests" else ()
        prefetch[need.key] = answer_template(
            need.template, context, fx.chart.resources, include_medications=includes, extra_medication_refs=extra
        )
    return {
        "hook": fx.hook,
        "hookInstance": fixed_uuid("hookInstance", fx.slug),
        "fhirServer": FHIR_SERVER,
        "context": context,
        "prefetch": prefetch,
    }


def build_bundle(fx: Fixture) -> dict:
    return {
        "resourceType": "Bundle",
        "id": fixed_uuid("transaction", fx.slug),
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
                "resource": copy.deepcopy(r),
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in fx.chart.resources
        ],
    }


def build_index_entry(fx: Fixture) -> dict:
    return {
        "slug": fx.slug,
        "hook": fx.hook,
        "patientId": fx.patient_id,
        "description": fx.description,
        "draftOrders": [f"{o['resourceType']}/{o['id']}" for o in fx.drafts],
        "expect": fx.expect,
    }


def dumps(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build_all() -> dict[str, str]:
    """Every generated file: path relative to the repository root -> text."""
    files: dict[str, str] = {}
    index = []
    for fx in fixtures():
        files[f"{REQUESTS}/{fx.slug}.json"] = dumps(build_request(fx))
        files[f"{BUNDLES}/{fx.slug}.json"] = dumps(build_bundle(fx))
        index.append(build_index_entry(fx))
    files[INDEX] = dumps(index)
    demos = demo_patients()
    files[f"{BUNDLES}/{SANDBOX_USER_SLUG}.json"] = dumps(build_demo_bundle(SANDBOX_USER_SLUG, sandbox_user_resources()))
    for demo in demos:
        files[f"{BUNDLES}/{demo.chart.slug}.json"] = dumps(build_demo_bundle(demo.chart.slug, demo.chart.resources))
    files[DEMO_MANIFEST] = dumps(build_demo_manifest(demos))
    return files


GENERATED_DIRS = (REQUESTS, BUNDLES)


def stale_files(files: dict[str, str], root: Path = REPO_ROOT) -> list[str]:
    """Files that differ from `files`, are missing, or are generated leftovers no scenario makes."""
    problems = [
        rel
        for rel, text in files.items()
        if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text
    ]
    for sub in GENERATED_DIRS:
        for path in sorted((root / sub).glob("*.json")) if (root / sub).is_dir() else []:
            rel = f"{sub}/{path.name}"
            if rel not in files:
                problems.append(rel)
    return problems


def write(files: dict[str, str], root: Path = REPO_ROOT) -> None:
    for sub in GENERATED_DIRS:
        (root / sub).mkdir(parents=True, exist_ok=True)
        for path in (root / sub).glob("*.json"):
            if f"{sub}/{path.name}" not in files:
                path.unlink()
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    files = build_all()
    if args.check:
        problems = stale_files(files)
        for rel in problems:
            print(f"stale: {rel}", file=sys.stderr)
        return 1 if problems else 0
    write(files)
    print(f"wrote {len(files)} files: {', '.join(GENERATED_DIRS)}, {INDEX}, {DEMO_MANIFEST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
