"""`Questionnaire/$questionnaire-package` (Da Vinci DTR 2.2): the questionnaire, pre-filled from the chart.

Input (`dtr-qpackage-input-parameters`): `coverage` (1..1, a Coverage resource), `order` (0..*), `questionnaire`
(0..*, canonicals), `context` (0..1, our coverage-assertion-id), `changedsince` (accepted; the package is always
returned). Output (`dtr-qpackage-output-parameters`): one `packagebundle` (a collection Bundle: the Questionnaire
first, exactly one QuestionnaireResponse pre-filled with every answer the service knows, each answer marked
`information-origin` source `auto-server` with the record it comes from, and the ValueSets it names, expanded),
and `outcome` for warnings. DTR 2.0/2.1 names (`PackageBundle`, `operationOutcome`) are not sent: the 2.2 output
profile is closed to other parameter names.

The pre-fill comes from the context the hook call kept (store/documentation.py): a package request carries no
`fhirServer`. A context is found by `context`, else by the order for the same patient. Unknown context, or a
coverage or order of another patient than the context's: 404 OperationOutcome. Malformed input: 400.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..policy.data_loader import Policy
from ..policy.questions import Questions, load_questions
from ..protocol.operation_outcome import operation_outcome
from ..respond.questionnaire import build_questionnaire, build_value_sets, fhir_base, questionnaire_url
from ..store.documentation import DocumentationContext, DocumentationStore

DTR_QR_PROFILE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-questionnaireresponse"
DTR_EXT = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
INFORMATION_ORIGIN = DTR_EXT + "information-origin"
CRD_CODES = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/coverage-information-codes"
ORDER_TYPES = (
    "MedicationRequest",
    "ServiceRequest",
    "DeviceRequest",
    "NutritionOrder",
    "VisionPrescription",
    "CommunicationRequest",
    "SupplyRequest",
    "Encounter",
    "Appointment",
)


def answer_source_url(base_url: str) -> str:
    """Our extension on a pre-filled answer: the record it was read from."""
    return f"{fhir_base(base_url)}/StructureDefinition/answer-source"


class PackageError(Exception):
    def __init__(self, status: int, message: str, code: str = "invalid", expression: str | None = None):
        super().__init__(message)
        self.status = status
        self.outcome = operation_outcome(message, code, expression=expression)


@dataclass(frozen=True)
class PackageInput:
    coverage: dict
    orders: tuple[dict, ...]
    questionnaires: tuple[str, ...]
    context: str | None


def _type_id(ref) -> str | None:
    if not isinstance(ref, str):
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not parts[-2][:1].isupper() or not parts[-1]:
        return None
    return f"{parts[-2]}/{parts[-1]}"


def parse_input(body) -> PackageInput:
    """The operation's input, or PackageError(400)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise PackageError(400, "The body must be a FHIR Parameters resource.", "structure")
    params = body.get("parameter")
    if not isinstance(params, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in params):
        raise PackageError(
            400, "Parameters.parameter must be a list of named parameters.", "structure", "Parameters.parameter"
        )
    coverage = [p.get("resource") for p in params if p["name"] == "coverage"]
    orders = [p.get("resource") for p in params if p["name"] == "order"]
    questionnaires = [p.get("valueCanonical") for p in params if p["name"] == "questionnaire"]
    contexts = [p.get("valueString") for p in params if p["name"] == "context"]
    if len(coverage) != 1 or not isinstance(coverage[0], dict) or coverage[0].get("resourceType") != "Coverage":
        raise PackageError(
            400,
            "Exactly one `coverage` parameter holding a Coverage resource is required.",
            "required",
            "Parameters.parameter.where(name='coverage')",
        )
    if not all(
        isinstance(o, dict) and o.get("resourceType") in ORDER_TYPES and isinstance(o.get("id"), str) for o in orders
    ):
        raise PackageError(
            400,
            "Each `order` must hold an order resource (MedicationRequest, ...) with an id.",
            "invalid",
            "Parameters.parameter.where(name='order')",
        )
    if not all(isinstance(q, str) and q for q in questionnaires):
        raise PackageError(400, "Each `questionnaire` must be a valueCanonical.", "invalid")
    if len(contexts) > 1 or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in contexts):
        raise PackageError(
            400,
            "At most one `context` (valueString, the coverage-assertion-id) is allowed.",
            "invalid",
            "Parameters.parameter.where(name='context')",
        )
    if not orders and not questionnaires and not contexts:
        raise PackageError(
            400, "At least one of `order`, `questionnaire` or `context` is required (dtr-1).", "required"
        )
    return PackageInput(coverage[0], tuple(orders), tuple(questionnaires), contexts[0] if contexts else None)


def _patient_of(inp: PackageInput) -> str:
    """The patient the request is about: the coverage's beneficiary, which every order must share."""
    beneficiary = inp.coverage.get("beneficiary")
    patient = _type_id(beneficiary.get("reference")) if isinstance(beneficiary, dict) else None
    if patient is None or not patient.startswith("Patient/"):
        raise PackageError(400, "The Coverage names no beneficiary Patient.", "required", "Coverage.beneficiary")
    for order in inp.orders:
        subject = order.get("subject") if order.get("resourceType") != "Appointment" else None
        if isinstance(subject, dict) and _type_id(subject.get("reference")) not in (None, patient):
            raise PackageError(422, "An order is for another patient than the coverage's beneficiary.", "business-rule")
    return patient


