"""More end-to-end scenarios over HTTP: every Table 1 indication (from the order's reasonCode and the problem
list), and the suggestions that change an order so it can be approved. Each asserts the determination, the
clause ids cited and, where there is one, what the suggestion does to the order."""

from __future__ import annotations

import copy

import pytest
import requests

from tests.conftest import load_request
from tests.e2e.helpers import card_kinds, cited, clause_outcomes, determinations

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def with_diagnosis(code: str, display: str, snomed: tuple[str, str] | None = None) -> dict:
    """ra-complete's chart and order, with another indication as the order's reason and on the problem list."""
    req = copy.deepcopy(load_request("ra-complete"))
    coding = [{"system": ICD, "code": code, "display": display}]
    if snomed:
        coding.append({"system": "http://snomed.info/sct", "code": snomed[0], "display": snomed[1]})
    concept = {"coding": coding, "text": display}
    req["context"]["draftOrders"]["entry"][0]["resource"]["reasonCode"] = [concept]
    req["prefetch"]["conditions"]["entry"][0]["resource"]["code"] = copy.deepcopy(concept)
    return req


# (name, request builder, determination, indication, clause ids that must be cited or met, card kinds)
INDICATIONS = [
    (
        "aosd-M06.1",
        lambda: with_diagnosis("M06.1", "Adult-onset Still's disease"),
        "covered",
        "still",
        ["table1.other", "billing.icd10"],
        ["reading"],
    ),
    (
        "sjia-M08.2A",
        lambda: with_diagnosis("M08.2A", "Juvenile rheumatoid arthritis with systemic onset, other site"),
        "covered",
        "still",
        ["table1.other"],
        ["reading"],
    ),
    (
        "ra-M05.A",
        lambda: with_diagnosis(
            "M05.A", "Abnormal rheumatoid factor and anti-citrullinated protein antibody with rheumatoid arthritis"
        ),
        "covered",
        "ra",
        ["table1.ra.1.a", "table1.ra.2.a"],
        [],
    ),
    (
        "ra-M06.0A",
        lambda: with_diagnosis("M06.0A", "Rheumatoid arthritis without rheumatoid factor, other site"),
        "covered",
        "ra",
        ["table1.ra.1.a", "table1.ra.2.a"],
        [],
    ),
    (
        "dira-M04.8",
        lambda: with_diagnosis("M04.8", "Deficiency of interleukin-1 receptor antagonist [DIRA]"),
        "covered",
        "dira",
        ["table1.dira", "dosage.nomid-dira"],
        [],
    ),
    # CAPS beyond NOMID: the guideline names no compendia support (reading other_indications_named_by_guideline)
    (
        "caps-muckle-wells",
        lambda: with_diagnosis("M04.2", "Cryopyrin-associated periodic syndrome (Muckle-Wells)"),
        "conditional",
        "caps",
        ["table1.other", "table1.nomid"],
        ["documentation"],
    ),
    (
        "schnitzler",
        lambda: with_diagnosis("D47.2", "Monoclonal gammopathy (Schnitzler syndrome)"),
        "covered",
        "schnitzler",
        ["table1.other", "billing.icd10"],
        [],
    ),
    # NCCN-supported uses need the specific use documented (subsequent therapy, steroid-refractory HLH ...)
    (
        "castleman",
        lambda: with_diagnosis("D47.Z2", "Castleman disease"),
        "conditional",
        "castleman",
        ["table1.other"],
        ["documentation"],
    ),
    (
        "hlh",
        lambda: with_diagnosis(
            "D76.1", "Hemophagocytic lymphohistiocytosis", ("234437005", "Hemophagocytic lymphohistiocytosis")
        ),
        "conditional",
        "hlh",
        ["table1.other"],
        ["documentation"],
    ),
    (
        "erdheim-chester",
        lambda: with_diagnosis("D76.3", "Other histiocytosis syndromes (Erdheim-Chester disease)"),
        "conditional",
        "histiocytic",
        ["table1.other"],
        ["documentation"],
    ),
    (
        "car-t-toxicity",
        lambda: with_diagnosis("T80.82XA", "Complication of immune effector cellular therapy, initial encounter"),
        "conditional",
        "car-t-toxicity",
        ["table1.other"],
        ["documentation"],
    ),
    (
        "not-in-table-1",
        lambda: with_diagnosis("I10", "Essential (primary) hypertension"),
        "conditional",
        None,
        ["initiation.1.c.i"],
        ["documentation"],
    ),
]


