"""The negation/qualification reader (facts/text_evidence.py) and every reader that feeds a coverage-deciding clause
from free text: condition kinds (COVID-19 pneumonia and oxygen, infections, MAS, a prior SARS-CoV-2 infection),
indication names, responses, route intolerances, the order's setting, allergies and the prescriber's statements.
Near misses are written from the guideline's wording: text that looks like the evidence and is not."""

from __future__ import annotations

import pytest

from cds_service.facts import text_evidence as te
from cds_service.facts.allergies import read_allergies
from cds_service.facts.builder import read_prescriber_statements
from cds_service.facts.clinical_kinds import condition_kinds, indications_for_text
from cds_service.facts.diagnoses import condition_diagnosis
from cds_service.facts.model import Code
from cds_service.facts.setting import read_setting
from cds_service.facts.text_statements import (
    is_route_intolerance,
    prescriber_statement_mentions,
    prescriber_statements,
    response_of,
)

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


# -- the reader ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, status",
    [
        ("Pneumonia requiring supplemental oxygen", "affirmed"),
        ("No supplemental oxygen requirement", "negated"),
        ("Denies pneumonia", "negated"),
        ("Pneumonia ruled out", "negated"),
        ("Without pneumonia", "negated"),
        ("Negative for pneumonia", "negated"),
        ("? pneumonia", "uncertain"),
        ("Pneumonia?", "uncertain"),
        ("r/o pneumonia", "uncertain"),
        ("Possible pneumonia", "uncertain"),
        ("Cannot rule out pneumonia", "uncertain"),  # the longer cue wins over "cannot"
        ("Pneumonia not ruled out", "uncertain"),
        ("Consider oxygen if needed", "uncertain"),
        ("History of pneumonia, resolved", "historical"),
        ("Family history of pneumonia", "family"),
        ("No improvement in pneumonia", "affirmed"),  # pseudo cue: "no improvement" negates nothing
        ("No fever; pneumonia on CXR", "affirmed"),  # another sentence
        ("No fever but pneumonia on CXR", "affirmed"),  # a terminator ends the negation's scope
        ("Pneumonia diagnosed May 2026", "affirmed"),  # a month, not "may"
    ],
)
def test_mention_status(text, status):
    assert te.status(te.mentions(text, ["pneumonia", "supplemental oxygen", "oxygen"])) == status


def test_sentences_keep_abbreviations_and_single_letters_whole():
    assert te.sentences("Allergy to E. coli-derived protein. Seen by Dr. Lee. ? MAS | Hives") == (
        "Allergy to E. coli-derived protein.",
        "Seen by Dr. Lee.",
        "? MAS",
        "Hives",
    )


def test_an_affirmed_mention_anywhere_in_the_text_affirms():
    assert te.status(te.mentions("No pneumonia in 2024. Now pneumonia on CT.", ["pneumonia"])) == "affirmed"


# -- condition kinds: COVID-19 pneumonia and oxygen (table1.covid-19.3), infections, MAS, prior infection -----------


def _cond(text, code=None, status="active"):
    c = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"text": text, **({"coding": [{"system": ICD, "code": code}]} if code else {})},
    }
    return condition_diagnosis(c)


def test_pneumonia_without_oxygen_requirement_is_not_oxygen():
    """The issue's chart: the pneumonia code stands (coded data first); the text denies oxygen."""
    d = _cond("Pneumonia, no supplemental oxygen requirement (SpO2 95% on room air)", "J18.9")
    assert "pneumonia" in d.kinds and "oxygen" not in d.kinds and d.hedged("oxygen") == "negated"


def test_oxygen_stated_then_room_air_is_left_uncertain():
    d = _cond("COVID-19 pneumonia, was on oxygen, now on room air")
    assert "oxygen" not in d.kinds and d.hedged("oxygen") in ("uncertain", "historical")


def test_oxygen_stated_explicitly_counts():
    assert "oxygen" in _cond("COVID-19 pneumonia on 2 L nasal cannula").kinds


