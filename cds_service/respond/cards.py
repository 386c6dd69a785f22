"""Cards: one per finding, citing the clause ids it rests on."""

from __future__ import annotations

import uuid

from ..policy.data_loader import load_policy
from ..policy.model import Decision, Finding, Outcome
from . import suggestions as sg

# CRD 2.2 moved the card types out of its `temp` code system into THO (CRDCardType.fsh: "include codes from
# system $cdshooks-card-type"); the displays are THO's.
CARD_TYPE_CS = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
OVERRIDE_CS = "urn:anakinra-cds:override-reason"
CLAUSES_KEY = "anakinra-cds.clauses"

# CDS Hooks 2.0 Card.summary: "One-sentence, <140-character summary message" (the CRD test kit fails 140).
MAX_SUMMARY = 139

CARD_TYPES = {
    "appropriate-use": "Appropriate Use",
    "contraindication": "Contraindication",
    "limits": "Limits",
    "therapy-alternatives-req": "Required Therapy Alternatives",
    "guideline": "Guideline",
    "clinical-reminder": "Clinical Reminder",
}

# Finding kind -> card type. The program card (FEP, SAO, Medicare Part D: "follow the FEP guidelines") is a
# `guideline` card: THO's `insurance` type is for updating the member's coverage record, which it is not.
TOPICS = {
    "site-of-care": "appropriate-use",
    "combination": "contraindication",
    "contraindication": "contraindication",
    "dose": "limits",
    "weight-dose": "limits",
    "missing-weight": "limits",
    "step-therapy": "therapy-alternatives-req",
    "documentation": "guideline",
    "program": "guideline",
    "renal": "clinical-reminder",
    "reminder": "clinical-reminder",
    "specialist": "appropriate-use",
    "demo-draft": "guideline",
    "infection": "contraindication",
    "criteria": "guideline",
    "reading": "guideline",
    "renewal": "guideline",
}

# Which CRD configuration option switches a finding's card off: its card type. CRD 2.2 §dev-5: a boolean
# option "for each type of card they support ... where setting the flag to false will result in the server
# not returning any cards of the specified type". The demo card is not configurable (demo only).
CONFIG_OPTION = {kind: code for kind, code in TOPICS.items() if kind != "demo-draft"}


