"""A QuestionnaireResponse read back as facts: only completed, same patient, our questionnaire and revision."""

from __future__ import annotations

import pytest

from cds_service.documentation.answers import acceptable, apply_answers, read_answers
from cds_service.policy.questions import load_questions
from cds_service.respond.questionnaire import questionnaire_canonical, questionnaire_url
from tests.policy.builders import POLICY, case, order, statement

BASE = "https://cds.example.org"
Q = load_questions()
URL = questionnaire_url(BASE)


def qr(items, **kw):
    out = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "status": "completed",
        "questionnaire": questionnaire_canonical(BASE),
        "subject": {"reference": "Patient/p1"},
        "authored": "2026-03-02T15:00:00Z",
        "item": items,
    }
    out.update(kw)
    return out


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"status": "in-progress"}, "not completed"),
        ({"subject": {"reference": "Patient/p2"}}, "another patient"),
        ({"subject": None}, "another patient"),
        (
            {"questionnaire": "https://other.example.org/fhir/Questionnaire/kineret-09-J0000-45|2026-01-01.1"},
            "another questionnaire",
        ),
        ({"questionnaire": f"{URL}|2025-01-01.1"}, "another guideline revision"),
        ({"questionnaire": URL}, "no versioned"),
    ],
)
def test_only_a_completed_response_of_this_patient_to_our_questionnaire_counts(change, reason):
    assert acceptable(qr([]), "Patient/p1", URL, POLICY.revision) is None
    assert (
        acceptable(qr([], **{"questionnaire": f"{URL}|{POLICY.revision}.7"}), "Patient/p1", URL, POLICY.revision)
        is None
    )  # any version of this revision
    assert reason in acceptable(qr([], **change), "Patient/p1", URL, POLICY.revision)


def test_a_statement_needs_every_question_answered_yes_and_any_no_is_a_denial():
    yes = read_answers(
        qr(
            [
                {
                    "linkId": "continuing",
                    "item": [
                        {"linkId": "continuing.treated", "answer": [{"valueBoolean": True}]},
                        {"linkId": "continuing.not-samples", "answer": [{"valueBoolean": True}]},
                        {"linkId": "continuing.last-dose", "answer": [{"valueDate": "2026-02-27"}]},
                        {"linkId": "continuing.at-risk", "answer": [{"valueBoolean": True}]},
                    ],
                }
            ]
        ),
        Q,
        POLICY,
    )
    assert {"recent_anakinra", "at_risk_if_changed", "anakinra_use"} <= set(yes.statements)
    assert yes.statements["at_risk_if_changed"].source == "QuestionnaireResponse/qr-1#continuing.at-risk"
    assert yes.statements["anakinra_use"].when[1].isoformat() == "2026-02-27"
    half = read_answers(
        qr([{"linkId": "continuing", "item": [{"linkId": "continuing.treated", "answer": [{"valueBoolean": True}]}]}]),
        Q,
        POLICY,
    )
    assert "recent_anakinra" not in half.statements and not half.denials
    samples = read_answers(
        qr(
            [
                {
                    "linkId": "continuing",
                    "item": [
                        {"linkId": "continuing.treated", "answer": [{"valueBoolean": True}]},
                        {"linkId": "continuing.not-samples", "answer": [{"valueBoolean": False}]},
                    ],
                }
            ]
        ),
        Q,
        POLICY,
    )
    assert set(samples.denials) == {"recent_anakinra"}
    assert samples.denials["recent_anakinra"].source.endswith("#continuing.not-samples")


def test_trials_and_intolerances_become_chart_facts_citing_the_response():
    a = read_answers(
        qr(
            [
                {
                    "linkId": "ra-preferred",
                    "item": [
                        {
                            "linkId": "ra-preferred.trial",
                            "item": [
                                {
                                    "linkId": "ra-preferred.trial.product",
                                    "answer": [{"valueCoding": {"code": "humira"}}],
                                },
                                {"linkId": "ra-preferred.trial.start", "answer": [{"valueDate": "2024-01-01"}]},
                                {"linkId": "ra-preferred.trial.end", "answer": [{"valueDate": "2024-07-01"}]},
                                {
                                    "linkId": "ra-preferred.trial.outcome",
                                    "answer": [{"valueCoding": {"code": "inadequate-response"}}],
                                },
                            ],
                        }
                    ],
                },
                {
                    "linkId": "ra-conventional",
                    "item": [
                        {
                            "linkId": "ra-conventional.intolerance",
                            "answer": [
                                {"valueCoding": {"code": "methotrexate"}},
                                {"valueCoding": {"code": "leflunomide"}},
                            ],
                        }
                    ],
                },
            ]
        ),
        Q,
        POLICY,
    )
    (trial,) = a.trials
    assert (trial.preferred_product, trial.drug, trial.stopped_reason) == ("humira", "adalimumab", "ineffective")
    assert trial.source == "QuestionnaireResponse/qr-1#ra-preferred.trial[0]" and "tnf" in trial.classes
    assert {x.substance for x in a.intolerances} == {"methotrexate", "leflunomide"}


def test_answers_replace_the_notes_statement_of_the_same_key_and_leave_the_others():
    c = case(order_facts=order(statements=(statement("specialist_consult"), statement("age_support"))))
    a = read_answers(
        qr(
            [
                {
                    "linkId": "specialist",
                    "item": [{"linkId": "specialist.consulted", "answer": [{"valueBoolean": False}]}],
                }
            ]
        ),
        Q,
        POLICY,
    )
    out = apply_answers(c, [a])
    assert "specialist_consult" not in out.order.prescriber_statement
    assert out.order.prescriber_denials["specialist_consult"].source.startswith("QuestionnaireResponse/")
    assert "age_support" in out.order.prescriber_statement  # the note stays a fallback
