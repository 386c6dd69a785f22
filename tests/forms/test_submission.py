"""Server-side checks of a submitted form: required, types, allowed codes, repeats, hidden answers dropped."""

from __future__ import annotations

import pytest

from cds_service.forms.answers import answers_from_response
from cds_service.forms.questionnaire_items import read_questionnaire
from cds_service.forms.submission import REQUIRED_MESSAGE, read_submission
from tests.forms.sample_form import RXNORM, SUPPLY, package

ADALIMUMAB = f"coding:{RXNORM}|327361"
TOFACITINIB = f"coding:{RXNORM}|1357536"
PLAN_PHARMACY = f"coding:{SUPPLY}|plan-pharmacy"
SAMPLES = f"coding:{SUPPLY}|samples"


def _read(form: dict, prefilled=True):
    q, pre, vs = package()
    definition = read_questionnaire(q, vs)
    return read_submission(form, definition, answers_from_response(pre) if prefilled else {})


def _complete(**changes) -> dict:
    form = {
        "a:on-anakinra": ["true"],
        "a:supply": [PLAN_PHARMACY],
        "a:at-risk": ["true"],
        "a:tried": [ADALIMUMAB],
        "a:tnf-stopped": ["2025-12-01"],
        "a:start": ["2026-03-10"],
        "a:weeks": ["14"],
        "a:outcome": ["string:intolerance"],
        "a:notes": ["Line one\r\nline two "],
        "a:consulted": ["2026-02-20T09:30"],
        "form_nonce": ["x"],
    }
    for k, v in changes.items():
        name = "a:" + k.replace("_", "-")
        if v is None:
            form.pop(name, None)
        else:
            form[name] = v
    return form


def test_complete_form_reads_typed_answers():
    s = _read(_complete())
    assert s.ok, s.errors
    assert s.answers["on-anakinra"] == [{"valueBoolean": True}]
    assert s.answers["supply"][0]["valueCoding"]["code"] == "plan-pharmacy"
    assert s.answers["tnf-stopped"] == [{"valueDate": "2025-12-01"}]
    assert s.answers["weeks"] == [{"valueInteger": 14}]
    assert s.answers["outcome"] == [{"valueString": "intolerance"}]
    assert s.answers["notes"] == [{"valueString": "Line one\r\nline two"}]
    assert s.answers["consulted"] == [{"valueDateTime": "2026-02-20T09:30:00Z"}]
    # read-only and hidden items come from the pre-fill, never from the form
    assert s.answers["weight"][0]["valueDecimal"] == 70.5
    assert s.answers["program"][0]["valueString"] == "commercial"


def test_required_date_missing_is_an_error_and_nothing_else_is():
    s = _read(_complete(start=[""]))
    assert s.errors == {"start": REQUIRED_MESSAGE}


def test_required_item_enabled_by_an_answer_must_be_answered():
    s = _read(_complete(tnf_stopped=None))
    assert s.errors == {"tnf-stopped": REQUIRED_MESSAGE}
    # tofacitinib only: the TNF date is not asked, so not required
    s = _read(_complete(tried=[TOFACITINIB], tnf_stopped=None))
    assert s.ok, s.errors
    assert "tnf-stopped" not in s.answers


def test_answers_to_disabled_questions_are_dropped():
    s = _read(_complete(on_anakinra=["false"]))  # supply and at-risk are now hidden
    assert s.ok, s.errors
    assert "supply" not in s.answers and "at-risk" not in s.answers
    s = _read(_complete(supply=[SAMPLES]))  # samples: at-risk is not asked
    assert s.ok and "at-risk" not in s.answers
    # an invalid answer to a hidden question is no error either
    s = _read(_complete(on_anakinra=["false"], supply=["coding:evil|x"], at_risk=["maybe"]))
    assert s.ok, s.errors


def test_tampered_codes_are_refused():
    s = _read(_complete(supply=[f"coding:{SUPPLY}|free-drug"]))
    assert s.errors == {"supply": "Choose one of the listed answers."}
    s = _read(_complete(tried=[ADALIMUMAB, "coding:http://evil|1"]))
    assert s.errors == {"tried": "Choose one of the listed answers."}
    assert "tried" not in s.answers


