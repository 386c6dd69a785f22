"""The completed QuestionnaireResponse: DTR shape, information-origin per answer (dtrx-1), valid R4."""

from __future__ import annotations

from datetime import UTC, datetime

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from cds_service.forms.answers import answers_from_response
from cds_service.forms.questionnaire_items import read_questionnaire
from cds_service.forms.response_builder import (
    INFORMATION_ORIGIN,
    build_completed_response,
    information_origin,
    r4_problems,
)
from cds_service.forms.submission import read_submission
from tests.forms.sample_form import (
    CANONICAL,
    COVERAGE,
    ORDER,
    PATIENT,
    PRACTITIONER,
    RXNORM,
    SOURCE_RECORD,
    SUPPLY,
    package,
)

AUTHORED = datetime(2026, 3, 2, 15, 5, tzinfo=UTC)


def _build(form: dict, practitioner=PRACTITIONER):
    q, pre, vs = package()
    definition = read_questionnaire(q, vs)
    prefilled = answers_from_response(pre)
    s = read_submission(form, definition, prefilled)
    assert s.ok, s.errors
    return build_completed_response(
        definition, s.answers, pre, prefilled, practitioner_ref=practitioner, authored=AUTHORED, response_id="qr-1"
    )


FORM = {
    "a:on-anakinra": ["true"],
    "a:supply": [f"coding:{SUPPLY}|plan-pharmacy"],
    "a:at-risk": ["true"],
    "a:tried": [f"coding:{RXNORM}|327361", f"coding:{RXNORM}|1357536"],
    "a:tnf-stopped": ["2025-12-01"],
    "a:start": ["2026-03-10"],
}


def _items_by_link_id(qr) -> dict:
    out = {}

    def walk(items):
        for it in items or ():
            out[it["linkId"]] = it
            walk(it.get("item"))
            for a in it.get("answer") or ():
                walk(a.get("item"))

    walk(qr.get("item"))
    return out


def _origin_ext(answer) -> dict:
    return next(e for e in answer["extension"] if e["url"] == INFORMATION_ORIGIN)


def test_header_fields_follow_the_dtr_profile():
    qr = _build(FORM)
    assert qr["status"] == "completed"
    assert qr["questionnaire"] == CANONICAL + "|2026.1"
    assert qr["subject"] == {"reference": PATIENT}
    assert qr["author"] == {"reference": PRACTITIONER}
    assert qr["authored"] == "2026-03-02T15:05:00Z"
    ext = {e["url"].rsplit("/", 1)[1]: e for e in qr["extension"]}
    assert ext["qr-coverage"]["valueReference"] == {"reference": COVERAGE}
    assert ext["qr-context"]["valueReference"] == {"reference": ORDER}
    assert ext["intendedUse"]["valueCodeableConcept"]["coding"][0]["code"] == "withpa"
    assert r4_problems(qr) == []
    QuestionnaireResponse.model_validate(qr)  # R4B parses it


def test_unchanged_prefill_keeps_auto_server_and_its_source_record():
    items = _items_by_link_id(_build(FORM))
    answer = items["on-anakinra"]["answer"][0]
    assert information_origin(answer) == "auto-server"
    assert {"url": SOURCE_RECORD, "valueReference": {"reference": "MedicationDispense/md-1"}} in answer["extension"]
    assert [e["url"] for e in _origin_ext(answer)["extension"]] == ["source"]  # dtrx-1: no author


def test_edited_prefill_is_override_and_new_answers_are_manual_with_author():
    form = dict(FORM, **{"a:supply": [f"coding:{SUPPLY}|other-payer"]})
    items = _items_by_link_id(_build(form))
    supply = items["supply"]["answer"][0]
    assert supply["valueCoding"]["code"] == "other-payer"
    assert information_origin(supply) == "override"
    assert not any(e["url"] == SOURCE_RECORD for e in supply["extension"])  # no longer from that record
    author = next(e for e in _origin_ext(supply)["extension"] if e["url"] == "author")
    assert author["extension"] == [{"url": "practitioner", "valueReference": {"reference": PRACTITIONER}}]
    assert information_origin(items["at-risk"]["answer"][0]) == "manual"
    assert information_origin(items["start"]["answer"][0]) == "manual"
    # a repeating item: the kept pre-filled code stays auto-server, the added one is an override
    tried = {a["valueCoding"]["code"]: information_origin(a) for a in items["tried"]["answer"]}
    assert tried == {"327361": "auto-server", "1357536": "override"}


def test_read_only_and_hidden_prefill_are_carried_unchanged():
    items = _items_by_link_id(_build(FORM))
    assert items["weight"]["answer"][0]["valueDecimal"] == 70.5
    assert information_origin(items["weight"]["answer"][0]) == "auto-server"
    assert items["program"]["answer"][0]["valueString"] == "commercial"


def test_answers_of_hidden_questions_do_not_reach_the_response():
    form = dict(FORM, **{"a:on-anakinra": ["false"]})
    items = _items_by_link_id(_build(form))
    assert "supply" not in items and "at-risk" not in items
    assert information_origin(items["on-anakinra"]["answer"][0]) == "override"
    assert "history" in items  # the group with its one answer


def test_every_answer_obeys_dtrx_1():
    qr = _build(dict(FORM, **{"a:supply": [f"coding:{SUPPLY}|other-payer"], "a:notes": ["Seen twice."]}))
    for item in _items_by_link_id(qr).values():
        for answer in item.get("answer") or ():
            ext = _origin_ext(answer)
            subs = {e["url"] for e in ext["extension"]}
            source = information_origin(answer)
            assert ("author" in subs) == (source in ("override", "manual")), (item["linkId"], source)


def test_practitioner_role_author_stays_valid():
    qr = _build(FORM, practitioner="PractitionerRole/role-1")
    assert qr["author"] == {"reference": "PractitionerRole/role-1"}
    items = _items_by_link_id(qr)
    author = next(e for e in _origin_ext(items["at-risk"]["answer"][0])["extension"] if e["url"] == "author")
    assert author["extension"][0]["url"] == "role"
    assert r4_problems(qr) == []


def test_questions_inside_a_question_nest_under_its_answer():
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "url": "http://example.org/Q/n",
        "item": [
            {
                "linkId": "tnf",
                "type": "boolean",
                "text": "TNF?",
                "item": [
                    {
                        "linkId": "which",
                        "type": "string",
                        "text": "Which?",
                        "enableWhen": [{"question": "tnf", "operator": "=", "answerBoolean": True}],
                    }
                ],
            }
        ],
    }
    d = read_questionnaire(q)
    s = read_submission({"a:tnf": ["true"], "a:which": ["etanercept"]}, d, {})
    qr = build_completed_response(
        d, s.answers, {"subject": {"reference": PATIENT}}, {}, practitioner_ref=PRACTITIONER, authored=AUTHORED
    )
    assert qr["questionnaire"] == "http://example.org/Q/n"
    assert qr["item"][0]["answer"][0]["item"][0]["answer"][0]["valueString"] == "etanercept"
    assert r4_problems(qr) == []


def test_r4_problems_reports_an_invalid_resource():
    assert r4_problems(
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "item": [{"answer": [{"valueBoolean": "maybe"}]}],
        }
    )