@pytest.mark.parametrize(
    "text, kind, affirmed, hedged",
    [
        ("r/o sepsis", "infection", False, "uncertain"),
        ("No active infection", "infection", False, "negated"),
        ("History of pneumonia, resolved", "infection", False, "historical"),
        ("Cellulitis of the left leg", "infection", True, None),
        ("Possible macrophage activation syndrome", "mas", False, "uncertain"),
        ("Family history of HLH", "mas", False, "family"),
        ("Macrophage activation syndrome", "mas", True, None),
        ("History of COVID-19, resolved", "sars_cov_2_prior", True, None),  # a past infection is what mis-c.2 asks
        ("COVID-19 ruled out", "sars_cov_2_prior", False, "negated"),
    ],
)
def test_condition_kinds_read_text_with_negation(text, kind, affirmed, hedged):
    d = _cond(text)
    assert (kind in d.kinds) is affirmed and d.hedged(kind) == hedged


def test_a_code_decides_whatever_the_text_says():
    """Coded data first: an ICD-10-CM pneumonia code is pneumonia even when its text is hedged."""
    assert "pneumonia" in condition_kinds((Code(ICD, "J18.9"),), "? pneumonia")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rule out Still's disease", set()),
        ("Family history of rheumatoid arthritis", set()),
        ("History of rheumatoid arthritis", {"ra"}),
        ("Rheumatoid arthritis, not responding to methotrexate", {"ra"}),
    ],
)
def test_indication_names_are_read_with_negation(text, expected):
    assert set(indications_for_text(text)) == expected


# -- responses and route intolerances --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, response",
    [
        ("Not in remission", None),  # was read as benefit
        ("Remission not achieved", None),
        ("No loss of response; in remission", "benefit"),  # "no loss of response" states no failure
        ("In remission on anakinra", "benefit"),
        ("Inadequate response", "no-benefit"),
    ],
)
def test_responses_are_read_with_negation(text, response):
    assert response_of(text) == response


@pytest.mark.parametrize(
    "text, route",
    [
        ("Hives after each injection; not a needle issue", False),
        ("Needle phobia", True),
        ("Possible needle phobia", True),  # a hedge does not put an intolerance back into the count
    ],
)
def test_route_intolerance(text, route):
    assert is_route_intolerance(text) is route


# -- the order's setting (position.site-of-care) ---------------------------------------------------------------------


def _order(note=None, category=None, text=None):
    order = {"resourceType": "MedicationRequest", "id": "o1"}
    if note:
        order["note"] = [{"text": note}]
    if category:
        order["category"] = [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category", "code": category}
                ]
            }
        ]
    if text:
        order["dosageInstruction"] = [{"text": text}]
    return order


@pytest.mark.parametrize(
    "note, provider",
    [
        ("The nurse teaches the first injection in office and the patient self-injects at home.", False),
        ("First injection taught by the nurse in the office, then self-injects at home.", False),
        ("Injection training in clinic; self-administered at home thereafter.", False),
        ("Self-injection at home rather than in the clinic.", False),
        ("Not to be administered in the office.", False),
        ("Seen in clinic today; follow-up in clinic in 3 months.", False),  # a visit, not administration
        ("Seen in the emergency department last week.", False),
        ("Administered in clinic by nursing staff daily.", True),
        ("Nurse to administer in the office every day.", True),
        ("Clinic-administered: patient declines self-injection.", True),
        ("Given in the infusion center.", True),
        ("May be given in clinic if needed.", None),  # a possibility: unknown
    ],
)
def test_setting_text(note, provider):
    assert read_setting(_order(note)).provider_administered is provider


def test_coded_category_decides_over_a_hedged_text():
    s = read_setting(_order("May be given in clinic if needed.", category="community"))
    assert s.provider_administered is False and any("possibility" in r for r in s.reasons)


def test_teaching_is_said_in_the_evidence():
    s = read_setting(
        _order("First injection taught by the nurse in the office, then self-injects at home.", category="community")
    )
    assert any("teaching" in r for r in s.reasons)


# -- allergies (precautions.contraindication; table1.ra step therapy) ------------------------------------------------


