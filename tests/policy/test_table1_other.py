"""Table 1: DIRA / NOMID (diagnosis only), MIS-C, COVID-19 (EUA), other compendia indications, and how the
indication is chosen (order reason first, qualified codes never alone)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service.facts.model import ProcedureFact
from tests.policy.builders import (
    COMMUNITY,
    INPATIENT_ORDER,
    NM,
    M,
    U,
    ago,
    allergy,
    case,
    covid_case,
    decide,
    dose,
    dx,
    inpatient,
    lab,
    misc_case,
    node,
    nomid_case,
    order,
    outcome,
    span,
    statement,
    still_case,
    with_order,
)

# ------------------------------------------------------------------ choosing the indication


def test_order_reason_wins_over_problem_list():
    c = case(
        diagnoses=(dx(("ra",), "M05.79"),),
        order_facts=order(reasons=(dx(("still",), "M06.1", from_order=True),)),
        medications=(),
    )
    assert decide(c).indication == "still"


def test_inactive_or_unconfirmed_problems_do_not_count():
    assert decide(case(diagnoses=(dx(active=False),))).indication is None
    assert decide(case(diagnoses=(dx(confirmed=False),))).indication is None


def test_priority_picks_nomid_for_m04_2():
    assert decide(nomid_case()).indication == "nomid"


@pytest.mark.parametrize(
    "code, qualified, text_named, expected",
    [
        ("G03.1", ("nomid",), (), U),  # chronic meningitis alone: NOMID must be documented
        ("L50.8", ("nomid", "schnitzler"), (), U),
        ("D47.2", ("schnitzler",), (), U),
        ("M04.8", ("dira",), (), U),
        ("M04.8", (), ("dira",), M),  # the text names DIRA: the facts layer made it an indication
    ],
)
def test_qualified_codes_never_establish_the_indication_alone(code, qualified, text_named, expected):
    c = case(
        diagnoses=(dx(text_named, code, qualified=qualified),),
        medications=(),
        specialties=("pediatric-rheumatology", "rheumatology"),
    )
    d = decide(c)
    n = node(d, "initiation.1.c.i")
    assert n.outcome is expected
    if expected is U:
        assert "qualified_icd10_codes" in d.readings
        assert any("diagnosis of" in m.text for m in d.missing)
        assert d.determination.value == "conditional"


@pytest.mark.parametrize("key, code", [("dira", "M04.8"), ("nomid", "M04.2")])
def test_dira_nomid_diagnosis_only(key, code):
    c = nomid_case(diagnoses=(dx((key,), code, text=key.upper()),))
    assert outcome(c, f"table1.{key}") is M
    assert decide(c).determination.value == "covered"


# ------------------------------------------------------------------ MIS-C


@pytest.mark.parametrize("age, expected", [(9, M), (17, M), (18, NM), (None, U)])
def test_misc_1_under_18(age, expected):
    assert outcome(misc_case(age=age), "table1.mis-c.1") is expected


@pytest.mark.parametrize(
    "diagnoses, labs, expected",
    [
        ((dx(("mis-c",), "M35.81", text="MIS-C"),), (), U),  # MIS-C itself does not show it
        (
            (
                dx(("mis-c",), "M35.81", text="MIS-C"),
                dx((), "U07.1", kinds=("sars_cov_2_prior",), confirmed=False, status="active"),
            ),
            (),
            U,
        ),  # suspected COVID-19, unconfirmed
        (
            (
                dx(("mis-c",), "M35.81", text="MIS-C"),
                dx((), "Z20.822", text="Contact with and (suspected) exposure to COVID-19"),
            ),
            (),
            U,
        ),  # exposure only
        (
            (
                dx(("mis-c",), "M35.81", text="MIS-C"),
                dx((), "Z86.16", kinds=("sars_cov_2_prior",), text="Personal history of COVID-19"),
            ),
            (),
            M,
        ),
        (
            (
                dx(("mis-c",), None, text="MIS-C"),
                dx((), "U07.1", kinds=("sars_cov_2_prior",), active=False, status="resolved"),
            ),
            (),
            M,
        ),  # resolved COVID-19 history
        ((dx(("mis-c",), None, text="MIS-C"),), (lab("sars_cov_2", None, None, 40, positive=True),), M),
        ((dx(("mis-c",), None, text="MIS-C"),), (lab("sars_cov_2", None, None, 40, positive=False),), U),
    ],
)
def test_misc_2_prior_infection(diagnoses, labs, expected):
    assert outcome(misc_case(diagnoses=diagnoses, labs=labs), "table1.mis-c.2") is expected


@pytest.mark.parametrize(
    "encounters, setting, unavailable, expected",
    [
        ((inpatient(),), INPATIENT_ORDER, (), M),
        ((), INPATIENT_ORDER, (), M),  # an inpatient order
        ((inpatient(class_code="EMER", review=True),), COMMUNITY, (), U),
        ((inpatient(active=False),), COMMUNITY, (), NM),
        ((), COMMUNITY, (), U),
        ((), COMMUNITY, ("encounters",), U),
    ],
)
def test_misc_3_hospitalised(encounters, setting, unavailable, expected):
    c = misc_case(encounters=encounters, unavailable=unavailable, order_facts=order(setting=setting))
    assert outcome(c, "table1.mis-c.3") is expected


IVIG = span("immune-globulin", classes=("ivig",), start=ago(4), end=ago(3), kind="administration")
STEROID = span("methylprednisolone", classes=("glucocorticoid",), start=ago(4), end=ago(1))


@pytest.mark.parametrize(
    "meds, expected",
    [
        ((replace(IVIG, stopped_reason="ineffective"), STEROID), M),
        ((IVIG, replace(STEROID, response="no-benefit")), M),
        ((IVIG, STEROID), U),  # both given, response not documented
        ((replace(IVIG, stopped_reason="ineffective"),), NM),  # no glucocorticoid
    ],
)
def test_misc_4a_refractory(meds, expected):
    assert outcome(misc_case(medications=meds), "table1.mis-c.4.a") is expected


@pytest.mark.parametrize(
    "allergies, statements, expected",
    [
        ((allergy("prednisone", classes=("glucocorticoid",)),), (), M),
        ((), (statement("glucocorticoid_contraindication"),), M),
        ((), (), U),
    ],
)
def test_misc_4b_glucocorticoid_contraindication(allergies, statements, expected):
    c = misc_case(allergies=allergies, order_facts=order(setting=INPATIENT_ORDER, statements=statements))
    assert outcome(c, "table1.mis-c.4.b") is expected


@pytest.mark.parametrize(
    "extra, expected",
    [
        ((dx((), "D76.1", kinds=("mas",)),), M),
        ((dx((), None, text="Macrophage activation syndrome", kinds=("mas",)),), M),
        ((), U),
    ],
)
def test_misc_4c_mas(extra, expected):
    base = misc_case().patient.diagnoses
    assert outcome(misc_case(diagnoses=base + extra), "table1.mis-c.4.c") is expected


def test_misc_4_any_and_the_whole_criterion():
    d = decide(misc_case(medications=(IVIG, STEROID)))
    assert node(d, "table1.mis-c.4").outcome is U
    assert d.determination.value == "conditional"
    d = decide(misc_case())
    assert node(d, "table1.mis-c").outcome is M
    assert d.determination.value == "covered" and d.approval_months == 1


# ------------------------------------------------------------------ COVID-19 (EUA)


def test_covid_all_six_met():
    d = decide(covid_case())
    assert [node(d, f"table1.covid-19.{i}").outcome for i in range(1, 7)] == [M] * 6
    assert d.determination.value == "covered" and d.approval_months == 1


@pytest.mark.parametrize(
    "labs, expected",
    [
        ((lab("sars_cov_2", None, None, 2, positive=True),), M),
        ((lab("sars_cov_2", None, None, 40, positive=True),), U),  # too old to confirm this illness
        ((lab("sars_cov_2", None, None, 2, positive=False),), NM),
        ((), U),
    ],
)
def test_covid_2_positive_direct_test(labs, expected):
    assert outcome(covid_case(labs=labs), "table1.covid-19.2") is expected


O2 = ProcedureFact("Oxygen therapy", "Procedure/o2", ago(2), True, frozenset({"oxygen"}))
PNA = dx((), "J12.82", kinds=("infection", "pneumonia"))
COVID = dx(("covid-19",), "U07.1", kinds=("infection", "sars_cov_2"))


@pytest.mark.parametrize(
    "diagnoses, procedures, labs, expected",
    [
        ((COVID, PNA), (O2,), (), M),
        ((COVID, PNA), (), (lab("oxygen", 4, "L/min", 1),), M),  # inhaled oxygen flow observation
        ((COVID, PNA, dx((), None, text="on supplemental oxygen", kinds=("oxygen",))), (), (), M),
        ((COVID, PNA), (replace(O2, active=False, performed=ago(30)),), (), U),  # oxygen long ago
        ((COVID,), (O2,), (), U),  # no pneumonia recorded
    ],
)
def test_covid_3_pneumonia_on_oxygen(diagnoses, procedures, labs, expected):
    base_labs = (lab("sars_cov_2", None, None, 2, positive=True),)
    c = covid_case(diagnoses=diagnoses, procedures=procedures, labs=base_labs + labs)
    assert outcome(c, "table1.covid-19.3") is expected


def test_covid_3_text_saying_oxygen_against_a_chart_saying_room_air_is_unknown():
    """Clinical review chart covid-pneumonia-no-supplemental-oxygen: the order's reason says "COVID-19 pneumonia
    requiring supplemental oxygen" while the problem list says "Pneumonia, no supplemental oxygen requirement
    (SpO2 95% on room air)" and FiO2 is 21 %. Table 1, COVID-19 3: "Member has pneumonia requiring supplemental
    oxygen (low- or high-flow oxygen)": the records conflict, so it is not shown."""
    reason = dx(
        ("covid-19",),
        "U07.1",
        text="COVID-19 pneumonia requiring supplemental oxygen",
        from_order=True,
        kinds=("infection", "sars_cov_2", "oxygen"),
    )
    room_air = dx((), "J12.82", text="Pneumonia, no supplemental oxygen requirement", kinds=("infection", "pneumonia"))
    room_air = replace(room_air, hedged_kinds=(("oxygen", "negated"),))
    base_labs = (lab("sars_cov_2", None, None, 2, positive=True),)

    def with_reason(c):
        return with_order(c, reasons=(reason,))

    assert (
        outcome(
            with_reason(covid_case(diagnoses=(COVID, room_air), procedures=(), labs=base_labs)), "table1.covid-19.3"
        )
        is U
    )
    assert (
        outcome(
            with_reason(
                covid_case(diagnoses=(COVID, PNA), procedures=(), labs=(*base_labs, lab("oxygen", 21, "%", 1)))
            ),
            "table1.covid-19.3",
        )
        is U
    )
    # the same text with nothing against it, and coded oxygen beside a room-air reading, are met
    assert (
        outcome(with_reason(covid_case(diagnoses=(COVID, PNA), procedures=(), labs=base_labs)), "table1.covid-19.3")
        is M
    )
    assert (
        outcome(covid_case(diagnoses=(COVID, PNA), labs=(*base_labs, lab("oxygen", 21, "%", 3))), "table1.covid-19.3")
        is M
    )