def find_context(inp: PackageInput, docs: DocumentationStore, patient_hash: str) -> DocumentationContext:
    """The context the request names (or that its orders had), for the same patient; PackageError(404) else."""
    ctx = None
    if inp.context:
        ctx = docs.context(inp.context)
    else:
        for order in inp.orders:
            ctx = docs.latest_context_for_order(patient_hash, f"{order['resourceType']}/{order['id']}")
            if ctx is not None:
                break
    if ctx is None or ctx.patient_hash != patient_hash:
        # the same answer for an unknown context and another patient's: nothing is revealed
        raise PackageError(
            404,
            "No documentation context for this coverage and order: send the order to the "
            "order-sign service first (its coverage-assertion-id is the `context`).",
            "not-found",
        )
    return ctx


def _source_reference(source: str) -> dict:
    m = re.match(r"([A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64})", source or "")
    return {"reference": m.group(1), "display": source} if m else {"display": source}


def _answers(answers: list[dict], source: str, base_url: str) -> list[dict]:
    out = []
    for a in answers:
        answer = dict(a)
        answer["extension"] = [
            {"url": INFORMATION_ORIGIN, "extension": [{"url": "source", "valueCode": "auto-server"}]},
            {"url": answer_source_url(base_url), "valueReference": _source_reference(source)},
        ]
        out.append(answer)
    return out


def _qr_items(spec_items: list[dict], prefill: dict[str, dict], trials: list[dict], base_url: str) -> list[dict]:
    """QuestionnaireResponse items, in the Questionnaire's order, for the answers known."""
    out = []
    for spec in spec_items:
        link = spec["linkId"]
        if spec.get("type") == "group" and link == "ra-preferred.trial":
            for trial in trials:
                out.append(
                    {
                        "linkId": link,
                        "text": spec["text"],
                        "item": [
                            {"linkId": part["linkId"], "answer": _answers(part["answers"], trial["source"], base_url)}
                            for part in trial["items"]
                        ],
                    }
                )
            continue
        if spec.get("item"):
            children = _qr_items(spec["item"], prefill, trials, base_url)
            if children:
                out.append({"linkId": link, "text": spec["text"], "item": children})
            continue
        known = prefill.get(link)
        if known:
            out.append(
                {"linkId": link, "text": spec["text"], "answer": _answers(known["answers"], known["source"], base_url)}
            )
    return out


def prefilled_response(
    questionnaire: dict, ctx: DocumentationContext, patient: str, coverage_ref: str | None, authored: str, base_url: str
) -> dict:
    """The one draft QuestionnaireResponse of the package (status in-progress), pre-filled from the context
    (`qr-coverage` only when the coverage is known)."""
    prefill = {a["linkId"]: a for a in ctx.prefill if "answers" in a}
    trials = [a for a in ctx.prefill if "items" in a]
    coverage = [{"url": DTR_EXT + "qr-coverage", "valueReference": {"reference": coverage_ref}}] if coverage_ref else []
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "prefill-" + ctx.assertion_id.lower().replace("_", "-")[:50],
        "meta": {"profile": [DTR_QR_PROFILE]},
        "extension": [
            *coverage,
            {"url": DTR_EXT + "qr-context", "valueReference": {"reference": ctx.order_ref}},
            {
                "url": DTR_EXT + "intendedUse",
                "valueCodeableConcept": {"coding": [{"system": CRD_CODES, "code": "withpa"}]},
            },
        ],
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "in-progress",
        "subject": {"reference": patient},
        "authored": authored,
        "item": _qr_items(questionnaire["item"], prefill, trials, base_url),
    }


def build_package(
    body,
    *,
    docs: DocumentationStore,
    patient_hash: Callable[[str], str],
    policy: Policy,
    base_url: str,
    now: datetime,
    questions: Questions | None = None,
) -> dict:
    """The operation: a Parameters answer, or PackageError (400 bad input, 404 unknown context or patient)."""
    inp = parse_input(body)
    questions = questions or load_questions(policy)
    patient = _patient_of(inp)
    ctx = find_context(inp, docs, patient_hash(patient.split("/", 1)[1]))
    warnings: list[dict] = []
    ours = questionnaire_url(base_url, questions)
    if inp.questionnaires and not any(q.split("|", 1)[0] == ours for q in inp.questionnaires):
        issue = operation_outcome(
            "None of the requested questionnaires is offered by this payer for this "
            f"order; its questionnaire is {ours}|{questions.version}.",
            "not-found",
            "warning",
        )
        return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "resource": issue}]}
    order_refs = {f"{o['resourceType']}/{o['id']}" for o in inp.orders}
    if order_refs and ctx.order_ref not in order_refs:
        warnings.append(
            operation_outcome(
                f"The context is for {ctx.order_ref}, not for the order(s) sent: the package is the context's.",
                "business-rule",
                "warning",
            )["issue"][0]
        )
    coverage_id = inp.coverage.get("id")
    coverage_ref = ctx.coverage_ref or (f"Coverage/{coverage_id}" if isinstance(coverage_id, str) else None)
    if coverage_ref is None:
        raise PackageError(400, "The Coverage has no id and the context names none.", "required", "Coverage.id")
    questionnaire = build_questionnaire(policy, base_url, questions)
    response = prefilled_response(
        questionnaire, ctx, patient, coverage_ref, now.isoformat(timespec="seconds").replace("+00:00", "Z"), base_url
    )
    entries = [
        {"fullUrl": questionnaire["url"], "resource": questionnaire},
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": response},
    ]
    entries += [{"fullUrl": vs["url"], "resource": vs} for vs in build_value_sets(policy, base_url, questions)]
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "entry": entries,
    }
    out = [{"name": "packagebundle", "resource": bundle}]
    if warnings:
        out.append({"name": "outcome", "resource": {"resourceType": "OperationOutcome", "issue": warnings}})
    return {"resourceType": "Parameters", "parameter": out}


__all__ = [
    "PackageError",
    "PackageInput",
    "answer_source_url",
    "build_package",
    "parse_input",
    "prefilled_response",
]
