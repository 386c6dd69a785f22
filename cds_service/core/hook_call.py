"""One hook call, start to finish: gather -> facts -> policy -> respond (the request is validated already).

The one place a decision is made and answered: used by the hook route, the explain route and
`anakinra-cds explain`. The plan's approvals on file (`approvals_on_file.PlanAuthorizations`, when there is a
store) and a record that could not be read in full (indeterminate) are applied here, each by the policy layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

from ..config import Settings
from ..documentation import DocumentationLoop, form_patient_ref
from ..facts.builder import build_cases, classify_drafts
from ..facts.model import CaseFacts
from ..forms.links import FormLinkContext, FormLinks, form_url
from ..gather.collector import DataUnavailable, collect, resolve_medication
from ..gather.patient_resources import PatientResources
from ..gather.prefetch import classify
from ..policy.data_loader import load_policy
from ..policy.engine import evaluate
from ..policy.model import Decision, Finding
from ..protocol.request import HookRequest
from ..respond.coverage_information import new_assertion_id
from ..respond.response import OrderOutcome, build_response, empty_response
from ..respond.suggestions import Limits
from ..store import member_ref, patient_hash
from .approvals_on_file import PlanAuthorizations

log = logging.getLogger(__name__)

REQUIRED_FOR_DECISION = (
    "patient",
    "coverage",
    "conditions",
    "medicationRequests",
    "medicationStatements",
    "allergies",
    "observations",
)


@dataclass
class CallResult:
    status: int
    body: dict
    decisions: list[Decision] = field(default_factory=list)
    cases: list[CaseFacts] = field(default_factory=list)
    outcomes: list[OrderOutcome] = field(default_factory=list)
    technical_errors: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


def _prefetch_index(prefetch: dict, classified: dict) -> dict[str, dict]:
    index: dict[str, dict] = {}
    for key in prefetch:
        value = classified[key] = classify(prefetch, key)
        for res in value.resources:
            rt, rid = res.get("resourceType"), res.get("id")
            if isinstance(rt, str) and isinstance(rid, str):
                index.setdefault(f"{rt}/{rid}", res)
    return index


def policy_url(settings: Settings) -> str:
    """Where the cards link to the guideline (this service's /policy/<id>, the id from the policy data)."""
    return settings.external_base_url.rstrip("/") + "/policy/" + load_policy().id


def documentation_form_url(
    settings: Settings, hash_key: bytes, case: CaseFacts, assertion_id: str, practitioner_ref: str, now: datetime
) -> str | None:
    """The signed, short-lived link to the documentation form for this decision's context (its
    coverage-assertion-id), bound to the order, the patient (as the form knows it: the pseudonym) and the
    practitioner; None without a practitioner to author the answers."""
    if not practitioner_ref or not case.order.reference:
        return None
    patient_id = case.patient.reference.split("/", 1)[1]
    token = FormLinks(hash_key, settings.form_link_minutes).issue(
        FormLinkContext(
            context_id=assertion_id,
            order_ref=case.order.reference,
            patient_ref=form_patient_ref(patient_hash(hash_key, patient_id)),
            practitioner_ref=practitioner_ref,
        ),
        now,
    )
    return form_url(settings.external_base_url, token)


def run_hook(
    req: HookRequest,
    settings: Settings,
    now: datetime,
    hash_key: bytes,
    session: requests.Session | None = None,
    authorizations: PlanAuthorizations | None = None,
    explain: bool = False,
    documentation: DocumentationLoop | None = None,
) -> CallResult:
    """`authorizations` (None without a store) supplies the plan's approvals for
    continuation, reports a current one as satisfied and issues new ones; an explain call reads and
    reports them, as the hook would, but never issues one. An explain call also evaluates the pathway
    not applied (`alternative-pathway`: the initiation criteria of a member on continuation).
    `documentation` (documentation.DocumentationLoop or None): reads the prescriber's completed questionnaires back
    and keeps the context of a decision that asks for them (issue 21)."""
    policy = load_policy()
    today = now.astimezone(UTC).date() if now.tzinfo else now.date()
    plan_name = settings.plan_name or policy.plan
    purl = policy_url(settings)
    classified: dict = {}
    index = _prefetch_index(req.prefetch, classified)

    def lookup_medication(ref: str) -> dict | None:
        found = index.get(ref)
        if found is None and ref.startswith("Medication/") and req.fhir_server:
            scratch = PatientResources(patient_id=req.patient_id)
            found = resolve_medication(scratch, req, settings, ref, session)
            if found is not None:
                index[ref] = found
        return found

    drafts = classify_drafts(req.draft_entries(), req.selections, req.hook, lookup_medication)
    targets = [d for d in drafts if d.medication.is_anakinra and d.selected]
    if not targets:
        empty = [d for d in drafts if not d.medication.has_medication and d.selected]
        if settings.demo_draft_card and (empty or not drafts):
            order = empty[0].resource if empty else {"resourceType": "MedicationRequest", "id": "request-123"}
            finding = Finding(
                "demo-draft",
                "info",
                "Demo: draft a Kineret (anakinra) order to see this plan's coverage requirements.",
                f"This service checks anakinra (Kineret) orders against the plan's coverage guideline {policy.id}. "
                "The Sandbox's medication list has no injectable drugs, so use the suggestion below to draft "
                "Kineret 100 mg subcutaneously once daily (28 syringes per 28 days), then open **Rx Sign** and "
                "press **Sign Order**.\n\n(Shown only in the demo configuration.)",
                (),
                {},
            )
            body = build_response(
                [],
                hook=req.hook,
                hook_instance=req.hook_instance,
                today=today,
                plan_name=plan_name,
                policy_url=purl,
                patient_id=req.patient_id,
                limits=Limits.from_policy(policy.limits),
                extra_findings=[finding],
                extra_order=order,
            )
            return CallResult(200, body)
        return CallResult(200, empty_response(req.hook))

    record = collect(req, settings, session, classified=classified)  # raises DataUnavailable -> 412
    # Index everything we gathered, for references (PractitionerRole, Condition, Medication ...).
    for rtype, items in record.resources.items():
        for rid, res in items.items():
            index.setdefault(f"{rtype}/{rid}", res)

    def lookup(ref: str) -> dict | None:
        if not ref:
            return None
        if ref in index:
            return index[ref]
        parts = ref.rstrip("/").split("/")
        if len(parts) >= 2:
            return index.get(f"{parts[-2]}/{parts[-1]}")
        return None

    key = hash_key
    resources = {rt: list(items.values()) for rt, items in record.resources.items()}
    cases = build_cases(
        drafts=drafts,
        resources=resources,
        patient_id=req.patient_id,
        user_id=req.user_id,
        hook=req.hook,
        today=today,
        hasher=lambda v: member_ref(key, v),
        lookup=lookup,
        unavailable=frozenset(record.unavailable),
    )
    # --- DTR (issue 21): the prescriber's completed questionnaires, from our store and the EHR's data ---
    loop = documentation or DocumentationLoop(policy, settings.external_base_url, lambda v: patient_hash(key, v))
    ehr_responses = list(record.resources.get("QuestionnaireResponse", {}).values())
    cases = [loop.read_back(case, ehr_responses) for case in cases]
    # --- end DTR ---
    technical = None
    lost = [k for k in record.unavailable if k in REQUIRED_FOR_DECISION]
    if record.technical_errors and lost:
        technical = "The patient's record could not be read in full: " + "; ".join(record.technical_errors)[:500]
    outcomes: list[OrderOutcome] = []
    decisions: list[Decision] = []
    for case in cases:
        previous = authorizations.previous(case) if authorizations is not None else ()
        # The pathway not applied (initiation, on continuation) is evaluated for explanations only.
        decision = evaluate(
            case, policy, plan_authorizations=previous, alternative_pathway=explain, record_unread=technical or None
        )
        expiry = None
        satisfied = None
        assertion = new_assertion_id()  # one per decision: the answer, the audit row and an approval share it
        if authorizations is not None:  # an explanation reports approvals on file, never issues one
            decision, satisfied, expiry = authorizations.apply(
                case, decision, issue=not explain, assertion_id=assertion
            )
        decisions.append(decision)
        # DTR (issue 21): the questionnaire when it would help; at the hook, the context it needs is kept and the
        # card links to the form (an explanation names the questionnaire but keeps nothing and links nowhere).
        form_link = None
        if not explain and loop.remember(case, decision, assertion, req.fhir_server):
            form_link = documentation_form_url(settings, hash_key, case, assertion, req.user_id, now)
        outcomes.append(
            OrderOutcome(
                decision,
                case.order.raw,
                case.patient.coverage.source,
                technical,
                satisfied,
                expiry,
                assertion_id=assertion,
                questionnaire=loop.questionnaire(case, decision),
                form_url=form_link,
            )
        )
    body = build_response(
        outcomes,
        hook=req.hook,
        hook_instance=req.hook_instance,
        today=today,
        plan_name=plan_name,
        policy_url=purl,
        patient_id=req.patient_id,
        limits=Limits.from_policy(policy.limits),
        config=req.crd_configuration,
    )
    return CallResult(200, body, decisions, cases, outcomes, list(record.technical_errors), sorted(record.unavailable))


__all__ = ["CallResult", "DataUnavailable", "policy_url", "run_hook"]
