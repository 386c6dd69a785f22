"""Gather what one hook call needs: prefetch first, then the EHR's FHIR server for the rest.

Rules (CDS Hooks 2.0 + CRD):
- a prefetch key that is absent or an OperationOutcome is fetched from `fhirServer`;
- `null` means the client has no such data: nothing is fetched;
- a paged prefetch Bundle has its `next` pages followed;
- fetches run in parallel, under one time budget for the whole call;
- when a *required* key can be had from neither prefetch nor a FHIR server because the
  request has no `fhirServer`, `DataUnavailable` is raised (the web layer answers 412);
- when a FHIR server was named but refused, failed or is not on the allow-list, the record
  notes a technical error and the keys stay unavailable (CRD: coverage `indeterminate`,
  reason `technical`);
- a search (or a paged prefetch Bundle) cut short, at the page limit (`fhir_max_pages`) or by a
  `next` link that repeats a page, keeps what it read, but its key is unavailable too, with a
  technical error: a list with pages missing is not the patient's whole list, so nothing absent
  from it may count as absent (a TNF antagonist on an unread page must not let the order pass).
"""

from __future__ import annotations

import logging

import requests

from ..config import Settings
from ..protocol.request import HookRequest
from ..protocol.services import DataNeed, data_needs
from .fetch_pool import borrowed_executor
from .fhir_client import Budget, FhirAccessError, FhirClient, shared_session
from .prefetch import PrefetchState, PrefetchValue, classify, context_tokens, render_template
from .record import PatientRecord

log = logging.getLogger(__name__)


class DataUnavailable(Exception):
    def __init__(self, keys: list[str]):
        self.keys = keys
        super().__init__(
            "Required data is neither prefetched nor retrievable (no fhirServer in the request): "
            + ", ".join(keys)
        )


def _fetch(client: FhirClient, need: DataNeed, query: str) -> list[dict]:
    if need.single:
        res = client.read(query)
        return [res] if res else []
    return client.search(query)


def collect(request: HookRequest, settings: Settings, session: requests.Session | None = None,
            extra_medication_refs: tuple[str, ...] = (),
            classified: dict[str, PrefetchValue] | None = None) -> PatientRecord:
    """The patient's record: prefetch first, then the FHIR server for what is missing.
    `classified`: `prefetch.classify` of the request's prefetch keys, when the caller has it already."""
    record = PatientRecord(patient_id=request.patient_id)
    tokens = context_tokens(request.patient_id, request.user_id, request.encounter_id)
    to_fetch: list[tuple[DataNeed, str]] = []
    to_follow: list[tuple[DataNeed, str]] = []

    for need in data_needs():
        value = classified[need.key] if classified is not None and need.key in classified \
            else classify(request.prefetch, need.key)
        if value.state is PrefetchState.PRESENT:
            for res in value.resources:
                record.add(res)
            record.sources[need.key] = "prefetch"
            if value.next_link:
                to_follow.append((need, value.next_link))
        elif value.state is PrefetchState.EMPTY:
            record.sources[need.key] = "null"
        elif (query := render_template(need.template, tokens)) is None:
            # The template's tokens cannot be filled for this call (e.g. userId is not a Practitioner).
            record.sources[need.key] = "not-applicable"
        else:
            to_fetch.append((need, query))

    if not to_fetch and not to_follow:
        return record

    if not request.fhir_server:
        missing_required = [n.key for n, _ in to_fetch if n.required]
        if missing_required:
            raise DataUnavailable(missing_required)
        for need, _ in to_fetch:
            record.unavailable.add(need.key)
        for need, _ in to_follow:
            record.unavailable.add(need.key)
        return record

    budget = Budget(settings.fhir_budget_seconds)
    try:
        client = FhirClient(request.fhir_server, request.access_token, settings, budget,
                            session=session or shared_session(settings))
    except FhirAccessError as exc:
        record.technical_errors.append(exc.message)
        for need, _ in to_fetch + to_follow:
            record.unavailable.add(need.key)
        log.warning("fhir server refused: %s", exc.kind)
        return record

    def run(item):
        need, query = item
        try:
            return need, _fetch(client, need, query), None
        except FhirAccessError as exc:
            return need, [], exc

    def follow(item):
        need, link = item
        try:
            return need, client.expand_bundle({"resourceType": "Bundle", "link": [{"relation": "next", "url": link}]}), None
        except FhirAccessError as exc:
            return need, [], exc

    jobs = [(run, it) for it in to_fetch] + [(follow, it) for it in to_follow]
    if len(jobs) == 1:
        results = [jobs[0][0](jobs[0][1])]
    else:
        with borrowed_executor(settings.fhir_max_workers) as pool:
            results = list(pool.map(lambda job: job[0](job[1]), jobs))
    for need, resources, error in results:
        if error is not None:
            _not_read(record, need.key, error.message)
            continue
        for res in resources:
            record.add(res)
        record.sources.setdefault(need.key, "fhir")
        if getattr(resources, "truncated", False):
            # What was read still counts (a conflicting drug found is found), but the list is not the
            # patient's whole list: absence in it proves nothing, so the key is unavailable.
            _not_read(record, need.key, resources.stop_reason or "the search stopped early")
    return record


def _not_read(record: PatientRecord, key: str, message: str) -> None:
    """`key` could not be read (whole or in part): unavailable, with a technical error (once)."""
    record.unavailable.add(key)
    text = f"{key}: {message}"
    if text not in record.technical_errors:
        record.technical_errors.append(text)


def resolve_medication(record: PatientRecord, request: HookRequest, settings: Settings, reference: str,
                       session: requests.Session | None = None) -> dict | None:
    """Find a Medication named by a draft order's medicationReference outside `contained`."""
    found = record.get(reference)
    if found is not None:
        return found
    if not request.fhir_server or not reference.startswith("Medication/"):
        return None
    try:
        client = FhirClient(request.fhir_server, request.access_token, settings,
                            Budget(min(1.0, settings.fhir_budget_seconds)), session=session or shared_session(settings))
        res = client.read(reference)
    except FhirAccessError as exc:
        record.technical_errors.append(f"{reference}: {exc.message}")
        return None
    if res:
        record.add(res)
    return res