def test_repeats_take_several_answers_and_single_choice_only_one():
    s = _read(_complete(tried=[ADALIMUMAB, TOFACITINIB]))
    assert s.ok
    assert [a["valueCoding"]["code"] for a in s.answers["tried"]] == ["327361", "1357536"]
    s = _read(_complete(supply=[PLAN_PHARMACY, SAMPLES]))
    assert s.errors == {"supply": "Choose one answer."}
    s = _read(_complete(weeks=["3", "4"]))
    assert s.errors == {"weeks": "Give one answer."}


def test_open_choice_takes_typed_text_but_not_both():
    form = _complete(outcome=None)
    form["o:outcome"] = ["injection-site reactions"]
    s = _read(form)
    assert s.ok and s.answers["outcome"] == [{"valueString": "injection-site reactions"}]
    form["a:outcome"] = ["string:intolerance"]
    assert _read(form).errors == {"outcome": "Choose a listed answer or type another, not both."}


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("on_anakinra", "yes", "Choose Yes or No."),
        ("weeks", "4.5", "Enter a whole number."),
        ("weeks", "99999999999", "Enter a whole number."),
        ("start", "2026-02-30", "Enter a date as YYYY-MM-DD."),
        ("start", "10/03/2026", "Enter a date as YYYY-MM-DD."),
        ("start", "2026-13", "Enter a date as YYYY-MM-DD."),
        ("consulted", "2026-02-20T25:00", "Enter a date and time."),
        ("consulted", "2026-02-20 09:30", "Enter a date and time."),  # not the browser's form, no offset
    ],
)
def test_type_errors_keep_the_entered_value(field, value, message):
    s = _read(_complete(**{field: [value]}))
    link_id = field.replace("_", "-")
    assert s.errors == {link_id: message}
    assert s.raw[link_id] == [value]
    assert link_id not in s.answers


def test_partial_dates_and_offsets_are_valid_fhir():
    s = _read(_complete(start=["2026-04"], consulted=["2026-02-20T09:30:00+01:00"]))
    assert s.ok
    assert s.answers["start"] == [{"valueDate": "2026-04"}]
    assert s.answers["consulted"] == [{"valueDateTime": "2026-02-20T09:30:00+01:00"}]


def test_text_limits():
    s = _read(_complete(notes=["x" * 2001]))
    assert s.errors == {"notes": "Use at most 2000 characters."}


def test_read_only_answer_cannot_be_changed_from_the_form():
    s = _read(_complete(weight=["150"]))
    assert s.ok and s.answers["weight"][0]["valueDecimal"] == 70.5


def test_required_group_needs_one_answer():
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {
                "linkId": "g",
                "type": "group",
                "text": "Group",
                "required": True,
                "item": [{"linkId": "a", "type": "string", "text": "A"}],
            }
        ],
    }
    d = read_questionnaire(q)
    assert read_submission({}, d, {}).errors == {"g": "Answer at least one question in this section."}
    assert read_submission({"a:a": ["x"]}, d, {}).ok


def test_required_questions_of_an_optional_group_left_empty_are_not_asked_for():
    """R4 `required` is relative to the enclosing group: a trial not reported at all is no error; once any of
    its questions is answered, the group's required questions must be too."""
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "item": [
            {
                "linkId": "trials",
                "type": "group",
                "text": "Trials",
                "item": [
                    {
                        "linkId": "trial",
                        "type": "group",
                        "text": "Trial",
                        "repeats": True,
                        "item": [
                            {"linkId": "product", "type": "string", "text": "Product", "required": True},
                            {"linkId": "start", "type": "date", "text": "Start", "required": True},
                            {"linkId": "end", "type": "date", "text": "End"},
                        ],
                    }
                ],
            },
            {"linkId": "why", "type": "string", "text": "Why", "required": True},
        ],
    }
    d = read_questionnaire(q)
    assert read_submission({}, d, {}).errors == {"why": REQUIRED_MESSAGE}
    assert read_submission({"a:why": ["x"]}, d, {}).ok
    s = read_submission({"a:why": ["x"], "a:end": ["2026-01-31"]}, d, {})
    assert s.errors == {"product": REQUIRED_MESSAGE, "start": REQUIRED_MESSAGE}


def test_required_choice_without_its_value_set_says_so():
    q, pre, _ = package()
    d = read_questionnaire(q, [])
    s = read_submission(_complete(supply=None), d, answers_from_response(pre))
    assert s.errors == {"supply": "This question cannot be answered here: its answer list is missing."}
    s = read_submission(_complete(), d, answers_from_response(pre))
    assert s.errors == {"supply": "Choose one of the listed answers."}
