"""enableWhen and answer comparison (R4 rules), over the sample drug-coverage form."""

from __future__ import annotations

import pytest

from cds_service.forms.answers import answers_from_response, condition_holds, enabled_link_ids
from cds_service.forms.questionnaire_items import QuestionnaireError, read_questionnaire
from tests.forms.sample_form import RXNORM, SUPPLY, package


def _form():
    q, _, vs = package()
    return read_questionnaire(q, vs)


def _coding(system, code):
    return {"valueCoding": {"system": system, "code": code}}


def test_prefilled_answers_are_read_from_nested_items():
    _, prefilled, _ = package()
    answers = answers_from_response(prefilled)
    assert answers["on-anakinra"][0]["valueBoolean"] is True
    assert answers["supply"][0]["valueCoding"]["code"] == "plan-pharmacy"
    assert answers["weight"][0]["valueDecimal"] == 70.5
    assert "history" not in answers  # groups carry no answers


def test_answers_nested_under_an_answer_are_found():
    qr = {
        "item": [
            {
                "linkId": "a",
                "answer": [{"valueBoolean": True, "item": [{"linkId": "b", "answer": [{"valueString": "x"}]}]}],
            }
        ]
    }
    assert answers_from_response(qr) == {"a": [qr["item"][0]["answer"][0]], "b": [{"valueString": "x"}]}


def test_unanswered_question_hides_what_depends_on_it():
    enabled = enabled_link_ids(_form(), {})
    assert "supply" not in enabled and "at-risk" not in enabled
    assert "tnf-stopped" not in enabled and "outcome" not in enabled and "weeks" not in enabled
    assert {"on-anakinra", "tried", "start", "weight"} <= enabled


def test_boolean_equals_enables_and_all_behaviour_needs_every_condition():
    form = _form()
    yes = {"on-anakinra": [{"valueBoolean": True}]}
    enabled = enabled_link_ids(form, yes)
    assert "supply" in enabled
    assert "at-risk" in enabled  # supply unanswered: `!=` samples holds (R4: no answer equals it)
    samples = {**yes, "supply": [_coding(SUPPLY, "samples")]}
    assert "at-risk" not in enabled_link_ids(form, samples)
    no = {"on-anakinra": [{"valueBoolean": False}], "supply": [_coding(SUPPLY, "plan-pharmacy")]}
    enabled = enabled_link_ids(form, no)
    assert "supply" not in enabled and "at-risk" not in enabled


def test_disabled_items_answers_do_not_count_for_others():
    # long-trial shows when weeks < 12; weeks shows only when `tried` has an answer. Without one, the
    # (stale) weeks answer must not enable long-trial.
    form = _form()
    answers = {"tried": [_coding(RXNORM, "327361")], "weeks": [{"valueInteger": 4}]}
    assert "long-trial" in enabled_link_ids(form, answers)
    answers_without_tried = {"weeks": [{"valueInteger": 4}]}
    enabled = enabled_link_ids(form, answers_without_tried)
    assert "weeks" not in enabled and "long-trial" not in enabled


def test_any_behaviour_and_coding_match_ignores_display():
    form = _form()
    assert "tnf-stopped" in enabled_link_ids(form, {"tried": [_coding(RXNORM, "214555")]})
    assert "tnf-stopped" not in enabled_link_ids(form, {"tried": [_coding(RXNORM, "1357536")]})
    both = {
        "tried": [
            _coding(RXNORM, "1357536"),
            {"valueCoding": {"system": RXNORM, "code": "327361", "display": "Humira"}},
        ]
    }
    assert "tnf-stopped" in enabled_link_ids(form, both)
    assert "tnf-stopped" not in enabled_link_ids(form, {"tried": [_coding("http://other", "327361")]})


