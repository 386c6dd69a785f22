"""Diagnoses: ICD-10-CM by prefix (including the 'A' 7th characters), SNOMED, text, qualified codes, kinds."""

from __future__ import annotations

import pytest

from cds_service.facts.diagnoses import classify, condition_diagnosis, order_reasons, problem_list

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


def concept(code=None, system=ICD, text=None, display=None):
    out = {}
    if code:
        out["coding"] = [{"system": system, "code": code, **({"display": display} if display else {})}]
    if text:
        out["text"] = text
    return out


def condition(code=None, text=None, clinical="active", verification="confirmed", system=ICD, cid="c1"):
    res = {"resourceType": "Condition", "id": cid, "code": concept(code, system, text)}
    if clinical:
        res["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        res["verificationStatus"] = {"coding": [{"code": verification}]}
    return res


@pytest.mark.parametrize(
    "code, expected",
    [
        ("M05.79", {"ra"}),
        ("M05.A", {"ra"}),
        ("M05.7A", {"ra"}),
        ("M05.8A", {"ra"}),
        ("M06.0A", {"ra"}),
        ("M06.8A", {"ra"}),
        ("M06.9", {"ra"}),
        ("M057A", {"ra"}),  # undotted as in claims data
        ("M06.1", {"still"}),
        ("M08.2A", {"still"}),
        ("M08.20", {"still"}),
        ("M06.4", set()),
        ("M04.2", {"caps"}),
        ("D47.Z2", {"castleman"}),
        ("D76.1", {"hlh"}),
        ("D76.3", {"histiocytic"}),
        ("T80.82XA", {"car-t-toxicity"}),
        ("U07.1", {"covid-19"}),
        ("M35.81", {"mis-c"}),
        ("I10", set()),
    ],
)
def test_icd10_prefixes(code, expected):
    found, _qualified, first = classify(concept(code))
    assert set(found) == expected
    if expected:
        assert first.code == code


@pytest.mark.parametrize(
    "code, text, found, qualified",
    [
        ("G03.1", "Chronic meningitis", set(), {"nomid"}),
        ("G03.1", "Chronic aseptic meningitis in NOMID", {"nomid"}, set()),
        ("L50.8", "Chronic urticaria", set(), {"nomid", "schnitzler"}),
        ("L50.8", "Schnitzler syndrome", {"schnitzler"}, set()),
        ("D47.2", "MGUS", set(), {"schnitzler"}),
        ("Q87.89", None, set(), {"nomid"}),
        ("M04.8", "Other autoinflammatory syndromes", set(), {"dira"}),
        ("M04.8", "Deficiency of interleukin-1 receptor antagonist (DIRA)", {"dira"}, set()),
        ("M04.2", "Muckle-Wells syndrome", {"caps"}, set()),  # the text picks CAPS over NOMID
        ("M04.2", "NOMID / CINCA", {"nomid"}, set()),
    ],
)
def test_qualified_codes_count_only_with_the_diagnosis_named(code, text, found, qualified):
    f, q, _ = classify(concept(code, text=text))
    assert set(f) == found and set(q) == qualified


@pytest.mark.parametrize(
    "code, system, text, expected",
    [
        ("69896004", SNOMED, None, {"ra"}),
        ("201796004", SNOMED, None, {"still"}),
        ("895448002", SNOMED, None, {"mis-c"}),
        (None, ICD, "Systemic juvenile idiopathic arthritis", {"still"}),
        (None, ICD, "Rheumatoid arthritis, seropositive", {"ra"}),
    ],
)
def test_snomed_and_text(code, system, text, expected):
    assert set(classify(concept(code, system, text))[0]) == expected


@pytest.mark.parametrize(
    "code, text, kinds",
    [
        ("U07.1", "COVID-19", {"infection", "sars_cov_2", "sars_cov_2_prior"}),
        ("J12.82", "Pneumonia due to COVID-19", {"infection", "pneumonia"}),
        ("J18.9", None, {"infection", "pneumonia"}),
        ("A41.9", "Sepsis, unspecified organism", {"infection"}),
        ("B35.1", "Onychomycosis", set()),  # superficial: not an infection to hold therapy for
        ("B97.29", None, set()),  # agent-only code
        ("U09.9", "Post COVID-19 condition", {"sars_cov_2_prior"}),
        ("M35.81", None, set()),  # MIS-C is not itself evidence of the infection
        ("Z86.16", "Personal history of COVID-19", {"sars_cov_2_prior"}),
        ("Z20.822", "Contact with and (suspected) exposure to COVID-19", set()),
        ("D76.1", None, {"mas"}),
        (None, "Macrophage activation syndrome", {"mas"}),
        (None, "Cellulitis of left leg", {"infection"}),
        (None, "Hypoxemia on supplemental oxygen", {"oxygen"}),
        ("G03.1", "Chronic aseptic meningitis", set()),  # NOMID's meningitis is not an infection
    ],
)
def test_condition_kinds(code, text, kinds):
    d = condition_diagnosis(condition(code, text))
    assert set(d.kinds) == kinds


def test_status_and_verification():
    assert condition_diagnosis(condition("M05.79", verification="refuted")) is None
    assert condition_diagnosis(condition("M05.79", verification="entered-in-error")) is None
    d = condition_diagnosis(condition("U07.1", clinical="resolved"))
    assert not d.active and d.clinical_status == "resolved" and "sars_cov_2_prior" in d.kinds
    assert not condition_diagnosis(condition("M05.79", verification="provisional")).confirmed
    assert condition_diagnosis(condition("M05.79", clinical=None)).active


def test_problem_list_keeps_every_condition_and_active_texts():
    diags, texts = problem_list(
        [
            condition("M05.79", "RA", cid="a"),
            condition("I10", "Hypertension", cid="b"),
            condition("U07.1", "COVID-19", clinical="resolved", cid="c"),
        ]
    )
    assert [d.source for d in diags] == ["Condition/a", "Condition/b", "Condition/c"]
    assert texts == ("RA", "Hypertension")


def test_order_reasons_code_reference_contained_and_display():
    cond = condition("M06.1", "Adult-onset Still's disease", cid="aosd")
    order = {
        "id": "o1",
        "reasonCode": [concept("M05.79")],
        "reasonReference": [{"reference": "#x"}, {"reference": "Condition/aosd"}, {"display": "NOMID"}],
        "contained": [condition("U07.1", cid="x")],
    }
    reasons = order_reasons(order, lambda ref: cond if ref == "Condition/aosd" else None)
    assert [sorted(r.indications) for r in reasons] == [["ra"], ["covid-19"], ["still"], ["nomid"]]
    assert all(r.from_order for r in reasons)
    assert reasons[0].source == "MedicationRequest/o1.reasonCode[0]" and reasons[0].codes[0].code == "M05.79"


def test_oxygen_text_counts_even_on_an_icd10_coded_condition():
    d = condition_diagnosis(condition("R09.02", "Hypoxemia, on supplemental oxygen 2 L"))
    assert "oxygen" in d.kinds


def test_snomed_only_infection_is_found_by_name():
    d = condition_diagnosis(condition("91302008", "Sepsis", system=SNOMED))
    assert "infection" in d.kinds


# ------------------------------------------------------------------ issue 17 class 4: indication specificity


@pytest.mark.parametrize(
    "code, text, found, possible",
    [
        # M04.2 is "Cryopyrin-associated periodic syndromes": CAPS; NOMID is one of its inclusion terms (ICD-10-CM)
        ("M04.2", None, {"caps"}, {"nomid"}),
        ("M04.2", "Cryopyrin-associated periodic syndromes", {"caps"}, {"nomid"}),
        ("M04.2", "Neonatal onset multisystemic inflammatory disorder [NOMID]", {"nomid"}, set()),
        ("M04.2", "Chronic infantile neurological, cutaneous and articular syndrome [CINCA]", {"nomid"}, set()),
        ("M04.2", "Muckle-Wells syndrome", {"caps"}, set()),  # another of M04.2's syndromes: not NOMID
        ("M04.2", "Familial cold autoinflammatory syndrome", {"caps"}, set()),
        ("M04.8", None, set(), {"dira"}),
        ("M04.8", "Deficiency of interleukin 1 receptor antagonist [DIRA]", {"dira"}, set()),  # ICD-10-CM spelling
        ("M04.8", "Blau syndrome", set(), set()),
        ("M05.79", "Rheumatoid arthritis", {"ra"}, set()),
    ],
)
def test_m04_codes_establish_the_general_indication_and_keep_the_specific_one_possible(code, text, found, possible):
    d = condition_diagnosis(condition(code, text))
    assert set(d.indications) == found
    assert set(d.possible) == possible


@pytest.mark.parametrize(
    "text, found",
    [
        ("NOMID", {"nomid"}),
        ("CAPS; NOMID ruled out", set()),
        ("Possible DIRA, genetic testing pending", set()),
        ("Family history of NOMID (brother)", set()),
        ("Rule out NOMID", set()),
    ],
)
def test_indication_text_that_denies_or_doubts_names_none(text, found):
    assert set(classify(concept(None, text=text))[0]) == found


@pytest.mark.parametrize(
    "text, prior",
    [
        ("History of COVID-19 (January 2026)", True),
        ("Exposure to COVID-19 (sibling positive)", False),  # exposure only: not an infection of the member
        ("COVID-19 ruled out", False),
        ("Suspected COVID-19", False),
        ("MIS-C associated with SARS-CoV-2", False),  # MIS-C is not itself the infection
        ("Multisystem inflammatory syndrome in children temporally associated with COVID-19", False),
    ],
)
def test_prior_sars_cov_2_infection_from_text_is_an_explicit_statement(text, prior):
    d = condition_diagnosis(condition(None, text))
    assert ("sars_cov_2_prior" in d.kinds) is prior