def _allergy(
    code_text=None, substances=(), manifestations=(), note=None, kind="allergy", verification="confirmed", coding=None
):
    reactions = [
        {"substance": {"text": s}, "manifestation": [{"text": m} for m in manifestations]} for s in substances
    ] or ([{"manifestation": [{"text": m} for m in manifestations]}] if manifestations else [])
    res = {
        "resourceType": "AllergyIntolerance",
        "id": "a1",
        "type": kind,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "code": {**({"text": code_text} if code_text else {}), **({"coding": [coding]} if coding else {})},
        "reaction": reactions,
    }
    if note:
        res["note"] = [{"text": note}]
    return read_allergies([res])[0]


def test_filgrastim_allergy_with_an_e_coli_reaction_substance():
    """The issue's chart: allergen filgrastim, reaction.substance and note 'E. coli-derived protein'."""
    a = _allergy(
        "Filgrastim",
        substances=["E. coli-derived protein"],
        manifestations=["Urticaria"],
        note="Reacts to E. coli-derived proteins.",
    )
    assert a.substance == "ecoli-protein" and not a.unconfirmed and "E. coli-derived protein" in a.label


@pytest.mark.parametrize(
    "kwargs, substance, unconfirmed",
    [
        (
            {"code_text": "Neulasta", "manifestations": ["Hives"]},
            "ecoli-protein",
            False,
        ),  # an E. coli-expressed product
        ({"code_text": "Pegfilgrastim", "kind": "intolerance", "manifestations": ["Bone pain"]}, "other", False),
        ({"code_text": "Peanut", "note": "Urticaria after Kineret in 2019."}, "anakinra", False),
        ({"code_text": "Peanut", "note": "Tolerates Kineret well."}, "other", False),  # no reaction named
        ({"code_text": "Amoxicillin", "note": "Tolerated pegfilgrastim without reaction."}, "other", False),
        ({"code_text": "Sulfa", "note": "No known hypersensitivity to E. coli proteins."}, "other", False),
        ({"code_text": "Peanut", "note": "Possible reaction to polysorbate 80."}, "kineret-excipient", True),
        ({"code_text": "Edetate disodium"}, "kineret-excipient", False),
        ({"code_text": "Citric acid"}, "kineret-excipient", False),
        ({"substances": ["Anakinra"], "manifestations": ["Anaphylaxis"]}, "anakinra", False),
    ],
)
def test_allergens_from_every_part_of_the_record(kwargs, substance, unconfirmed):
    a = _allergy(**kwargs)
    assert (a.substance, a.unconfirmed) == (substance, unconfirmed)


def test_a_preferred_product_allergy_keeps_its_product_when_the_reaction_names_an_excipient():
    a = _allergy("Humira", substances=["Polysorbate 80"], manifestations=["Hives"])
    assert a.substance == "kineret-excipient" and a.preferred_product == "humira" and "tnf" in a.classes


def test_refuted_and_entered_in_error_records():
    assert _allergy("Kineret", verification="refuted").refuted
    assert (
        read_allergies(
            [
                {
                    "resourceType": "AllergyIntolerance",
                    "id": "x",
                    "code": {"text": "Kineret"},
                    "verificationStatus": {"coding": [{"code": "entered-in-error"}]},
                }
            ]
        )
        == ()
    )


# -- prescriber statements (initiation.1.b, 1.c.ii.II, 2, continuation.2, covid-19.4/5, mis-c.4.b) -------------------


