"""Clauses fed by free text: what they do with text that names a finding without stating it (issue 17, class 3),
with allergies from every part of the record (class 8) and with prescriber statements (class 11)."""

from __future__ import annotations

from dataclasses import replace

from cds_service.facts.diagnoses import condition_diagnosis
from cds_service.facts.model import SettingFacts
from tests.policy.builders import (
    NM,
    M,
    U,
    allergy,
    case,
    covid_case,
    decide,
    dx,
    lab,
    mtx_failed,
    node,
    outcome,
    preferred_failed,
    with_order,
)


def _cond(text, code=None):
    c = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {
            "text": text,
            **({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]} if code else {}),
        },
    }
    return condition_diagnosis(c)


# -- table1.covid-19.3 -----------------------------------------------------------------------------------------------


def _covid(diagnoses, labs=None):
    base = covid_case()
    kw = {"diagnoses": (base.patient.diagnoses[0], *diagnoses), "procedures": ()}
    if labs is not None:
        kw["labs"] = labs
    return covid_case(**kw)


def test_pneumonia_text_that_denies_oxygen_leaves_3_unknown_and_says_why():
    c = _covid((_cond("Pneumonia, no supplemental oxygen requirement (SpO2 95% on room air)", "J18.9"),))
    d = decide(c)
    n = node(d, "table1.covid-19.3")
    assert n.outcome is U and d.determination != "covered"
    assert any("not counted" in e.description for e in n.evidence)


def test_possible_pneumonia_on_oxygen_is_not_pneumonia():
    c = _covid((_cond("? pneumonia, on 2 L nasal cannula"),))
    assert outcome(c, "table1.covid-19.3") is U


def test_explicit_text_meets_3():
    assert outcome(_covid((_cond("COVID-19 pneumonia requiring supplemental oxygen"),)), "table1.covid-19.3") is M


def test_an_inhaled_oxygen_result_at_room_air_is_not_supplemental_oxygen():
    pna = _cond("COVID-19 pneumonia", "J12.82")
    base = covid_case().patient.labs
    assert outcome(_covid((pna,), (*base, lab("oxygen", 0, "L/min", 1))), "table1.covid-19.3") is U
    assert outcome(_covid((pna,), (*base, lab("oxygen", 21, "%", 1))), "table1.covid-19.3") is U
    assert outcome(_covid((pna,), (*base, lab("oxygen", 3, "L/min", 1))), "table1.covid-19.3") is M


# -- precautions.serious-infections -----------------------------------------------------------------------------------


def test_a_possible_infection_leaves_the_precaution_unknown():
    """ "Do not initiate therapy in persons with active infections": "r/o sepsis" is neither an infection found nor
    its absence."""
    c = case(diagnoses=(dx(), _cond("r/o sepsis")))
    assert outcome(c, "precautions.serious-infections") is U
    assert decide(c).determination != "covered"


def test_negated_and_resolved_infections_are_no_active_infection():
    assert outcome(case(diagnoses=(dx(), _cond("No active infection"))), "precautions.serious-infections") is M
    assert (
        outcome(case(diagnoses=(dx(), _cond("History of pneumonia, resolved"))), "precautions.serious-infections") is M
    )


def test_an_infection_stated_in_text_still_blocks_initiation():
    assert outcome(case(diagnoses=(dx(), _cond("Cellulitis of the left leg"))), "precautions.serious-infections") is NM


# -- position.site-of-care ------------------------------------------------------------------------------------------


def test_a_setting_the_text_names_only_as_a_possibility_is_unknown():
    c = with_order(
        case(),
        setting=SettingFacts(
            None,
            ('order text: "May be given in clinic if needed." names provider administration only as a possibility',),
            None,
        ),
    )
    assert outcome(c, "position.site-of-care") is U and decide(c).determination != "covered"


# -- table1.ra.2: an unconfirmed intolerance does not count -----------------------------------------------------------


def test_an_unconfirmed_intolerance_to_a_preferred_product_is_not_counted():
    meds = (
        mtx_failed(),
        preferred_failed("humira", ended_months_ago=14),
        preferred_failed("enbrel", ended_months_ago=8),
    )
    confirmed = allergy("tofacitinib", kind="intolerance", preferred="xeljanz", reactions=("nausea",))
    assert outcome(case(medications=meds, allergies=(confirmed,)), "table1.ra.2") is M
    unconfirmed = replace(confirmed, unconfirmed=True)
    c = case(medications=meds, allergies=(unconfirmed,))
    assert outcome(c, "table1.ra.2") is U and decide(c).determination != "covered"
