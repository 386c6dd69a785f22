"""Precautions: TNF antagonists, active infections (coverage) and the reminders (never coverage)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service.facts.model import ImmunizationFact
from tests.policy.builders import (
    NA,
    NM,
    M,
    U,
    ago,
    allergy,
    anakinra_dispense,
    case,
    covid_case,
    decide,
    dx,
    lab,
    misc_case,
    node,
    nomid_case,
    outcome,
    prior_auth,
    span,
)

HUMIRA_ACTIVE = span("adalimumab", classes=("tnf", "biologic"), start=ago(100), active=True)


@pytest.mark.parametrize(
    "meds, drafts, expected",
    [
        ((HUMIRA_ACTIVE,), (), NM),
        ((), (replace(HUMIRA_ACTIVE, kind="draft"),), NM),
        ((replace(HUMIRA_ACTIVE, active=False, end=ago(30)),), (), M),
        ((span("tofacitinib", classes=("jak",), start=ago(50), active=True),), (), M),  # not a TNF antagonist
    ],
)
def test_precautions_tnf(meds, drafts, expected):
    assert outcome(case(medications=meds, drafts=drafts), "precautions.tnf") is expected


@pytest.mark.parametrize(
    "meds, expected, severity",
    [
        ((HUMIRA_ACTIVE,), NM, "critical"),
        ((span("tofacitinib", classes=("jak",), start=ago(50), active=True),), NM, "warning"),
        ((span("apremilast", classes=("pde4",), start=ago(50), active=True),), NM, "warning"),
        ((span("ozanimod", classes=("s1p",), start=ago(50), active=True),), NM, "warning"),
        ((span("methotrexate", classes=("csdmard",), start=ago(50), active=True),), M, None),
    ],
)
def test_initiation_4_combination(meds, expected, severity):
    d = decide(case(medications=meds))
    assert node(d, "initiation.4").outcome is expected
    if severity:
        assert d.determination.value == "not-covered"
        assert next(f for f in d.findings if f.kind == "combination").severity == severity


def test_initiation_4_unknown_when_medications_unreadable():
    assert outcome(case(medications=(), unavailable=("medicationStatements",)), "initiation.4") is U


UNIDENTIFIED = ("MedicationRequest/rx-unnamed-1",)


@pytest.mark.parametrize("cid", ["initiation.4", "precautions.tnf"])
def test_an_active_medication_that_cannot_be_identified_leaves_the_combination_unknown(cid):
    """It could be the very drug the clause rules out: no conflict found then proves nothing."""
    d = decide(case(unidentified_medications=UNIDENTIFIED))
    n = node(d, cid)
    assert n.outcome is U
    assert [e.reference for e in n.evidence] == list(UNIDENTIFIED)
    assert n.missing and "MedicationRequest/rx-unnamed-1" in n.missing[0].text
    assert n.missing[0].need.value == "info"
    assert d.determination.value == "conditional"  # never covered; the default case is covered
    assert decide(case()).determination.value == "covered"


def test_on_the_continuation_pathway_continuation_5_is_unknown_too():
    d = decide(case(prior_authorizations=(prior_auth(),), unidentified_medications=UNIDENTIFIED))
    assert d.pathway == "continuation"
    assert node(d, "continuation.5").outcome is U
    assert d.determination.value == "conditional"


def test_a_conflict_found_is_not_met_whatever_else_cannot_be_identified():
    d = decide(case(medications=(HUMIRA_ACTIVE,), unidentified_medications=UNIDENTIFIED))
    assert node(d, "initiation.4").outcome is NM and node(d, "precautions.tnf").outcome is NM
    assert d.determination.value == "not-covered"


def test_many_unidentified_records_are_summarised():
    refs = tuple(f"MedicationStatement/ms-{i}" for i in range(8))
    n = node(decide(case(unidentified_medications=refs)), "initiation.4")
    assert n.outcome is U and "8 active medication record(s)" in n.note
    assert len(n.evidence) == 5 and n.missing[0].text.endswith("and 3 more")


INFECTION = dx((), "A41.9", text="Sepsis", kinds=("infection",))


@pytest.mark.parametrize(
    "maker, expected",
    [
        (lambda: case(diagnoses=(dx(), INFECTION)), NM),
        (lambda: case(diagnoses=(dx(), replace(INFECTION, active=False))), M),
        (lambda: case(diagnoses=(dx(), dx((), None, text="Cellulitis of leg", kinds=("infection",)))), NM),
        (case, M),
        (lambda: case(unavailable=("conditions",)), U),
        (covid_case, M),  # COVID-19 and its pneumonia are the indication
        (lambda: covid_case(diagnoses=(*covid_case().patient.diagnoses, dx((), "N10", kinds=("infection",)))), NM),
        (
            lambda: misc_case(
                diagnoses=(*misc_case().patient.diagnoses, dx((), "U07.1", kinds=("infection", "sars_cov_2")))
            ),
            M,
        ),
    ],
)
def test_precautions_serious_infections(maker, expected):
    d = decide(maker())
    assert node(d, "precautions.serious-infections").outcome is expected
    if expected is NM:
        assert d.determination.value == "conditional"  # do not initiate now; not a permanent exclusion
        assert "infection" in [f.kind for f in d.findings]


def test_serious_infection_in_continuation_nomid_is_weighed_not_decided():
    c = nomid_case(
        diagnoses=(dx(("nomid",), "M04.2"), INFECTION),
        prior_authorizations=(prior_auth(indication="nomid"),),
        medications=(anakinra_dispense(20, response="benefit"),),
    )
    d = decide(c)
    assert d.pathway == "continuation"
    assert node(d, "precautions.serious-infections").outcome is NA
    c = case(
        diagnoses=(dx(), INFECTION),
        prior_authorizations=(prior_auth(),),
        medications=(anakinra_dispense(20, response="benefit"),),
    )
    assert node(decide(c), "precautions.serious-infections").outcome is NM


# ------------------------------------------------------------------------------ reminders


@pytest.mark.parametrize(
    "labs, pathway_pas, expected",
    [
        ((lab("anc", 4.0, "10*3/uL", 10),), (), M),
        ((lab("anc", 4.0, "10*3/uL", 45),), (), NM),  # initiation: 30 days
        ((), (), NM),
        ((lab("anc", 4.0, "10*3/uL", 45),), (prior_auth(),), M),  # continuation: quarterly
    ],
)
def test_precautions_neutrophils(labs, pathway_pas, expected):
    meds = (anakinra_dispense(20, response="benefit"),) if pathway_pas else None
    kw = {"medications": meds} if meds else {}
    d = decide(case(labs=labs, prior_authorizations=pathway_pas, **kw))
    n = node(d, "precautions.neutrophils")
    assert n.outcome is expected
    if expected is NM:
        card = next(f for f in d.findings if f.kind == "reminder" and "precautions.neutrophils" in f.clause_ids)
        assert card.severity == "info" and "monthly for 3 months" in card.detail and "quarterly" in card.detail


def test_reminders_never_change_the_determination():
    plain = decide(case())
    noisy = decide(
        case(labs=(), immunizations=(ImmunizationFact("MedicationRequest/mmr", "MMR", True, ago(0), "ordered"),))
    )
    assert plain.determination is noisy.determination
    assert {f.kind for f in noisy.findings} == {"reminder"}


@pytest.mark.parametrize(
    "imms, expected",
    [
        ((ImmunizationFact("Immunization/mmr", "MMR", True, ago(10)),), NM),
        ((ImmunizationFact("Immunization/mmr", "MMR", True, ago(400)),), M),
        ((ImmunizationFact("MedicationRequest/varicella", "Varivax", True, None, "ordered"),), NM),
        ((ImmunizationFact("Immunization/flu", "Influenza, inactivated", False, ago(5)),), M),
    ],
)
def test_precautions_live_vaccines(imms, expected):
    assert outcome(case(immunizations=imms), "precautions.live-vaccines") is expected


@pytest.mark.parametrize(
    "mg, weight, history, expected",
    [
        (100, 20.0, (), M),  # new start: no long-term exposure yet
        (100, 20.0, (span("anakinra", classes=("anakinra",), start=ago(months=8), active=True),), NM),  # 5 mg/kg
        (30, 20.0, (span("anakinra", classes=("anakinra",), start=ago(months=8), active=True),), M),  # 1.5 mg/kg
    ],
)
def test_precautions_amyloidosis(mg, weight, history, expected):
    assert outcome(nomid_case(mg=mg, weight_kg=weight, medications=history), "precautions.amyloidosis") is expected


def test_precautions_amyloidosis_only_nomid():
    assert outcome(case(), "precautions.amyloidosis") is NA


def test_precautions_hypersensitivity_lists_prior_severe_reactions():
    a = allergy("etanercept", classes=("tnf", "biologic"), reactions=("Angioedema",), preferred="enbrel")
    n = node(decide(case(allergies=(a,))), "precautions.hypersensitivity")
    assert n.outcome is M and n.evidence and "anaphylaxis" in n.note
    assert not node(decide(case()), "precautions.hypersensitivity").evidence


def test_precautions_tnf_unknown_when_medications_unreadable():
    c = case(medications=(), unavailable=("medicationRequests",))
    tnf = node(decide(c), "precautions.tnf")
    assert tnf.outcome is U
    assert any("medication list" in m.text for m in tnf.missing)


def test_absence_findings_say_what_was_read():
    d = decide(case())
    for cid in (
        "precautions.tnf",
        "initiation.4",
        "precautions.contraindication",
        "precautions.serious-infections",
        "precautions.live-vaccines",
    ):
        n = node(d, cid)
        assert n.outcome is M, cid
        assert n.evidence and "record(s) read" in n.evidence[-1].description, cid
    assert node(d, "precautions.tnf").evidence[-1].value == "4 record(s)"  # the builder's four therapy spans


def test_live_vaccines_unknown_when_immunizations_unreadable_and_still_a_reminder():
    unread = case(unavailable=("immunizations",))
    assert outcome(unread, "precautions.live-vaccines") is U
    assert decide(unread).determination is decide(case()).determination
    ordered = ImmunizationFact("MedicationRequest/varicella", "Varivax", True, None, "ordered")
    assert outcome(case(immunizations=(ordered,), unavailable=("immunizations",)), "precautions.live-vaccines") is NM