def test_covid_4_and_5_need_documentation_without_statements():
    d = decide(covid_case(statements=()))
    assert node(d, "table1.covid-19.4").outcome is U
    assert node(d, "table1.covid-19.5").outcome is U
    assert d.determination.value == "conditional"
    card = next(f for f in d.findings if f.kind == "documentation")
    assert {"table1.covid-19.4", "table1.covid-19.5"} <= set(card.clause_ids)


@pytest.mark.parametrize(
    "labs, expected",
    [
        ((lab("supar", 7.2, "ng/mL", 1),), M),
        ((lab("supar", 4.0, "ng/mL", 1),), NM),
        ((lab("supar", 7.2, "mg/dL", 1),), U),
    ],
)
def test_covid_5_supar_result(labs, expected):
    base = (lab("sars_cov_2", None, None, 2, positive=True),)
    c = covid_case(labs=base + labs, statements=(statement("respiratory_failure_risk"),))
    assert outcome(c, "table1.covid-19.5") is expected


@pytest.mark.parametrize(
    "dose_facts, expected",
    [
        (dose(duration=10), M),
        (dose(duration=None, supply=10), M),  # course from the days supply
        (dose(duration=14), NM),  # more than 10 days
        (dose(mg=200, syringes=56, duration=5), NM),  # more than 100 mg daily
        (dose(duration=None, supply=None, syringes=None), U),
    ],
)
def test_covid_6_dose_and_course(dose_facts, expected):
    assert outcome(covid_case(dose_facts=dose_facts), "table1.covid-19.6") is expected


