"""Cards: one per finding, citing the clause ids it rests on."""

from __future__ import annotations

import uuid

from ..policy.model import Decision, Finding
from . import suggestions as sg

TEMP_CS = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
OVERRIDE_CS = "urn:anakinra-cds:override-reason"
CLAUSES_KEY = "anakinra-cds.clauses"

TOPICS = {
    "site-of-care": ("appropriate-use", "Appropriate use"),
    "combination": ("contraindication", "Contraindication"),
    "contraindication": ("contraindication", "Contraindication"),
    "dose": ("limits", "Limits"),
    "weight-dose": ("limits", "Limits"),
    "missing-weight": ("limits", "Limits"),
    "step-therapy": ("therapy-alternatives-req", "Required therapy alternatives"),
    "documentation": ("guideline", "Guideline"),
    "program": ("insurance", "Insurance"),
    "renal": ("clinical-reminder", "Clinical reminder"),
    "reminder": ("clinical-reminder", "Clinical reminder"),
    "specialist": ("appropriate-use", "Appropriate use"),
    "demo-draft": ("guideline", "Guideline"),
    "infection": ("contraindication", "Contraindication"),
    "criteria": ("guideline", "Guideline"),
    "reading": ("guideline", "Guideline"),
    "renewal": ("guideline", "Guideline"),
}

# Which CRD configuration option (card type) switches a finding's card off.
CONFIG_OPTION = {
    "site-of-care": "appropriate-use", "combination": "contraindication", "contraindication": "contraindication",
    "dose": "limits", "weight-dose": "limits", "missing-weight": "limits", "step-therapy": "therapy-alternatives-req",
    "documentation": "appropriate-use", "program": "appropriate-use", "renal": "appropriate-use",
    "reminder": "clinical-reminder", "specialist": "appropriate-use",
    "infection": "contraindication", "criteria": "appropriate-use", "reading": "appropriate-use",
    "renewal": "appropriate-use",
}

OVERRIDES = {
    "default": [("clinically-appropriate", "Clinically appropriate for this patient; will document for the plan"),
                ("will-request-pa", "Will request prior authorization with supporting records")],
    "combination": [("switching-therapy", "Switching therapy: the other agent is being stopped"),
                    ("already-stopped", "The other agent was already stopped (chart not updated)")],
    "contraindication": [("allergy-inaccurate", "Allergy entry is inaccurate or resolved"),
                         ("benefit-outweighs-risk", "Benefit outweighs risk; monitoring in place")],
    "step-therapy": [("exemption", "Requesting a step therapy exemption (Fla. Stat. 627.42393)"),
                     ("history-elsewhere", "Step therapy completed elsewhere; records will be sent")],
    "site-of-care": [("needs-supervised-dose", "Needs a supervised first dose / injection teaching"),
                     ("unable-to-self-inject", "Patient or caregiver cannot self-inject")],
}


def _override_reasons(kind: str) -> list[dict]:
    pairs = OVERRIDES.get(kind, []) + OVERRIDES["default"]
    return [{"system": OVERRIDE_CS, "code": c, "display": d} for c, d in pairs]


def card_for(finding: Finding, decision: Decision | None, order: dict | None, *, plan_name: str, policy_url: str,
             patient_id: str, limits: sg.Limits) -> dict:
    topic_code, topic_display = TOPICS.get(finding.kind, ("guideline", "Guideline"))
    card: dict = {
        "uuid": str(uuid.uuid4()),
        "summary": finding.summary[:140],
        "indicator": finding.severity,
        "detail": finding.detail,
        "source": {"label": plan_name, "url": policy_url,
                   "topic": {"system": TEMP_CS, "code": topic_code, "display": topic_display}},
        "links": [{"label": "Coverage guideline 09-J0000-45: Anakinra (Kineret)", "url": policy_url, "type": "absolute"}],
        "extension": {CLAUSES_KEY: list(finding.clause_ids), "anakinra-cds.finding": finding.kind},
    }
    if decision is not None:
        card["extension"]["davinci-crd.associated-resource"] = f"MedicationRequest/{decision.order_id}"
        card["extension"]["anakinra-cds.policy"] = f"{decision.policy_id}@{decision.policy_revision}"
    if finding.kind not in ("demo-draft", "renewal"):     # notes that ask nothing of the prescriber
        card["overrideReasons"] = _override_reasons(finding.kind)
    sugg: list[dict] = []
    if order is not None:
        if finding.kind == "site-of-care":
            sugg.append(sg.self_administered(order))
        elif finding.kind in ("dose", "weight-dose"):
            change = sg.dose_change(order, limits, finding.data)      # none when no safe dose exists
            if change is not None:
                sugg.append(change)
        elif finding.kind == "combination" and finding.data.get("drafts"):
            labels = dict(zip(finding.data["drafts"], finding.data.get("draft_labels", finding.data["drafts"])))
            sugg.extend(sg.delete_drafts(list(finding.data["drafts"]), labels))
        elif finding.kind == "renal":
            change = sg.every_other_day(order, limits, finding.data)
            if change is not None:
                sugg.append(change)
        elif finding.kind == "demo-draft":
            sugg.append(sg.draft_kineret(order, patient_id, limits))
    if sugg:
        card["suggestions"] = sugg
        card["selectionBehavior"] = "at-most-one"
    return card