def fit_summary(text: str) -> str:
    """The card summary, under 140 characters. A longer text (a data or code change that went too far) is
    cut at a word boundary and marked with an ellipsis rather than cut mid-word; the tests keep every text
    we ship short enough that this never happens."""
    text = " ".join(text.split())
    if len(text) <= MAX_SUMMARY:
        return text
    cut = text[: MAX_SUMMARY - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "\u2026"


OVERRIDES = {
    "default": [
        ("clinically-appropriate", "Clinically appropriate for this patient; will document for the plan"),
        ("will-request-pa", "Will request prior authorization with supporting records"),
    ],
    "combination": [
        ("switching-therapy", "Switching therapy: the other agent is being stopped"),
        ("already-stopped", "The other agent was already stopped (chart not updated)"),
    ],
    "contraindication": [
        ("allergy-inaccurate", "Allergy entry is inaccurate or resolved"),
        ("benefit-outweighs-risk", "Benefit outweighs risk; monitoring in place"),
    ],
    "step-therapy": [
        ("exemption", "Requesting a step therapy exemption (Fla. Stat. 627.42393)"),
        ("history-elsewhere", "Step therapy completed elsewhere; records will be sent"),
    ],
    "site-of-care": [
        ("needs-supervised-dose", "Needs a supervised first dose / injection teaching"),
        ("unable-to-self-inject", "Patient or caregiver cannot self-inject"),
    ],
}


def _override_reasons(kind: str) -> list[dict]:
    pairs = OVERRIDES.get(kind, []) + OVERRIDES["default"]
    return [{"system": OVERRIDE_CS, "code": c, "display": d} for c, d in pairs]


def card_for(
    finding: Finding,
    decision: Decision | None,
    order: dict | None,
    *,
    plan_name: str,
    policy_url: str,
    patient_id: str,
    limits: sg.Limits,
) -> dict:
    topic_code = TOPICS.get(finding.kind, "guideline")
    card: dict = {
        "uuid": str(uuid.uuid4()),
        "summary": fit_summary(finding.summary),
        "indicator": finding.severity,
        "detail": finding.detail,
        "source": {
            "label": plan_name,
            "url": policy_url,
            "topic": {"system": CARD_TYPE_CS, "code": topic_code, "display": CARD_TYPES[topic_code]},
        },
        "links": [
            {
                "label": f"Coverage guideline {load_policy().id}: Anakinra (Kineret)",
                "url": policy_url,
                "type": "absolute",
            }
        ],
        "extension": {CLAUSES_KEY: list(finding.clause_ids), "anakinra-cds.finding": finding.kind},
    }
    if decision is not None:
        # CRD CDSHookServiceResponseExtensionAssociatedResource: a Reference, 0..* (a JSON array of References)
        card["extension"]["davinci-crd.associated-resource"] = [{"reference": f"MedicationRequest/{decision.order_id}"}]
        card["extension"]["anakinra-cds.policy"] = f"{decision.policy_id}@{decision.policy_revision}"
    if finding.kind not in ("demo-draft", "renewal"):  # notes that ask nothing of the prescriber
        card["overrideReasons"] = _override_reasons(finding.kind)
    sugg: list[dict] = []
    if order is not None:
        if finding.kind == "site-of-care":
            sugg.append(sg.self_administered(order))
        elif finding.kind in ("dose", "weight-dose"):
            change = sg.dose_change(order, limits, finding.data)  # none when no safe dose exists
            if change is not None:
                sugg.append(change)
        elif finding.kind == "combination" and finding.data.get("drafts"):
            drafts = finding.data["drafts"]
            labels = dict(zip(drafts, finding.data.get("draft_labels", drafts), strict=True))
            sugg.extend(sg.delete_drafts(list(drafts), labels))
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


DOCUMENTATION_SUMMARY = "Complete the Kineret documentation"


def _asking_clauses(decision: Decision) -> list[str]:
    """The open clauses that ask for something (UNKNOWN leaves with a `missing` item): what the form is about."""
    out: list[str] = []
    for top in decision.coverage_tree():
        for node in top.pending():
            if node.outcome is Outcome.UNKNOWN and node.missing and node.clause_id not in out:
                out.append(node.clause_id)
    return out


def documentation_card(decision: Decision, form_url: str | None, *, plan_name: str, policy_url: str) -> dict | None:
    """The card that links to the service's own documentation form (for EHRs without DTR, and the demo): an
    `absolute` link to `form_url` (short-lived and signed by the caller, bound to the context and the order).
    None without a URL. CRD: DTR itself is never launched from a card; this is the service's own page."""
    if not form_url:
        return None
    return {
        "uuid": str(uuid.uuid4()),
        "summary": DOCUMENTATION_SUMMARY,
        "indicator": "info",
        "detail": "The plan needs a few answers from you to decide coverage of this order. Most are filled in from "
        "the chart: review them, answer the rest, and sign the order again.",
        "source": {
            "label": plan_name,
            "url": policy_url,
            "topic": {"system": CARD_TYPE_CS, "code": "guideline", "display": CARD_TYPES["guideline"]},
        },
        "links": [{"label": DOCUMENTATION_SUMMARY, "url": form_url, "type": "absolute"}],
        "extension": {
            CLAUSES_KEY: _asking_clauses(decision),
            "anakinra-cds.finding": "documentation-form",
            "davinci-crd.associated-resource": [{"reference": f"MedicationRequest/{decision.order_id}"}],
            "anakinra-cds.policy": f"{decision.policy_id}@{decision.policy_revision}",
        },
    }
