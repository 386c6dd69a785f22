"""Walk the policy: every clause whose missing item asks the prescriber for a statement has a question in the
documentation questionnaire, and answering that question "yes" (the chart otherwise complete) makes the clause met;
every question that reads a statement names clauses that read it.

The charts that leave each clause open are the policy builders' (tests/policy/builders.py): a complete RA chart,
with the one fact taken out that the clause needs."""

from __future__ import annotations

import pytest

from cds_service.documentation.answers import apply_answers, read_answers
from cds_service.facts.terminology.loader import data as terminology_data
from cds_service.policy.model import Need, Outcome
from cds_service.policy.questions import load_questions
from cds_service.respond.questionnaire import build_questionnaire, questionnaire_canonical
from tests.policy.builders import (
    POLICY,
    ago,
    anakinra_dispense,
    case,
    covid_case,
    decide,
    misc_case,
    node,
    prior_auth,
    span,
)

BASE = "https://cds.example.org"
QUESTIONS = load_questions()
QUESTIONNAIRE = build_questionnaire(POLICY, BASE)


def _on_anakinra_by_statement():
    return case(medications=(span("anakinra", kind="statement", active=True, start=ago(months=2)),))


# clause -> a chart (builders) on which the clause is open (UNKNOWN) for want of the prescriber's word
OPEN = {
    "initiation.1.b": _on_anakinra_by_statement,
    "initiation.1.c.ii.II": lambda: case(age=15),
    "initiation.2": lambda: case(specialties=("family-medicine",)),
    "continuation.3": lambda: case(
        specialties=("family-medicine",),
        prior_authorizations=(prior_auth(),),
        medications=(anakinra_dispense(20, response="benefit"),),
    ),
    "table1.ra.1.d": lambda: case(medications=()),
    "table1.ra.2.f": lambda: case(medications=()),
    "continuation.2": lambda: case(prior_authorizations=(prior_auth(),), medications=(anakinra_dispense(20),)),
    "table1.covid-19.4": lambda: covid_case(statements=()),
    "table1.covid-19.5": lambda: covid_case(statements=()),
    "table1.mis-c.4.b": misc_case,
}

# A plausible answer to each detail question a "yes" enables (required ones must be answered).
DETAIL = {
    "text": {"valueString": "Synthetic: supported by the treating team's assessment."},
    "string": {"valueString": "Synthetic Rheumatology, 2026-02-10"},
    "date": {"valueDate": "2026-02-20"},
}


def _statement_clauses() -> set[str]:
    """The clauses that ask the prescriber for a statement (Need.ADMIN_DOC) on the charts above."""
    found = set()
    for make in OPEN.values():
        for top in decide(make()).coverage_tree():
            for leaf in top.pending():
                if leaf.outcome is Outcome.UNKNOWN and any(m.need is Need.ADMIN_DOC for m in leaf.missing):
                    found.add(leaf.clause_id)
    return found


def _group_for(clause: str) -> dict:
    return next(g for g in QUESTIONS.data["groups"] if clause in g["clauses"])


def _yes_response(clause: str, patient_ref: str = "Patient/p1") -> dict:
    """A completed response answering "yes" to every statement question of the clause's group."""
    group = _group_for(clause)
    items = []
    for item in group["items"]:
        if item.get("reads") == "statement" and item["type"] == "boolean":
            items.append({"linkId": item["linkId"], "answer": [{"valueBoolean": True}]})
        elif item.get("reads") == "statement" and item["type"] == "choice":
            items.append({"linkId": item["linkId"], "answer": [{"valueCoding": {"code": "none"}}]})
        elif item.get("reads") in ("text", "date") and item["type"] in DETAIL:
            items.append({"linkId": item["linkId"], "answer": [DETAIL[item["type"]]]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "walk",
        "status": "completed",
        "questionnaire": questionnaire_canonical(BASE, QUESTIONS),
        "subject": {"reference": patient_ref},
        "authored": "2026-03-02T15:00:00Z",
        "item": [{"linkId": group["linkId"], "item": items}],
    }


def test_every_clause_asking_for_a_statement_has_a_question():
    asking = _statement_clauses()
    assert {"initiation.1.b", "initiation.1.c.ii.II", "table1.ra.2.f"} <= asking  # the walk found them
    assert asking <= QUESTIONS.clauses()
    assert asking <= set(OPEN)


@pytest.mark.parametrize("clause", sorted(OPEN))
def test_answering_yes_meets_the_clause(clause):
    c = OPEN[clause]()
    assert node(decide(c), clause).outcome is Outcome.UNKNOWN
    answered = apply_answers(c, [read_answers(_yes_response(clause), QUESTIONS, POLICY)])
    result = node(decide(answered), clause)
    assert result.outcome is Outcome.MET, result.note
    assert any((e.reference or "").startswith("QuestionnaireResponse/walk#") for e in result.evidence)


def test_every_statement_question_is_read_by_a_clause_it_names():
    """Each statement key a question produces is one the clauses read (a question no clause reads would be an
    empty promise): the keys are those of the terminology's prescriber statements."""
    keys = set(terminology_data()["prescriber_statements"]) - {"_about", "cues"}
    for key, items in QUESTIONS.statement_items().items():
        assert key in keys
        for item in items:
            assert set(item["clauses"]) <= QUESTIONS.clauses()
