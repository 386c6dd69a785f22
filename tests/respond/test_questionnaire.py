"""The documentation Questionnaire generated from the policy data: valid R4, SDC/DTR rules used."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.valueset import ValueSet

from cds_service.policy.data_loader import PolicyDataError, load_policy
from cds_service.policy.questions import Questions, load_questions, validate
from cds_service.respond.questionnaire import build_questionnaire, build_value_sets, questionnaire_canonical

BASE = "https://cds.example.org"
POLICY = load_policy()


def _items(items):
    for i in items:
        yield i
        yield from _items(i.get("item", []))


@pytest.fixture(scope="module")
def questionnaire():
    return build_questionnaire(POLICY, BASE)


def test_valid_r4_with_the_dtr_profile_and_sdc_2(questionnaire):
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["meta"]["profile"] == [
        "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
    ]
    # sdc-2: a version needs the artifact-versionAlgorithm extension
    assert questionnaire["version"].startswith(POLICY.revision + ".")
    assert questionnaire["extension"][0]["url"] == "http://hl7.org/fhir/StructureDefinition/artifact-versionAlgorithm"
    assert questionnaire["subjectType"] == ["Patient"]
    assert questionnaire_canonical(BASE) == f"{questionnaire['url']}|{questionnaire['version']}"


def test_every_item_has_text_and_groups_name_their_clauses(questionnaire):
    for item in _items(questionnaire["item"]):
        assert item["text"]  # DTR base: item.text 1..1
    for group in questionnaire["item"][2:]:
        assert group["type"] == "group"
        codes = {c["code"] for c in group["code"]}
        assert codes and codes <= set(POLICY.clauses)
        assert all(c["system"] == "urn:anakinra-cds:clause" for c in group["code"])


def test_enable_when_names_earlier_questions_with_matching_answer_types(questionnaire):
    seen: dict[str, dict] = {}
    for item in _items(questionnaire["item"]):
        for cond in item.get("enableWhen", []):
            target = seen[cond["question"]]
            if target["type"] == "boolean":
                assert "answerBoolean" in cond
            else:
                assert "answerCoding" in cond and target["type"] == "choice"
        if len(item.get("enableWhen", [])) > 1:
            assert item["enableBehavior"] == "all"
        seen[item["linkId"]] = item


def test_coded_answers_use_value_sets_the_package_carries(questionnaire):
    sets = {f"{v['url']}|{v['version']}": v for v in build_value_sets(POLICY, BASE)}
    for v in sets.values():
        ValueSet.model_validate(v)
        assert 0 < v["expansion"]["total"] < 40  # DTR §oper-15
    for item in _items(questionnaire["item"]):
        if item["type"] == "choice":
            assert item["answerValueSet"] in sets


def test_the_value_sets_come_from_the_policy_data():
    preferred = next(v for v in build_value_sets(POLICY, BASE) if v["id"] == "kineret-ra-preferred-products")
    assert [c["code"] for c in preferred["expansion"]["contains"]] == list(POLICY.data["ra_preferred_products"])


def test_bad_questions_data_is_refused():
    data = copy.deepcopy(load_questions().data)
    data["groups"][0]["clauses"] = ["initiation.99"]
    data["groups"][0]["items"][1]["enable_when"] = [{"question": "later", "boolean": True}]
    problems = validate(Questions(data, POLICY.revision), POLICY)
    assert any("initiation.99" in p for p in problems) and any("not an earlier question" in p for p in problems)
    assert issubclass(PolicyDataError, ValueError)
