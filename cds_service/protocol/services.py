"""The CDS services this server offers, with their prefetch templates.

Every template uses only CDS Hooks 2.0 tokens ({{context.patientId}}, {{context.userId}},
{{userPractitionerId}}) and the 2.0 query subset (read, type search, token equality, _sort,
_count). Each prefetch key is also a *data need*: when the client leaves it out (or sends
null / an OperationOutcome) the gather layer runs the same query against `fhirServer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..facts.terminology import valuesets


@dataclass(frozen=True)
class DataNeed:
    key: str
    template: str
    resource_types: tuple[str, ...]
    required: bool          # 412 when neither prefetch nor the FHIR server can supply it
    single: bool = False    # a read of one resource rather than a search


def _loinc_list() -> str:
    codes = valuesets.observation_loincs()
    return ",".join(f"http://loinc.org|{c}" for c in codes)


@lru_cache(maxsize=1)
def data_needs() -> tuple[DataNeed, ...]:
    pid = "{{context.patientId}}"
    return (
        DataNeed("patient", f"Patient/{pid}", ("Patient",), True, single=True),
        DataNeed("user", "{{context.userId}}", ("Practitioner", "PractitionerRole"), False, single=True),
        DataNeed("userRoles", "PractitionerRole?practitioner={{userPractitionerId}}", ("PractitionerRole",), False),
        DataNeed("coverage", f"Coverage?patient={pid}&status=active", ("Coverage",), True),
        DataNeed("conditions", f"Condition?patient={pid}", ("Condition",), True),
        DataNeed("observations", f"Observation?patient={pid}&code={_loinc_list()}&_sort=-date", ("Observation",), True),
        DataNeed("medicationRequests", f"MedicationRequest?patient={pid}", ("MedicationRequest", "Medication"), True),
        DataNeed("medicationStatements", f"MedicationStatement?patient={pid}", ("MedicationStatement", "Medication"), True),
        DataNeed("medicationDispenses", f"MedicationDispense?patient={pid}", ("MedicationDispense", "Medication"), False),
        DataNeed("medicationAdministrations", f"MedicationAdministration?patient={pid}", ("MedicationAdministration", "Medication"), False),
        DataNeed("allergies", f"AllergyIntolerance?patient={pid}", ("AllergyIntolerance",), True),
        DataNeed("encounters", f"Encounter?patient={pid}&_sort=-date", ("Encounter",), False),
        DataNeed("immunizations", f"Immunization?patient={pid}", ("Immunization",), False),
        DataNeed("procedures", f"Procedure?patient={pid}", ("Procedure",), False),
        DataNeed("claimResponses", f"ClaimResponse?patient={pid}", ("ClaimResponse",), False),
        # DTR (issue 21): completed documentation questionnaires the EHR stored; only ours are read (dtr_core).
        # The questionnaire's canonical depends on the deployment's base URL, so the search is by status.
        DataNeed("questionnaireResponses", f"QuestionnaireResponse?patient={pid}&status=completed",
                 ("QuestionnaireResponse",), False),
    )


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str


SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        id="anakinra-order-sign",
        hook="order-sign",
        title="Kineret (anakinra) coverage requirements at signing",
        description=(
            "Evaluates draft anakinra (Kineret) MedicationRequests against the plan's coverage guideline "
            "09-J0000-45 and returns Da Vinci CRD coverage information (covered, prior authorization, "
            "documentation needed) with cards for what the prescriber can change: site of care, a "
            "conflicting biologic, the dose, step therapy."
        ),
        usage_requirements=(
            "Send draftOrders with the anakinra MedicationRequest. Prefetch is requested for the patient, "
            "active Coverage, Conditions, weight/renal/neutrophil/SARS-CoV-2 Observations, medication "
            "history and allergies; anything not prefetched is read from fhirServer (with fhirAuthorization "
            "when given)."
        ),
    ),
    ServiceDefinition(
        id="anakinra-order-select",
        hook="order-select",
        title="Kineret (anakinra) coverage preview at selection",
        description=(
            "Early coverage preview for a selected anakinra (Kineret) order under guideline 09-J0000-45: "
            "covered or not, whether prior authorization is likely, and what to change. Never asks for "
            "documentation (CRD secondary hook)."
        ),
        usage_requirements=(
            "Send draftOrders and selections; only the selected anakinra MedicationRequests are evaluated."
        ),
    ),
)

SERVICES_BY_ID = {s.id: s for s in SERVICES}


# CRD 2.2 deviations.md: each option has code, type, name, description and a default (§dev-4); one boolean
# option per card type the service returns, coded from the CRD Response Types (cdshooks-card-type) (§dev-5,
# §dev-7); codes, names and descriptions unique within a service (§dev-8). respond/cards.py CONFIG_OPTION
# maps each card to the option (its card type) that switches it off.
CRD_CONFIGURATION_OPTIONS = (
    {"code": "coverage-info", "type": "boolean", "name": "Coverage information",
     "description": "Return the coverage-information system action on each anakinra order.", "default": True},
    {"code": "unsolicited-determ", "type": "boolean", "name": "Unsolicited determinations",
     "description": "Issue the plan's approval (pa-needed satisfied) when every clause is met.", "default": True},
    {"code": "therapy-alternatives-req", "type": "boolean", "name": "Required step therapy",
     "description": "Cards naming the preferred products that must be tried first.", "default": True},
    {"code": "contraindication", "type": "boolean", "name": "Contraindications and combinations",
     "description": "Cards for contraindications and prohibited combinations (e.g. TNF antagonists).", "default": True},
    {"code": "limits", "type": "boolean", "name": "Quantity and dose limits",
     "description": "Cards when the dose or quantity exceeds the guideline's limits.", "default": True},
    {"code": "appropriate-use", "type": "boolean", "name": "Appropriate use",
     "description": "Cards on the site of care (self-administration) and the prescriber's specialty.", "default": True},
    {"code": "clinical-reminder", "type": "boolean", "name": "Clinical reminders",
     "description": "Reminders: renal dosing, neutrophil monitoring, live vaccines, injection sites.", "default": True},
    {"code": "guideline", "type": "boolean", "name": "Guideline",
     "description": "Cards on what the guideline still needs documented, programs it does not decide (FEP, SAO, "
                    "Medicare Part D), how it was read, and renewals.", "default": True},
    {"code": "max-cards", "type": "integer", "name": "Maximum cards",
     "description": "Maximum number of cards returned; the most severe are kept.", "default": 10},
)


def discovery_document() -> dict:
    needs = data_needs()
    prefetch = {n.key: n.template for n in needs}
    services = []
    for s in SERVICES:
        services.append({
            "hook": s.hook,
            "id": s.id,
            "title": s.title,
            "description": s.description,
            "usageRequirements": s.usage_requirements,
            "prefetch": prefetch,
            "extension": {
                "davinci-crd.configuration-options": list(CRD_CONFIGURATION_OPTIONS),
                "davinci-crd.version": ["2.2"],
            },
        })
    return {"services": services}