def test_covid_not_met_criterion_is_explained_on_a_card():
    d = decide(covid_case(dose_facts=dose(duration=14)))
    assert d.determination.value == "conditional"
    card = next(f for f in d.findings if f.kind == "criteria")
    assert "table1.covid-19.6" in card.clause_ids and "14 days" in card.detail


def test_covid_1_not_hospitalised():
    c = covid_case(encounters=(inpatient(active=False),))
    c = replace(c, order=replace(c.order, setting=COMMUNITY))
    assert outcome(c, "table1.covid-19.1") is NM


# ------------------------------------------------------------------ other compendia indications


@pytest.mark.parametrize(
    "key, expected",
    [
        ("still", M),
        ("schnitzler", M),
        ("castleman", U),
        ("histiocytic", U),
        ("car-t-toxicity", U),
        ("hlh", U),  # NCCN: a particular use
        ("caps", U),  # the guideline names no support for CAPS beyond NOMID
    ],
)
def test_table1_other(key, expected):
    c = case(
        diagnoses=(dx((key,), None, text=key),),
        medications=(),
        specialties=("rheumatology", "hematology-oncology", "allergy-immunology"),
    )
    d = decide(c)
    assert node(d, "table1.other").outcome is expected
    if expected is U:
        wanted = "DrugDex" if key == "caps" else "compendia-supported use"
        assert any(wanted in m.text for m in d.missing)


def test_still_codes_listed_with_ra_are_still_disease_and_say_so():
    d = decide(still_case("M08.2A"))
    assert d.indication == "still" and d.determination.value == "covered"
    assert "still_codes_listed_with_ra" in d.readings
    card = next(f for f in d.findings if f.kind == "reading")
    assert "Still's disease" in card.detail and "step therapy" in card.detail
    assert all(n.clause_id != "table1.ra" for t in d.coverage_tree() for n in t.walk())
