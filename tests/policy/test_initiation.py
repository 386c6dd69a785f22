"""Initiation 1 to 3: recent anakinra, prescriber statement, Table 1 + age, specialist, contraindication."""

from __future__ import annotations

import pytest

from tests.policy.builders import (
    AS_OF,
    CLINIC,
    NA,
    NM,
    ORDER_REF,
    M,
    U,
    ago,
    allergy,
    anakinra_dispense,
    case,
    covid_case,
    decide,
    dose,
    dx,
    misc_case,
    mtx_failed,
    node,
    nomid_case,
    order,
    outcome,
    preferred_failed,
    prior_auth,
    span,
    statement,
)


@pytest.mark.parametrize(
    "meds, unavailable, expected",
    [
        ((anakinra_dispense(20),), (), M),  # dispensed 20 days ago
        ((anakinra_dispense(85),), (), M),  # supply ends within 90 days
        ((anakinra_dispense(150),), (), NM),  # too long ago
        ((anakinra_dispense(20, sample=True),), (), NM),  # samples do not count
        # A statement only cannot rule out samples (issue 17, class 2): unknown, never "no dispense" (not-met).
        ((span("anakinra", classes=("anakinra",), start=AS_OF.replace(day=1), active=True),), (), U),
        ((), ("medicationDispenses",), U),  # dispensing history unreadable
        ((), (), NM),
    ],
)
def test_initiation_1a_recent_anakinra(meds, unavailable, expected):
    c = case(medications=meds, unavailable=unavailable)
    assert outcome(c, "initiation.1.a") is expected


def test_initiation_1a_evidence_names_the_dispense():
    n = node(decide(case(medications=(anakinra_dispense(20),))), "initiation.1.a")
    assert [e.reference for e in n.evidence] == ["MedicationDispense/ana-20"]


@pytest.mark.parametrize(
    "statements, meds, expected",
    [
        ((statement("recent_anakinra"), statement("at_risk_if_changed")), (), M),
        ((statement("recent_anakinra"),), (), U),
        ((), (span("anakinra", classes=("anakinra",), start=AS_OF.replace(month=1)),), U),
    ],
)
def test_initiation_1b_prescriber_statement(statements, meds, expected):
    # RA without step therapy so 1.c is not met and 1.b is looked at
    c = case(medications=meds, order_facts=order(statements=statements))
    d = decide(c)
    assert node(d, "initiation.1.b").outcome is expected
    if expected is U:
        assert any("at risk if therapy is changed" in m.text for m in d.missing)


def _use(when, text="the prescriber's dated words"):
    from dataclasses import replace

    return replace(statement("anakinra_use", text), when=when, when_text=text)


@pytest.mark.parametrize(
    "statements, expected",
    [
        # "has been treated with Kineret continuously since 10/06/2025" + at risk: stated by its dates
        ((_use((AS_OF, AS_OF)), statement("at_risk_if_changed")), M),
        ((_use((ago(60), ago(60))), statement("at_risk_if_changed")), M),
        # "treated with Kineret from February to mid-July 2025": the prescriber's own dates contradict recent use
        ((_use((ago(230), ago(220))), statement("at_risk_if_changed")), NM),
        ((_use((ago(230), ago(220))), statement("recent_anakinra"), statement("at_risk_if_changed")), NM),
        # dates on both sides of the window ("started in 2023", no end): they decide nothing
        ((_use((ago(1000), AS_OF)), statement("at_risk_if_changed")), U),
        ((_use((AS_OF, AS_OF)),), U),  # the risk half is missing
    ],
)
def test_initiation_1b_reads_the_prescribers_dates(statements, expected):
    """1.b: "The prescriber states the member has been treated with anakinra ... within the past 90 days AND is at
    risk if therapy is changed". Table 1 RA 2 is not documented (Humira only), so 1.b is what is looked at."""
    d = decide(case(medications=(mtx_failed(), preferred_failed("humira")), order_facts=order(statements=statements)))
    assert node(d, "initiation.1.b").outcome is expected
    assert d.determination.value == ("covered" if expected is M else "conditional")


def test_initiation_1b_not_needed_when_1c_met():
    assert outcome(case(), "initiation.1.b") is NA


def test_initiation_1b_not_requested_when_no_anakinra_and_1c_needs_documents():
    d = decide(covid_case(statements=()))
    assert node(d, "initiation.1.b").outcome is U
    assert not node(d, "initiation.1.b").missing
    assert not any("anakinra (not samples)" in m.text for m in d.missing)


@pytest.mark.parametrize(
    "age, statements, expected_i, expected",
    [
        (50, (), M, M),
        (18, (), M, M),
        (16, (), NM, U),  # below FDA labeling: prescriber info requested
        (16, (statement("age_support"),), NM, M),
        (None, (), U, U),
    ],
)
def test_initiation_1c_ii_ra_age(age, statements, expected_i, expected):
    d = decide(case(age=age, order_facts=order(statements=statements)))
    assert node(d, "initiation.1.c.ii.I").outcome is expected_i
    assert node(d, "initiation.1.c.ii").outcome is expected


