"""Table 1 COVID-19 3-5 and MIS-C 4.a from chart notes, respiratory support beyond low-/high-flow oxygen, and the
low neutrophil count precaution: genuine passes and near misses written from the guideline text."""

from dataclasses import replace

import pytest

from cds_service.facts.model import ChartNote, ProcedureFact

from .builders import (
    NM,
    M,
    U,
    ago,
    covid_case,
    decide,
    lab,
    misc_case,
    node,
    outcome,
    span,
    statement,
    with_patient,
)
from .builders import case as base_case


def note(
    text: str = "", statements=(), values=(), kinds=(), hedged=(), active: bool = True, days_ago: int = 2, unstated=()
) -> ChartNote:
    return ChartNote(
        text=text or "note",
        source="Condition/c1.note[0]",
        written=ago(days_ago),
        active=active,
        statements=tuple(statements),
        unstated=tuple(unstated),
        values=tuple(values),
        kinds=frozenset(kinds),
        hedged_kinds=tuple(hedged),
    )


def covid(notes=(), statements=(), **kw):
    return with_patient(covid_case(statements=statements, **kw), chart_notes=tuple(notes))


RISK = ("respiratory_failure_risk", "high risk of progression to severe respiratory failure")
SUPAR_78 = replace(lab("supar", 7.8, "ng/mL", 1), source="Condition/c1.note[0]", text="stated in a note")
SUPAR_32 = replace(lab("supar", 3.2, "ng/mL", 1), source="Condition/c1.note[0]", text="stated in a note")
O2 = ProcedureFact("Oxygen therapy", "Procedure/o2", ago(2), True, frozenset({"oxygen"}))
VENT = ProcedureFact(
    "Invasive mechanical ventilation via endotracheal tube", "Procedure/imv", ago(1), True, frozenset({"ventilation"})
)


# ------------------------------------------------------------------ COVID-19 4 and 5 from the chart's notes


def test_notes_stating_the_risk_and_the_supar_value_cover_the_eua_order():
    """ "4. Member is at risk of progressing to severe respiratory failure AND 5. Member is likely to have an elevated
    plasma ... suPAR": stated in the pneumonia's note ("high risk of progression to severe respiratory failure;
    suPAR 7.8 ng/mL"), with no prescriber statement on the order."""
    d = decide(covid(notes=(note(statements=(RISK,), values=(SUPAR_78,)),)))
    assert node(d, "table1.covid-19.4").outcome is M
    assert node(d, "table1.covid-19.5").outcome is M
    assert d.determination.value == "covered"
    assert any(e.reference == "Condition/c1.note[0]" for e in node(d, "table1.covid-19.4").evidence)


def test_a_note_that_speaks_of_the_risk_without_stating_it_leaves_4_unknown():
    hedged = note(unstated=(("respiratory_failure_risk", "negated", "low risk of respiratory failure"),))
    n = node(decide(covid(notes=(hedged,))), "table1.covid-19.4")
    assert n.outcome is U and any("not counted" in e.description for e in n.evidence)