@pytest.mark.parametrize(
    "note, keys",
    [
        ("I support the use of anakinra at this patient's age.", {"age_support"}),
        ("Use at this age is supported.", {"age_support"}),
        ("Benefit outweighs risk at age 16.", {"age_support"}),
        ("Kineret is medically necessary and appropriate for this 15-year-old.", {"age_support"}),
        ("I cannot confirm that use at this age is supported.", set()),
        ("I do not support use at this age.", set()),
        ("Dose appropriate for age and weight.", set()),  # about the dose, not the use
        ("Recommend age-appropriate vaccines.", set()),
        (
            "On Kineret for the past 3 months with good clinical response.",
            {"recent_anakinra", "anakinra_use", "clinical_benefit"},
        ),
        ("Received anakinra samples in the last 90 days.", set()),  # samples are not approvable
        ("Switching therapy would put her at risk of a severe flare.", {"at_risk_if_changed"}),
        ("Not at risk if therapy is changed.", set()),
        ("Low risk if switched.", set()),
        ("Seen by pediatric rheumatology, who agrees with anakinra.", {"specialist_consult"}),
        ("Rheumatology consult pending.", set()),
        ("Will refer to rheumatology.", set()),
        ("Not in remission.", set()),
        ("Remission not achieved.", set()),
        ("Steroids are not contraindicated.", set()),
        ("Cannot receive long-term steroids (avascular necrosis).", {"glucocorticoid_contraindication"}),
        ("suPAR normal.", set()),
        ("? elevated suPAR", set()),
        # "starting on samples is not approvable": a stated sample blocks, "not samples" is what is asked for
        (
            "Kineret filled at the specialty pharmacy (not samples) within the past 90 days.",
            {"recent_anakinra", "anakinra_use"},
        ),
        ("Kineret from samples within the past 90 days.", set()),
        ("Has been on Kineret since 10/06/2025.", {"anakinra_use"}),
        ("Never treated with Kineret.", set()),
        # table1.ra.2.f, both halves by meaning
        ("All preferred RA products are clinically inappropriate for this patient.", {"preferred_inappropriate"}),
        ("None of the preferred products is clinically appropriate (MS, prior MI).", {"preferred_inappropriate"}),
        ("Not all preferred products are inappropriate.", set()),
        ("Some preferred products are inappropriate.", set()),  # not ALL
        ("Complete list of previously tried preferred products for RA: none.", {"preferred_tried_list"}),
        ("Complete list of preferred products tried: Humira, Enbrel.", {"preferred_tried_list"}),
        ("No preferred products previously tried.", {"preferred_tried_list"}),
        ("Complete list of previously tried preferred products: see attached.", set()),  # nothing listed
    ],
)
def test_statements_by_meaning(note, keys):
    assert set(read_prescriber_statements({"id": "o1", "note": [{"text": note}]})) == keys


def test_statement_mentions_say_why_a_sentence_was_not_taken():
    found = dict(prescriber_statement_mentions("I cannot confirm that use at this age is supported."))
    assert found["age_support"].status == "negated" and found["age_support"].cue == "cannot"


@pytest.mark.parametrize(
    "note, items",
    [
        ("Complete list of previously tried preferred products for RA: none.", frozenset()),
        ("Complete list of preferred products tried: Humira (adalimumab), Enbrel.", frozenset({"humira", "enbrel"})),
        ("Complete list of preferred products tried: Hadlima (adalimumab-bwwd).", frozenset({"hadlima"})),
        ("No preferred products previously tried.", frozenset()),
    ],
)
def test_the_list_of_preferred_products_tried_is_read(note, items):
    """Table 1 RA 2.f: "the prescriber has provided a complete list of previously tried preferred products"."""
    found = read_prescriber_statements({"id": "o1", "note": [{"text": note}]})
    assert found["preferred_tried_list"].items == items


@pytest.mark.parametrize(
    "note, key",
    [
        (
            "Not confirmed: no EUA use: hospitalized, PCR+, pneumonia on 2 L NC, at risk of progressing to severe "
            "respiratory failure, suPAR 7.0 ng/mL.",
            "respiratory_failure_risk",
        ),
        (
            "Not confirmed: no Steroids stopped for steroid-induced psychosis: "
            "long-term glucocorticoids contraindicated.",
            "glucocorticoid_contraindication",
        ),
    ],
)
def test_a_qualifying_heading_on_an_order_note_states_nothing(note, key):
    """A heading ("Not confirmed:", "Ruled out:") governs the whole sentence of an order note, as it does on a
    condition's note: the statement after it is not made (found by the evidence-removal property)."""
    assert key not in dict(prescriber_statements(note))
    assert key in dict(prescriber_statements(note.split(": no ", 1)[1]))
