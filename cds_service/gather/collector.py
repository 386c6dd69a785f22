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
  from it may count as absent (a TNF antagonist on an unread page must not let the order pass);
- a Medication that a medication record names by reference (`Medication/<id>`) but that neither the
  prefetch nor the searches included is read from `fhirServer` afterwards (at most
  MAX_MEDICATION_READS per call, same budget); one that cannot be had leaves its records
  unidentified, which the policy reads as "could be any drug".
"""

from __future__ import annotations

import logging

import requests

from ..config import Settings
from ..protocol.request import HookRequest
from .data_needs import DataNeed, data_needs
from .fetch_pool import borrowed_executor
from .fhir_client import Budget, FhirAccessError, FhirClient, shared_session
from .patient_resources import PatientResources
from .prefetch import PrefetchState, PrefetchValue, classify, context_tokens, render_template

log = logging.getLogger(__name__)


class DataUnavailable(Exception):
    def __init__(self, keys: list[str]):
        self.keys = keys
        super().__init__(
            "Required data is neither prefetched nor retrievable (no fhirServer in the request): " + ", ".join(keys)
        )


def _fetch(client: FhirClient, need: DataNeed, query: str) -> list[dict]:
    if need.single:
        res = client.read(query)
        return [res] if res else []
    return client.search(query)


def collect(
    request: HookRequest,
    settings: Settings,
    session: requests.Session | None = None,
    extra_medication_refs: tuple[str, ...] = (),
    classified: dict[str, PrefetchValue] | None = None,
) -> PatientResources:
    """The patient's record: prefetch first, then the FHIR server for what is missing.
    `classified`: `prefetch.classify` of the request's prefetch keys, when the caller has it already."""
    record = PatientResources(patient_id=request.patient_id)
    tokens = context_tokens(request.patient_id, request.user_id, request.encounter_id)
    to_fetch: list[tuple[DataNeed, str]] = []
    to_follow: list[tuple[DataNeed, str]] = []
    to_complete: list[tuple[DataNeed, str]] = []  # prefetched Bundles cut short: searched again
    cut_short: dict[str, str] = {}

    for need in data_needs():
        value = (
            classified[need.key]
            if classified is not None and need.key in classified
            else classify(request.prefetch, need.key)
        )
        if value.state is PrefetchState.PRESENT:
            for res in value.resources:
                record.add(res)
            record.sources[need.key] = "prefetch"
            if value.next_link:
                to_follow.append((need, value.next_link))
            elif value.left_out:
                # What the Bundle holds counts (a conflicting drug found is found); the rest is searched
                # for again on the FHIR server, or the key is unavailable.
                total = value.matches + value.left_out
                cut_short[need.key] = (
                    f"the prefetched Bundle holds {value.matches} of the {total} matches its "
                    "total counts, and links to no next page"
                )
                if (query := render_template(need.template, tokens)) is None:
                    _not_read(record, need.key, cut_short[need.key])
                else:
                    to_complete.append((need, query))
        elif value.state is PrefetchState.EMPTY:
            record.sources[need.key] = "null"
        elif (query := render_template(need.template, tokens)) is None:
            # The template's tokens cannot be filled for this call (e.g. userId is not a Practitioner).
            record.sources[need.key] = "not-applicable"
        else:
            to_fetch.append((need, query))

    if not to_fetch and not to_follow and not to_complete:
        if request.fhir_server and (refs := unresolved_medications(record)):
            try:
                client = _client(request.fhir_server, request, settings, session)
            except FhirAccessError as exc:
                log.info("medication references not read: %s", exc.kind)
                n = len(refs[:MAX_MEDICATION_READS])
                _medications_not_read(record, n, n, exc.message)
                return record
            _read_medications(client, record, settings)
        return record

    if not request.fhir_server:
        missing_required = [n.key for n, _ in to_fetch if n.required]
        if missing_required:
            raise DataUnavailable(missing_required)
        for need, _ in to_fetch:
            record.unavailable.add(need.key)
        for need, _ in to_follow:
            record.unavailable.add(need.key)
        for need, _ in to_complete:
            _not_read(record, need.key, cut_short[need.key] + " (no fhirServer to read the rest from)")
        return record

    try:
        client = _client(request.fhir_server, request, settings, session)
    except FhirAccessError as exc:
        record.technical_errors.append(exc.message)
        for need, _ in to_fetch + to_follow + to_complete:
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
            return (
                need,
                client.expand_bundle({"resourceType": "Bundle", "link": [{"relation": "next", "url": link}]}),
                None,
            )
        except FhirAccessError as exc:
            return need, [], exc

    jobs = [(run, it) for it in to_fetch + to_complete] + [(follow, it) for it in to_follow]
    for need, resources, error in _in_parallel(jobs, settings):
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
    _read_medications(client, record, settings)
    return record


