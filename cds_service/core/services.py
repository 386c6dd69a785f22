"""The CDS services this server offers (one per hook) and its discovery document.

Each service's prefetch is the gather layer's data needs (`gather.data_needs`); its description names
the guideline by the id in the policy data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..gather.data_needs import data_needs
from ..policy.data_loader import load_policy


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description_template: str  # `{policy_id}`: the guideline's id, from the policy data
    usage_requirements: str


SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        id="anakinra-order-sign",
        hook="order-sign",
        title="Kineret (anakinra) coverage requirements at signing",
        description_template=(
            "Evaluates draft anakinra (Kineret) MedicationRequests against the plan's coverage guideline "
            "{policy_id} and returns Da Vinci CRD coverage information (covered, prior authorization, "
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
        description_template=(
            "Early coverage preview for a selected anakinra (Kineret) order under guideline {policy_id}: "
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
    {
        "code": "coverage-info",
        "type": "boolean",
        "name": "Coverage information",
        "description": "Return the coverage-information system action on each anakinra order.",
        "default": True,
    },
    {
        "code": "unsolicited-determ",
        "type": "boolean",
        "name": "Unsolicited determinations",
        "description": "Issue the plan's approval (pa-needed satisfied) when every clause is met.",
        "default": True,
    },
    {
        "code": "therapy-alternatives-req",
        "type": "boolean",
        "name": "Required step therapy",
        "description": "Cards naming the preferred products that must be tried first.",
        "default": True,
    },
    {
        "code": "contraindication",
        "type": "boolean",
        "name": "Contraindications and combinations",
        "description": "Cards for contraindications and prohibited combinations (e.g. TNF antagonists).",
        "default": True,
    },
    {
        "code": "limits",
        "type": "boolean",
        "name": "Quantity and dose limits",
        "description": "Cards when the dose or quantity exceeds the guideline's limits.",
        "default": True,
    },
    {
        "code": "appropriate-use",
        "type": "boolean",
        "name": "Appropriate use",
        "description": "Cards on the site of care (self-administration) and the prescriber's specialty.",
        "default": True,
    },
    {
        "code": "clinical-reminder",
        "type": "boolean",
        "name": "Clinical reminders",
        "description": "Reminders: renal dosing, neutrophil monitoring, live vaccines, injection sites.",
        "default": True,
    },
    {
        "code": "guideline",
        "type": "boolean",
        "name": "Guideline",
        "description": "Cards on what the guideline still needs documented, programs it does not decide (FEP, SAO, "
        "Medicare Part D), how it was read, and renewals.",
        "default": True,
    },
    {
        "code": "max-cards",
        "type": "integer",
        "name": "Maximum cards",
        "description": "Maximum number of cards returned; the most severe are kept.",
        "default": 10,
    },
)


def discovery_document() -> dict:
    policy_id = load_policy().id
    needs = data_needs()
    prefetch = {n.key: n.template for n in needs}
    services = []
    for s in SERVICES:
        services.append(
            {
                "hook": s.hook,
                "id": s.id,
                "title": s.title,
                "description": s.description_template.format(policy_id=policy_id),
                "usageRequirements": s.usage_requirements,
                "prefetch": prefetch,
                "extension": {
                    "davinci-crd.configuration-options": list(CRD_CONFIGURATION_OPTIONS),
                    "davinci-crd.version": ["2.2"],
                },
            }
        )
    return {"services": services}


__all__ = ["CRD_CONFIGURATION_OPTIONS", "SERVICES", "SERVICES_BY_ID", "ServiceDefinition", "discovery_document"]