def post(srv, req: dict, explain: bool = False) -> dict:
    path = "explain" if explain else "cds-services"
    resp = requests.post(f"{srv.url}/{path}/anakinra-order-sign", json=req, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize(
    "name, build, determination, indication, clauses, kinds", INDICATIONS, ids=[i[0] for i in INDICATIONS]
)
def test_every_indication(live_server, name, build, determination, indication, clauses, kinds):
    req = build()
    body = post(live_server, req)
    explained = post(live_server, req, explain=True)
    assert determinations(body) == [determination], (name, [c["summary"] for c in body["cards"]])
    assert explained["orders"][0].get("indication") == indication
    outcomes = clause_outcomes(explained)
    for clause in clauses:
        assert clause in cited(body) or outcomes.get(clause) in ("met", "unknown", "not-met"), (name, clause)
        if determination == "covered" and clause not in cited(body):
            assert outcomes[clause] == "met", (name, clause, outcomes[clause])
    for kind in kinds:
        assert kind in card_kinds(body), (name, kind, card_kinds(body))
    if determination == "covered":
        assert not [c for c in body["cards"] if c["indicator"] != "info"]


def only_suggestion(body: dict, kind: str) -> dict:
    card = next(c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == kind)
    assert card["selectionBehavior"] == "at-most-one" and len(card["suggestions"]) >= 1
    return card["suggestions"][0]


def test_dose_suggestion_sets_100_mg_daily_and_28_syringes(live_server):
    req = load_request("dose-200mg")
    body = post(live_server, req)
    assert determinations(body) == ["conditional"] and "initiation.5.a" in cited(body)
    action = only_suggestion(body, "dose")["actions"][0]
    assert action["type"] == "update"
    order = action["resource"]
    assert order["id"] == req["context"]["draftOrders"]["entry"][0]["resource"]["id"]
    dosage = order["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 100
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 1, "periodUnit": "d"}
    assert order["dispenseRequest"]["quantity"]["value"] == 28
    # the suggested order, signed, is within the limit
    again = copy.deepcopy(req)
    again["context"]["draftOrders"]["entry"][0]["resource"] = order
    assert "dose" not in card_kinds(post(live_server, again))


def test_site_of_care_suggestion_makes_a_self_administered_order(live_server):
    req = load_request("office-administered")
    body = post(live_server, req)
    assert determinations(body) == ["not-covered"] and "position.site-of-care" in cited(body)
    order = only_suggestion(body, "site-of-care")["actions"][0]["resource"]
    assert order["category"][0]["coding"][0]["code"] == "community"
    assert "performer" not in order
    again = copy.deepcopy(req)
    again["context"]["draftOrders"]["entry"][0]["resource"] = order
    assert determinations(post(live_server, again)) == ["covered"]


def test_combination_with_a_draft_order_suggests_deleting_it(live_server):
    req = copy.deepcopy(load_request("ra-complete"))
    draft = copy.deepcopy(req["context"]["draftOrders"]["entry"][0]["resource"])
    draft["id"] = "draft-humira"
    draft["medicationCodeableConcept"] = {
        "coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "327361", "display": "adalimumab"}
        ],
        "text": "Humira 40 mg/0.4 mL pen",
    }
    req["context"]["draftOrders"]["entry"].append({"resource": draft})
    body = post(live_server, req)
    assert determinations(body) == ["not-covered"]  # one coverage action: only the anakinra order
    assert {"initiation.4", "precautions.tnf"} <= cited(body)
    card = next(c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == "combination")
    assert card["indicator"] == "critical"
    action = card["suggestions"][0]["actions"][0]
    assert action == {
        "type": "delete",
        "description": action["description"],
        "resourceId": "MedicationRequest/draft-humira",
    }


def test_renal_suggestion_gives_the_dose_every_other_day(live_server):
    req = load_request("ra-renal-crcl-25")
    body = post(live_server, req)
    assert "dosage.renal" in cited(body)
    order = only_suggestion(body, "renal")["actions"][0]["resource"]
    assert order["dosageInstruction"][0]["timing"]["repeat"] == {"frequency": 1, "period": 2, "periodUnit": "d"}
    assert order["dispenseRequest"]["quantity"]["value"] == 14
