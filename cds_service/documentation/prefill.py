"""What the service already knows for the questionnaire, from the chart and the decision at order-sign time.

Each pre-filled answer names the record it comes from (a FHIR reference in the EHR's data, or the order's note),
so that the package's QuestionnaireResponse can mark it `auto-server` with its source. Computed when the decision
is made and kept with the context (store/documentation.py): the package is built later without the EHR's data.
Plain JSON: [{"linkId", "answers": [{"valueBoolean": true} ...], "source": "MedicationDispense/x"}].
"""

from __future__ import annotations

from ..facts.model import CaseFacts
from ..policy.data_loader import Policy
from ..policy.model import Decision, Outcome
from ..policy.questions import Questions
from ..respond.questionnaire import value_set_codes


def _coding(policy: Policy, questions: Questions, value_set: str, code: str) -> dict | None:
    for system, c, display in value_set_codes(policy, questions, value_set):
        if c == code:
            return {"system": system, "code": c, "display": display}
    return None


def _first_reference(decision: Decision, clause_id: str) -> str | None:
    for top in decision.tree:
        node = top.find(clause_id)
        if node is not None:
            for n in node.walk():
                for e in n.evidence:
                    if e.reference:
                        return e.reference
    return None


def prefill_answers(case: CaseFacts, decision: Decision, policy: Policy, questions: Questions) -> list[dict]:
    """The answers the chart and the order already give, each with its source record."""
    out: list[dict] = []
    spec = questions.by_link_id()

    def add(link: str, answers: list[dict], source: str | None) -> None:
        if answers and source and link in spec and not any(a["linkId"] == link for a in out):
            out.append({"linkId": link, "answers": answers, "source": source})

    if decision.indication:
        coding = _coding(policy, questions, "indications", decision.indication)
        dx = next((d for d in case.patient.diagnoses if decision.indication in d.indications and d.active), None)
        if coding:
            add("indication", [{"valueCoding": coding}], dx.source if dx else case.order.reference)
    pathway = _coding(policy, questions, "pathways", decision.pathway)
    if pathway:
        add("pathway", [{"valueCoding": pathway}], _first_reference(decision, "continuation.1") or case.order.reference)
    # initiation 1.a met by the dispensing records: treated within 90 days, not samples
    for top in decision.tree:
        recent = top.find("initiation.1.a")
        if recent is not None and recent.outcome is Outcome.MET:
            source = next((e.reference for e in recent.evidence if e.reference), None)
            add("continuing.treated", [{"valueBoolean": True}], source)
            add("continuing.not-samples", [{"valueBoolean": True}], source)
        specialist = top.find("initiation.2") or top.find("continuation.3")
        if specialist is not None and specialist.outcome is Outcome.MET:
            add(
                "specialist.consulted",
                [{"valueBoolean": True}],
                next((e.reference for e in specialist.evidence if e.reference), None),
            )
    # what the order's notes state
    for key, items in questions.statement_items().items():
        st = case.order.prescriber_statement.get(key)
        if st is None:
            continue
        for item in items:
            if item["type"] == "boolean":
                add(item["linkId"], [{"valueBoolean": True}], st.source)
            elif key == "preferred_tried_list" and st.items is not None:
                codes = [_coding(policy, questions, "preferred-tried", k) for k in sorted(st.items)] or [
                    _coding(policy, questions, "preferred-tried", "none")
                ]
                add(item["linkId"], [{"valueCoding": c} for c in codes if c], st.source)
    use = case.order.prescriber_statement.get("anakinra_use")
    if use is not None and use.when is not None and use.when[0] == use.when[1]:
        add("continuing.last-dose", [{"valueDate": use.when[1].isoformat()}], use.source)
    # intolerances of the conventional agents the chart records
    conventional = set(policy.data["ra_conventional_agents"])
    intolerant = [
        (a.substance, a.source)
        for a in case.patient.allergies
        if a.substance in conventional and a.active and not a.refuted and not a.unconfirmed
    ]
    intolerant += [
        (s.drug, s.source) for s in case.patient.medications if s.drug in conventional and s.stopped_reason == "adverse"
    ]
    if intolerant:
        codings = {k: _coding(policy, questions, "conventional-agents", k) for k, _ in intolerant}
        add("ra-conventional.intolerance", [{"valueCoding": c} for c in codings.values() if c], intolerant[0][1])
    return out


def prefill_trials(case: CaseFacts, policy: Policy, questions: Questions) -> list[dict]:
    """The preferred products the chart shows tried, as repeats of the trial group (each with its source)."""
    out = []
    outcome_of = {"ineffective": "inadequate-response", "adverse": "intolerance"}
    for s in case.patient.medications:
        if not s.preferred_product or s.is_sample or s.kind == "draft" or s.start is None:
            continue
        product = _coding(policy, questions, "preferred-products", s.preferred_product)
        outcome = _coding(policy, questions, "trial-outcomes", outcome_of.get(s.stopped_reason or "", "other"))
        parts = [
            {"linkId": "ra-preferred.trial.product", "answers": [{"valueCoding": product}]},
            {"linkId": "ra-preferred.trial.start", "answers": [{"valueDate": s.start.isoformat()}]},
        ]
        if s.end is not None:
            parts.append({"linkId": "ra-preferred.trial.end", "answers": [{"valueDate": s.end.isoformat()}]})
        parts.append({"linkId": "ra-preferred.trial.outcome", "answers": [{"valueCoding": outcome}]})
        out.append({"linkId": "ra-preferred.trial", "source": s.source, "items": parts})
    return out