def test_initiation_1c_ii_age_is_taken_on_the_order_date():
    from dataclasses import replace
    from datetime import date

    c = case()
    # 18th birthday tomorrow: 17 on the order date
    c = replace(c, patient=replace(c.patient, birth_date=date(2008, 3, 3)))
    assert node(decide(c), "initiation.1.c.ii.I").outcome is NM
    c = replace(c, patient=replace(c.patient, birth_date=date(2008, 3, 2)))
    assert node(decide(c), "initiation.1.c.ii.I").outcome is M


@pytest.mark.parametrize(
    "maker, expected",
    [
        (lambda: nomid_case(age=0), M),  # NOMID: any age
        (lambda: nomid_case(age=1, diagnoses=(dx(("dira",), "M04.8", text="DIRA"),)), M),
        (misc_case, NA),  # MIS-C: not FDA-approved (its own age rule is table1.mis-c.1)
        (lambda: covid_case(age=16), U),  # EUA adults: prescriber's support requested
        (lambda: covid_case(age=40), M),
    ],
)
def test_initiation_1c_ii_by_indication(maker, expected):
    assert outcome(maker(), "initiation.1.c.ii") is expected


def test_initiation_1c_i_without_indication_asks_for_the_diagnosis():
    d = decide(case(diagnoses=(dx((), "I10", text="Hypertension"),)))
    n = node(d, "initiation.1.c.i")
    assert n.outcome is U and "diagnosis" in node(d, "table1.other").missing[0].text
    assert d.determination.value == "conditional"
    d = decide(case(diagnoses=()))
    n = node(d, "initiation.1.c.i")
    assert n.outcome is U and "diagnosis" in n.missing[0].text and not n.children


@pytest.mark.parametrize(
    "specialties, statements, known, expected",
    [
        (("rheumatology",), (), True, M),
        (("pediatric-rheumatology",), (), True, M),
        (("family-medicine",), (), True, U),
        ((), (), False, U),
        (("family-medicine",), (statement("specialist_consult", "Consulted rheumatology."),), True, M),
    ],
)
def test_initiation_2_specialist(specialties, statements, known, expected):
    c = case(specialties=specialties, prescriber_known=known, order_facts=order(statements=statements))
    assert outcome(c, "initiation.2") is expected


@pytest.mark.parametrize(
    "clause, kw", [("initiation.2", {}), ("continuation.3", {"prior_authorizations": (prior_auth(),)})]
)
def test_initiation_2_met_cites_only_what_establishes_it(clause, kw):
    """Met by the consultation: the consult statement is the evidence; the prescriber's own family-medicine role is
    described in the note, not cited (negating it must not be counting a record that does not support the
    clause). Met by the specialty: the role is the evidence."""
    consult = statement("specialist_consult", "Reviewed with Dr. Ng (rheumatology), who recommends anakinra.")
    n = node(decide(case(specialties=("family-medicine",), order_facts=order(statements=(consult,)), **kw)), clause)
    assert n.outcome is M
    assert [e.reference for e in n.evidence] == [f"{ORDER_REF}.note[0]"]
    assert "family-medicine" in n.note and "PractitionerRole/rheum" in n.note
    n = node(decide(case(specialties=("rheumatology",), order_facts=order(statements=(consult,)), **kw)), clause)
    assert n.outcome is M and [e.reference for e in n.evidence] == ["PractitionerRole/rheum"]
    n = node(decide(case(specialties=("family-medicine",), **kw)), clause)
    assert n.outcome is U and [e.reference for e in n.evidence] == ["PractitionerRole/rheum"]


def test_initiation_2_specialties_follow_the_indication():
    # an infectious-disease prescriber is a specialist for COVID-19, not for RA
    assert outcome(covid_case(), "initiation.2") is M
    assert outcome(case(specialties=("infectious-disease",)), "initiation.2") is U


@pytest.mark.parametrize(
    "allergies, unavailable, expected",
    [
        ((), (), M),
        ((allergy("anakinra", reactions=("Anaphylaxis",)),), (), NM),
        ((allergy("ecoli-protein", label="E. coli protein"),), (), NM),
        ((allergy("kineret-excipient", label="polysorbate 80"),), (), NM),
        ((allergy("anakinra", refuted=True),), (), M),
        ((allergy("anakinra", active=False),), (), M),
        ((allergy("anakinra", unconfirmed=True),), (), U),
        ((allergy("penicillin"),), (), M),
        ((), ("allergies",), U),
    ],
)
def test_initiation_3_contraindication(allergies, unavailable, expected):
    c = case(allergies=allergies, unavailable=unavailable)
    d = decide(c)
    assert node(d, "precautions.contraindication").outcome is expected
    assert node(d, "initiation.3").outcome is expected
    assert (d.determination.value == "not-covered") is (expected is NM)


def test_site_of_care_not_met_is_a_denial():
    d = decide(case(order_facts=order(setting=CLINIC)))
    assert node(d, "position.site-of-care").outcome is NM
    assert d.determination.value == "not-covered"
    assert [f.kind for f in d.findings] == ["site-of-care"]


def test_initiation_5_dose_route_with_the_indication():
    d = decide(case(order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert node(d, "initiation.5.a").outcome is NM
    assert node(d, "initiation.5.b").outcome is U  # records of a 3-month trial of the max dose
    assert node(d, "initiation.5.c").outcome is NM  # RA is not compendia-only
    assert node(d, "initiation.5.d").outcome is NM
    assert d.determination.value == "conditional"