@pytest.mark.parametrize(
    "operator,expected,answers,result",
    [
        ("exists", {"answerBoolean": True}, [{"valueString": "x"}], True),
        ("exists", {"answerBoolean": True}, [], False),
        ("exists", {"answerBoolean": False}, [], True),
        ("=", {"answerInteger": 12}, [{"valueInteger": 12}], True),
        ("=", {"answerDecimal": 12.0}, [{"valueInteger": 12}], True),
        ("!=", {"answerInteger": 12}, [{"valueInteger": 11}], True),
        ("!=", {"answerInteger": 12}, [{"valueInteger": 12}], False),
        ("!=", {"answerInteger": 12}, [], True),
        ("<", {"answerInteger": 12}, [{"valueInteger": 11}], True),
        ("<", {"answerInteger": 12}, [{"valueInteger": 12}], False),
        ("<=", {"answerInteger": 12}, [{"valueInteger": 12}], True),
        (">", {"answerDecimal": 1.5}, [{"valueDecimal": 1.6}], True),
        (">=", {"answerDecimal": 1.5}, [{"valueDecimal": 1.4}], False),
        ("<", {"answerInteger": 12}, [], False),
        (">", {"answerDate": "2026-01-01"}, [{"valueDate": "2026-02-01"}], True),
        ("<", {"answerDate": "2026-01-01"}, [{"valueDate": "2026-02-01"}], False),
        (">", {"answerDate": "2026-01"}, [{"valueDate": "2026-02-01"}], False),  # precisions differ
        (">=", {"answerDateTime": "2026-01-01T10:00:00Z"}, [{"valueDateTime": "2026-01-01T11:00:00+01:00"}], True),
        ("<", {"answerString": "b"}, [{"valueString": "a"}], True),
        ("<", {"answerString": "b"}, [{"valueInteger": 1}], False),  # incomparable types
        ("=", {"answerBoolean": True}, [{"valueString": "true"}], False),
        ("~", {"answerBoolean": True}, [{"valueBoolean": True}], False),  # unknown operator
    ],
)
def test_operators(operator, expected, answers, result):
    assert condition_holds(operator, expected, answers) is result


def test_children_of_a_disabled_group_are_disabled():
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {"linkId": "gate", "type": "boolean", "text": "Gate?"},
            {
                "linkId": "g",
                "type": "group",
                "text": "G",
                "enableWhen": [{"question": "gate", "operator": "=", "answerBoolean": True}],
                "item": [{"linkId": "inner", "type": "string", "text": "Inner"}],
            },
            {
                "linkId": "after",
                "type": "string",
                "text": "After",
                "enableWhen": [{"question": "inner", "operator": "exists", "answerBoolean": True}],
            },
        ],
    }
    form = read_questionnaire(q)
    answers = {"gate": [{"valueBoolean": False}], "inner": [{"valueString": "kept?"}]}
    enabled = enabled_link_ids(form, answers)
    assert "g" not in enabled and "inner" not in enabled and "after" not in enabled
    answers["gate"] = [{"valueBoolean": True}]
    assert {"g", "inner", "after"} <= enabled_link_ids(form, answers)


@pytest.mark.parametrize(
    "questionnaire",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Questionnaire", "item": [{"type": "string"}]},
        {
            "resourceType": "Questionnaire",
            "item": [{"linkId": "a", "type": "string"}, {"linkId": "g", "type": "group", "item": [{"linkId": "a"}]}],
        },
    ],
)
def test_unusable_questionnaires_are_refused(questionnaire):
    with pytest.raises(QuestionnaireError):
        read_questionnaire(questionnaire)


def test_answer_value_set_is_resolved_with_or_without_version_and_missing_is_flagged():
    form = _form()
    assert [o.label for o in form.by_link_id["supply"].options] == [
        "The plan's specialty pharmacy",
        "Manufacturer samples",
        "Another payer",
    ]
    q, _, _ = package()
    bare = read_questionnaire(q, [])
    assert bare.by_link_id["supply"].options == () and bare.by_link_id["supply"].options_missing
    assert form.canonical == "http://example.org/fhir/Questionnaire/kineret-sample|2026.1"
