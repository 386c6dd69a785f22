"""A small, realistic drug-coverage Questionnaire (synthetic) with its ValueSet and a pre-filled
QuestionnaireResponse, as the package operation hands them over: the forms' tests use it."""

from __future__ import annotations

import copy

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
ORIGIN = DTR + "information-origin"
SOURCE_RECORD = "http://example.org/fhir/StructureDefinition/answer-source-record"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SUPPLY = "http://example.org/fhir/CodeSystem/supply-route"
CANONICAL = "http://example.org/fhir/Questionnaire/kineret-sample"
SUPPLY_VS = "http://example.org/fhir/ValueSet/supply-route"

PATIENT = "Patient/pat-1"
ORDER = "MedicationRequest/mr-1"
COVERAGE = "Coverage/cov-1"
PRACTITIONER = "Practitioner/prac-1"


def _coding(system, code, display):
    return {"system": system, "code": code, "display": display}


QUESTIONNAIRE = {
    "resourceType": "Questionnaire",
    "id": "kineret-sample",
    "url": CANONICAL,
    "version": "2026.1",
    "name": "KineretSample",
    "title": "Kineret (anakinra) documentation",
    "status": "active",
    "subjectType": ["Patient"],
    "item": [
        {
            "linkId": "history",
            "type": "group",
            "text": "Anakinra treatment history",
            "item": [
                {
                    "linkId": "on-anakinra",
                    "type": "boolean",
                    "required": True,
                    "text": "Has the member been treated with anakinra in the past 90 days?",
                },
                {
                    "linkId": "supply",
                    "type": "choice",
                    "required": True,
                    "text": "How was it supplied?",
                    "answerValueSet": SUPPLY_VS + "|1.0.0",
                    "enableWhen": [{"question": "on-anakinra", "operator": "=", "answerBoolean": True}],
                },
                {
                    "linkId": "at-risk",
                    "type": "boolean",
                    "required": True,
                    "text": "Would the member be at risk if the therapy were changed?",
                    "enableBehavior": "all",
                    "enableWhen": [
                        {"question": "on-anakinra", "operator": "=", "answerBoolean": True},
                        {"question": "supply", "operator": "!=", "answerCoding": {"system": SUPPLY, "code": "samples"}},
                    ],
                },
            ],
        },
        {
            "linkId": "step",
            "type": "group",
            "text": "Preferred products tried",
            "item": [
                {
                    "linkId": "tried",
                    "type": "choice",
                    "repeats": True,
                    "text": "Which preferred products has the member tried?",
                    "answerOption": [
                        {"valueCoding": _coding(RXNORM, "327361", "adalimumab")},
                        {"valueCoding": _coding(RXNORM, "214555", "etanercept")},
                        {"valueCoding": _coding(RXNORM, "1357536", "tofacitinib")},
                    ],
                },
                {
                    "linkId": "tnf-stopped",
                    "type": "date",
                    "required": True,
                    "text": "Date the last TNF inhibitor was stopped",
                    "enableBehavior": "any",
                    "enableWhen": [
                        {"question": "tried", "operator": "=", "answerCoding": {"system": RXNORM, "code": "327361"}},
                        {"question": "tried", "operator": "=", "answerCoding": {"system": RXNORM, "code": "214555"}},
                    ],
                },
                {
                    "linkId": "outcome",
                    "type": "open-choice",
                    "text": "Why was it stopped?",
                    "answerOption": [{"valueString": "inadequate response"}, {"valueString": "intolerance"}],
                    "enableWhen": [{"question": "tried", "operator": "exists", "answerBoolean": True}],
                },
                {
                    "linkId": "weeks",
                    "type": "integer",
                    "text": "Weeks on the last product",
                    "enableWhen": [{"question": "tried", "operator": "exists", "answerBoolean": True}],
                },
                {
                    "linkId": "long-trial",
                    "type": "display",
                    "text": "A trial of at least 12 weeks is expected.",
                    "enableWhen": [{"question": "weeks", "operator": "<", "answerInteger": 12}],
                },
            ],
        },
        {
            "linkId": "dose",
            "type": "group",
            "text": "Dose",
            "item": [
                {"linkId": "weight", "type": "decimal", "readOnly": True, "text": "Weight (kg)"},
                {"linkId": "consulted", "type": "dateTime", "text": "Rheumatology consultation (date and time)"},
                {"linkId": "notes", "type": "text", "text": "Anything else the plan should know", "maxLength": 2000},
                {
                    "linkId": "program",
                    "type": "string",
                    "text": "Plan program",
                    "extension": [
                        {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden", "valueBoolean": True}
                    ],
                },
            ],
        },
        {"linkId": "start", "type": "date", "required": True, "text": "Planned start date"},
    ],
}

VALUESETS = [
    {
        "resourceType": "ValueSet",
        "id": "supply-route",
        "url": SUPPLY_VS,
        "version": "1.0.0",
        "status": "active",
        "expansion": {
            "timestamp": "2026-03-02T15:00:00Z",
            "contains": [
                _coding(SUPPLY, "plan-pharmacy", "The plan's specialty pharmacy"),
                _coding(SUPPLY, "samples", "Manufacturer samples"),
                _coding(SUPPLY, "other-payer", "Another payer"),
            ],
        },
    }
]


def auto(value: dict, record: str | None = None) -> dict:
    ext = [{"url": ORIGIN, "extension": [{"url": "source", "valueCode": "auto-server"}]}]
    if record:
        ext.append({"url": SOURCE_RECORD, "valueReference": {"reference": record}})
    return {**value, "extension": ext}


PREFILLED = {
    "resourceType": "QuestionnaireResponse",
    "meta": {"profile": [DTR + "dtr-questionnaireresponse"]},
    "extension": [
        {"url": DTR + "qr-coverage", "valueReference": {"reference": COVERAGE}},
        {"url": DTR + "qr-context", "valueReference": {"reference": ORDER}},
        {
            "url": DTR + "intendedUse",
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/davinci-crd/CodeSystem/coverage-information-codes",
                        "code": "withpa",
                    }
                ]
            },
        },
    ],
    "questionnaire": CANONICAL + "|2026.1",
    "status": "in-progress",
    "subject": {"reference": PATIENT},
    "authored": "2026-03-02T15:00:00Z",
    "item": [
        {
            "linkId": "history",
            "item": [
                {"linkId": "on-anakinra", "answer": [auto({"valueBoolean": True}, "MedicationDispense/md-1")]},
                {
                    "linkId": "supply",
                    "answer": [
                        auto(
                            {"valueCoding": _coding(SUPPLY, "plan-pharmacy", "The plan's specialty pharmacy")},
                            "MedicationDispense/md-1",
                        )
                    ],
                },
            ],
        },
        {
            "linkId": "step",
            "item": [
                {
                    "linkId": "tried",
                    "answer": [
                        auto({"valueCoding": _coding(RXNORM, "327361", "adalimumab")}, "MedicationStatement/ms-1")
                    ],
                },
            ],
        },
        {
            "linkId": "dose",
            "item": [
                {"linkId": "weight", "answer": [auto({"valueDecimal": 70.5}, "Observation/wt-1")]},
                {"linkId": "program", "answer": [auto({"valueString": "commercial"})]},
            ],
        },
    ],
}


def package():
    """Fresh copies (tests may change them)."""
    return copy.deepcopy(QUESTIONNAIRE), copy.deepcopy(PREFILLED), copy.deepcopy(VALUESETS)