def test_a_measured_low_supar_is_not_met_even_when_someone_says_it_is_likely_elevated():
    """Near miss for 5: the EUA population is patients likely to have an elevated suPAR; a measured 3.2 ng/mL says
    otherwise, whatever the order's note claims."""
    c = covid(
        notes=(note(values=(SUPAR_32,)),),
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    d = decide(c)
    assert node(d, "table1.covid-19.5").outcome is NM
    assert d.determination.value != "covered"


def test_a_coded_supar_result_comes_before_a_value_in_a_note():
    c = covid(
        notes=(note(statements=(RISK,), values=(SUPAR_78,)),),
        labs=(lab("sars_cov_2", None, None, 2, positive=True), lab("supar", 4.0, "ng/mL", 1)),
    )
    assert outcome(c, "table1.covid-19.5") is NM


def test_a_note_stating_an_elevated_supar_without_a_value_meets_5():
    c = covid(notes=(note(statements=(RISK, ("elevated_supar", "suPAR elevated"))),))
    assert outcome(c, "table1.covid-19.5") is M


# ------------------------------------------------------------------ COVID-19 3: respiratory support and room air


@pytest.mark.parametrize(
    "procedures, notes",
    [
        ((O2, VENT), ()),  # IMV in progress
        ((O2, replace(VENT, active=False, performed=ago(2))), ()),  # started 2 days ago, no end
        ((O2,), (note(kinds=("ventilation",)),)),  # "Intubated ..." in a recent note
    ],
)
def test_ventilation_is_beyond_low_or_high_flow_oxygen(procedures, notes):
    """Near miss for 3 and 4: "pneumonia requiring supplemental oxygen (low- or high-flow oxygen)" in a member "at
    risk of progressing to severe respiratory failure"; a ventilated member has progressed, and is on more than
    low- or high-flow oxygen. Never covered, even with the prescriber's statements."""
    c = covid(
        notes=notes,
        procedures=procedures,
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    d = decide(c)
    assert node(d, "table1.covid-19.3").outcome is NM
    assert node(d, "table1.covid-19.4").outcome is NM
    assert d.determination.value != "covered"
    assert (
        "covid_respiratory_support" in node(d, "table1.covid-19.3").note
        or "beyond low- or high-flow" in node(d, "table1.covid-19.3").note
    )


def test_ventilation_that_ended_does_not_block_3():
    ended = replace(VENT, active=False, performed=ago(6), ended=ago(4))
    old_note = note(kinds=("ventilation",), days_ago=20)
    c = covid(
        notes=(old_note,),
        procedures=(O2, ended),
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    assert outcome(c, "table1.covid-19.3") is M
    assert decide(c).determination.value == "covered"


def test_room_air_on_the_same_day_as_oxygen_leaves_3_unknown_and_newer_oxygen_meets_it():
    """Reading covid_supplemental_oxygen: the chart contradicts itself unless the coded oxygen is newer."""
    sars = lab("sars_cov_2", None, None, 2, positive=True)
    same_day = covid(
        procedures=(O2,),
        labs=(sars, lab("oxygen", 21, "%", 0)),
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    d = decide(same_day)
    assert node(d, "table1.covid-19.3").outcome is U and d.determination.value != "covered"
    later = covid(
        procedures=(),
        labs=(sars, lab("oxygen", 21, "%", 3), lab("oxygen", 4, "L/min", 1)),
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    assert outcome(later, "table1.covid-19.3") is M
    earlier = covid(procedures=(), labs=(sars, lab("oxygen", 4, "L/min", 3), lab("oxygen", 21, "%", 1)))
    assert outcome(earlier, "table1.covid-19.3") is U


def test_a_note_denying_oxygen_contradicts_an_oxygen_statement_on_the_order():
    """Near miss: the order's reason says "pneumonia requiring supplemental oxygen", the chart's note says no oxygen
    is required: not met by the order's wording alone."""
    from .builders import dx

    pna = dx((), "J12.82", text="COVID-19 pneumonia", kinds=("infection", "pneumonia"))
    reason = dx(
        ("covid-19",),
        "U07.1",
        text="COVID-19 pneumonia requiring supplemental oxygen",
        kinds=("sars_cov_2", "oxygen"),
        from_order=True,
    )
    c = covid(
        diagnoses=(pna, reason),
        procedures=(),
        notes=(note(hedged=(("oxygen", "negated"),)),),
        statements=(statement("respiratory_failure_risk"), statement("elevated_supar")),
    )
    assert outcome(c, "table1.covid-19.3") is U
    assert outcome(with_patient(c, chart_notes=()), "table1.covid-19.3") is M


# ------------------------------------------------------------------ MIS-C 4.a stated in a note

IVIG = span("immune-globulin", classes=("ivig",), start=ago(4), end=ago(4), kind="administration")
STEROID = span("methylprednisolone", classes=("glucocorticoid",), start=ago(4), end=ago(2), kind="administration")
REFRACTORY = (
    "ivig_glucocorticoid_refractory",
    "despite IVIG and methylprednisolone: refractory to IVIG and glucocorticoids",
)


def test_misc_4a_met_when_both_are_given_and_a_note_states_refractoriness():
    c = with_patient(misc_case(medications=(IVIG, STEROID)), chart_notes=(note(statements=(REFRACTORY,)),))
    d = decide(c)
    assert node(d, "table1.mis-c.4.a").outcome is M
    assert d.determination.value == "covered" and d.approval_months == 1


def test_misc_4a_note_without_the_glucocorticoid_on_record_is_unknown():
    c = with_patient(misc_case(medications=(IVIG,)), chart_notes=(note(statements=(REFRACTORY,)),))
    n = node(decide(c), "table1.mis-c.4.a")
    assert n.outcome is U and "glucocorticoid" in n.note


def test_misc_4a_note_that_does_not_state_it_stays_unknown():
    hedged = note(unstated=(("ivig_glucocorticoid_refractory", "negated", "not refractory to IVIG and steroids"),))
    c = with_patient(misc_case(medications=(IVIG, STEROID)), chart_notes=(hedged,))
    assert outcome(c, "table1.mis-c.4.a") is U


# ------------------------------------------------------------------ precautions.neutrophils: a low count


@pytest.mark.parametrize(
    "anc, expected",
    [
        (lab("anc", 1.1, "10*3/uL", 5), NM),  # below 1.5: neutropenia
        (replace(lab("anc", 1.6, "10*3/uL", 5), flag="L"), NM),  # flagged low by the laboratory
        (replace(lab("anc", 1.7, "10*3/uL", 5), ref_low=1.8), NM),  # below its own reference range
        (lab("anc", 1.5, "10*3/uL", 5), M),
        (lab("anc", 4.2, "10*3/uL", 5), M),
    ],
)
def test_a_low_baseline_neutrophil_count_is_surfaced_without_changing_coverage(anc, expected):
    """ "assess neutrophil counts prior to therapy initiation": the count is there to be acted on; the guideline sets
    no count that bars initiation, so coverage stays as the criteria decide."""
    c = base_case(labs=(anc, lab("creatinine", 0.8, "mg/dL", 14)))
    d = decide(c)
    n = node(d, "precautions.neutrophils")
    assert n.outcome is expected
    assert d.determination.value == "covered"
    cards = [f for f in d.findings if "precautions.neutrophils" in f.clause_ids]
    assert bool(cards) is (expected is NM)
    if expected is NM:
        assert "low" in n.note
