"""Issue 17 classes 4 to 6 over HTTP: the suggestions a card offers never overdose, the suggested order signed
again is within every limit, and a within-label dose draws no "change to 100 mg" advice.

Guideline 09-J0000-45: NOMID and DIRA "to a maximum of 8 mg/kg daily"; 5.a "The dosage does not exceed 100 mg
once daily / QL: 100 mg syringe - 28 syringes (18.76 mL)/28 days"; 5.b.i "does NOT exceed the maximum FDA labeled
dose for the requested indication"; renal: "the prescribed dose every other day"; "anakinra is available as a 100
mg/0.67 mL prefilled glass syringe". The requests are the clinical-review charts of the same names.
"""

from __future__ import annotations

import copy
import json

import requests

from tests.conftest import ROOT, load_request
from tests.e2e.helpers import card_kinds, cited, clause_outcomes, determinations

CHARTS = ROOT / "tests" / "clinical_review" / "charts"
UCUM = "http://unitsofmeasure.org"


def chart(name: str) -> dict:
    return copy.deepcopy(json.loads((CHARTS / f"{name}.json").read_text())["request"])


def post(srv, req: dict, explain: bool = False) -> dict:
    resp = requests.post(
        f"{srv.url}/{'explain' if explain else 'cds-services'}/anakinra-order-sign", json=req, timeout=10
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def card(body: dict, kind: str) -> dict | None:
    return next((c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == kind), None)


def suggested_order(body: dict, kind: str) -> dict:
    c = card(body, kind)
    assert c is not None and len(c.get("suggestions", [])) == 1, (kind, card_kinds(body))
    action = c["suggestions"][0]["actions"][0]
    assert action["type"] == "update"
    return action["resource"]


def resign(req: dict, order: dict) -> dict:
    again = copy.deepcopy(req)
    again["context"]["draftOrders"]["entry"][0]["resource"] = order
    return again


def test_9_kg_infant_one_ml_daily_is_offered_a_dose_within_8_mg_per_kg(live_server):
    req = chart("dose/nomid-9kg-infant-one-ml-daily")
    body = post(live_server, req)
    assert determinations(body) == ["conditional"]
    order = suggested_order(body, "dose")
    assert len(order["dosageInstruction"]) == 1
    dose = order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose == {"value": 0.48, "unit": "mL", "system": UCUM, "code": "mL"}  # 71.6 mg = 7.96 mg/kg
    assert 0.48 * 100 / 0.67 / 9 <= 8
    assert order["dispenseRequest"]["quantity"]["value"] == 28
    assert "suggestions" not in card(body, "weight-dose")  # one suggestion for one change
    assert "100 mg" not in card(body, "dose")["summary"].split("change to")[-1]
    # signed as suggested, the order is within every limit
    again = post(live_server, resign(req, order))
    assert determinations(again) == ["covered"], [c["summary"] for c in again["cards"]]
    outcomes = clause_outcomes(post(live_server, resign(req, order), explain=True))
    assert outcomes["dosage.nomid-dira"] == "met" and outcomes["initiation.5.a"] == "met"


def test_within_100_mg_above_8_mg_per_kg_the_weight_card_offers_the_dose(live_server):
    req = chart("indication/nomid-problem-list-caps-reason-infant-13mg-per-kg")
    body = post(live_server, req)
    assert "dosage.nomid-dira" in cited(body) and card(body, "dose") is None
    order = suggested_order(body, "weight-dose")
    assert order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 0.40  # 59.7 mg for 7.5 kg
    assert determinations(post(live_server, resign(req, order))) == ["covered"]


def test_without_a_current_weight_no_dose_is_suggested_and_the_card_says_why(live_server):
    req = chart("dose/nomid-9kg-infant-one-ml-daily")
    for e in req["prefetch"]["observations"]["entry"]:
        r = e["resource"]
        if r["code"]["coding"][0]["code"] == "29463-7":
            r["effectiveDateTime"] = "2025-06-01T09:00:00-05:00"
    body = post(live_server, req)
    c = card(body, "dose")
    assert c is not None and "suggestions" not in c
    assert "No dose change is suggested" in c["detail"] and "current body weight" in c["detail"]


def test_adult_nomid_at_200_mg_is_covered_without_dose_advice(live_server):
    req = chart("dose/nomid-adult-200mg-within-label")
    body = post(live_server, req)
    assert determinations(body) == ["covered"]
    assert not {"dose", "documentation", "weight-dose"} & set(card_kinds(body)), card_kinds(body)
    assert not any("100 mg" in c["summary"] for c in body["cards"])


def test_renal_suggestion_replaces_every_line_and_keeps_within_the_limits(live_server):
    """CrCl 22.8 mL/min; the order is 100 mg every morning plus 100 mg every evening: giving 'the prescribed
    dose every other day' must not keep the second line."""
    req = copy.deepcopy(load_request("ra-renal-crcl-25"))
    d = req["context"]["draftOrders"]["entry"][0]["resource"]
    first = d["dosageInstruction"][0]
    morning, evening = copy.deepcopy(first), copy.deepcopy(first)
    morning["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}}
    evening["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["EVE"]}}
    morning["text"], evening["text"] = "100 mg every morning", "100 mg every evening"
    d["dosageInstruction"] = [morning, evening]
    body = post(live_server, req)
    assert determinations(body) == ["conditional"] and "initiation.5.a" in cited(body)
    for kind in ("dose", "renal"):
        order = suggested_order(body, kind)
        assert len(order["dosageInstruction"]) == 1
        line = order["dosageInstruction"][0]
        assert line["timing"]["repeat"] == {"frequency": 1, "period": 2, "periodUnit": "d"}
        assert line["doseAndRate"][0]["doseQuantity"]["value"] == 100
        assert order["dispenseRequest"]["quantity"]["value"] == 14
        again = post(live_server, resign(req, order))
        assert determinations(again) == ["covered"] and "renal" not in card_kinds(again)