def _client(fhir_server: str, request: HookRequest, settings: Settings, session: requests.Session | None) -> FhirClient:
    """The call's client for its `fhirServer` (given), with the call's one time budget (raises
    FhirAccessError when the server is not allowed)."""
    return FhirClient(
        fhir_server,
        request.access_token,
        settings,
        Budget(settings.fhir_budget_seconds),
        session=session or shared_session(settings),
    )


def _in_parallel(jobs: list, settings: Settings) -> list:
    if len(jobs) == 1:
        return [jobs[0][0](jobs[0][1])]
    with borrowed_executor(settings.fhir_max_workers) as pool:
        return list(pool.map(lambda job: job[0](job[1]), jobs))


#: Medication records whose medicationReference may name a Medication to read.
MEDICATION_RECORD_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration")
#: At most this many Medication resources are read per call; the rest stay unidentified (and say so).
MAX_MEDICATION_READS = 25


def unresolved_medications(record: PatientResources) -> list[str]:
    """`Medication/<id>` references of the record's medication records that the record does not hold
    (not included in the prefetch or the search results), each once, in order."""
    out: dict[str, None] = {}
    for rtype in MEDICATION_RECORD_TYPES:
        for res in record.of(rtype):
            ref = res.get("medicationReference")
            target = ref.get("reference") if isinstance(ref, dict) else None
            if (
                isinstance(target, str)
                and target.startswith("Medication/")
                and target.count("/") == 1
                and record.get(target) is None
            ):
                out[target] = None
    return list(out)


def _read_medications(client: FhirClient, record: PatientResources, settings: Settings) -> None:
    """Read the Medications that medication records name but the record lacks (same client, same time
    budget). One that cannot be read leaves its records unidentified, which the policy treats as
    possibly any drug (`initiation.4` unknown), and is noted as a technical error."""
    refs = unresolved_medications(record)[:MAX_MEDICATION_READS]
    if not refs:
        return

    def read(ref: str):
        try:
            return ref, client.read(ref), None
        except FhirAccessError as exc:
            return ref, None, exc

    failed: list[str] = []
    for _ref, res, error in _in_parallel([(read, ref) for ref in refs], settings):
        if error is not None:
            failed.append(error.message)
        elif res is not None and res.get("resourceType") == "Medication":
            record.add(res)
    if failed:
        _medications_not_read(record, len(failed), len(refs), failed[0])


def _medications_not_read(record: PatientResources, failed: int, asked: int, message: str) -> None:
    """A technical note (once) for Medications named by reference that could not be read: their records
    stay unidentified, and the note says why."""
    text = f"medications: {failed} of {asked} Medication resources could not be read ({message})"
    if text not in record.technical_errors:
        record.technical_errors.append(text)


def _not_read(record: PatientResources, key: str, message: str) -> None:
    """`key` could not be read (whole or in part): unavailable, with a technical error (once)."""
    record.unavailable.add(key)
    text = f"{key}: {message}"
    if text not in record.technical_errors:
        record.technical_errors.append(text)


def resolve_medication(
    record: PatientResources,
    request: HookRequest,
    settings: Settings,
    reference: str,
    session: requests.Session | None = None,
) -> dict | None:
    """Find a Medication named by a draft order's medicationReference outside `contained`."""
    found = record.get(reference)
    if found is not None:
        return found
    if not request.fhir_server or not reference.startswith("Medication/"):
        return None
    try:
        client = FhirClient(
            request.fhir_server,
            request.access_token,
            settings,
            Budget(min(1.0, settings.fhir_budget_seconds)),
            session=session or shared_session(settings),
        )
        res = client.read(reference)
    except FhirAccessError as exc:
        record.technical_errors.append(f"{reference}: {exc.message}")
        return None
    if res:
        record.add(res)
    return res
