"""table1.ra: every sub-clause of both steps, and the preferred list (each product counted once)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.policy.builders import (
    NA,
    NM,
    M,
    U,
    ago,
    allergy,
    case,
    decide,
    failed,
    mtx_failed,
    node,
    order,
    outcome,
    preferred_failed,
    span,
    statement,
)

THREE = (
    preferred_failed("humira", ended_months_ago=14),
    preferred_failed("enbrel", ended_months_ago=8),
    preferred_failed("xeljanz", ended_months_ago=1),
)


def ra(meds, allergies=()):
    return decide(case(medications=meds, allergies=allergies))


@pytest.mark.parametrize(
    "meds, expected",
    [
        ((mtx_failed(),), M),
        ((failed("methotrexate", ("csdmard",), months=2),), NM),  # under 3 months
        ((span("methotrexate", classes=("csdmard",), start=ago(months=8), end=ago(months=1)),), U),  # no response noted
        ((span("methotrexate", classes=("csdmard",)),), U),  # dates unknown
        ((mtx_failed(sample=True),), NM),  # samples are not a trial
        ((), NM),
    ],
)
def test_ra_1a_methotrexate(meds, expected):
    assert node(ra(meds + THREE), "table1.ra.1.a").outcome is expected


def _mtx(mg: float, dose_limit: str = ""):
    return replace(mtx_failed(), mg_per_week=mg, dose_limit=dose_limit)


@pytest.mark.parametrize(
    "meds, allergies, expected",
    [
        ((_mtx(25),), (), M),  # the guideline's example dose
        ((_mtx(10),), (), U),  # held at 10 mg, no reason
        ((_mtx(10, "10 mg weekly is her maximum tolerated dose (nausea at 15 mg)."),), (), M),
        ((_mtx(15, "Dose limited by CKD 3b."),), (), M),  # a renal limit
        ((_mtx(10),), (allergy("methotrexate", kind="intolerance", reactions=("Nausea",)),), M),
        ((_mtx(10),), (allergy("methotrexate", kind="intolerance", unconfirmed=True),), U),  # unconfirmed: no
        ((replace(mtx_failed(), mg_per_week=None),), (), M),  # no dose stated: the trial decides
    ],
)
def test_ra_1a_maximally_tolerated_methotrexate(meds, allergies, expected):
    """ "inadequate response to maximally tolerated methotrexate (e.g., titrated to 25 mg weekly)": below the target
    the chart must say why the dose was the highest tolerable one; otherwise the clause asks for it (never met)."""
    d = ra(meds + THREE, allergies)
    n = node(d, "table1.ra.1.a")
    assert n.outcome is expected
    if expected is U:
        assert any("maximally tolerated" in m.text for m in n.missing)


@pytest.mark.parametrize(
    "drug, expected", [("hydroxychloroquine", M), ("leflunomide", M), ("sulfasalazine", M), ("azathioprine", NM)]
)
def test_ra_1b_other_conventional(drug, expected):
    assert node(ra((failed(drug, ("csdmard",), months=4), *THREE)), "table1.ra.1.b").outcome is expected


@pytest.mark.parametrize(
    "meds, allergies, expected",
    [
        ((), (allergy("methotrexate", kind="intolerance"),), M),
        ((span("sulfasalazine", classes=("csdmard",), start=ago(200), end=ago(180), stopped="adverse"),), (), M),
        ((span("sulfasalazine", classes=("csdmard",), start=ago(200), end=ago(180), stopped="route"),), (), NM),
        ((), (allergy("methotrexate", refuted=True),), NM),
        ((), (), NM),
    ],
)
def test_ra_1c_intolerance(meds, allergies, expected):
    assert node(ra(meds + THREE, allergies), "table1.ra.1.c").outcome is expected


def test_ra_1d_contraindication_is_asked_only_when_nothing_else_met():
    assert node(ra((mtx_failed(), *THREE)), "table1.ra.1.d").outcome is NA
    d = ra(THREE[:0])
    n = node(d, "table1.ra.1.d")
    assert n.outcome is U and n.missing


@pytest.mark.parametrize(
    "meds, expected",
    [
        ((failed("abatacept", ("biologic", "ra-biologic")),), M),
        ((failed("baricitinib", ("jak",)),), M),
        ((failed("secukinumab", ("biologic",)),), NM),  # a biologic, but not labeled for RA
        ((), NM),
    ],
)
def test_ra_1e_prior_ra_biologic(meds, expected):
    assert node(ra(meds), "table1.ra.1.e").outcome is expected


def test_ra_1e_counts_a_prior_preferred_tnf():
    assert node(ra(THREE), "table1.ra.1.e").outcome is M


@pytest.mark.parametrize(
    "meds, allergies, a, b, c, d",
    [
        (THREE, (), M, NM, NM, NM),
        (THREE[:2], (allergy("tofacitinib", preferred="xeljanz"),), NM, M, NM, NM),
        (
            THREE[:1],
            (allergy("etanercept", preferred="enbrel"), allergy("tofacitinib", preferred="xeljanz")),
            NM,
            NM,
            M,
            NM,
        ),
        (
            (),
            (
                allergy("adalimumab", preferred="humira"),
                allergy("etanercept", preferred="enbrel"),
                allergy("tofacitinib", preferred="xeljanz"),
            ),
            NM,
            NM,
            NM,
            M,
        ),
        # an intolerance of needles is not an intolerance of the drug
        (
            (),
            (
                allergy("adalimumab", preferred="humira", route_only=True),
                allergy("etanercept", preferred="enbrel"),
                allergy("tofacitinib", preferred="xeljanz"),
            ),
            NM,
            NM,
            NM,
            NM,
        ),
    ],
)
def test_ra_2_a_to_d(meds, allergies, a, b, c, d):
    dec = ra((mtx_failed(), *meds), allergies)
    got = [node(dec, f"table1.ra.2.{x}").outcome for x in "abcd"]
    assert got == [a, b, c, d]


def test_ra_2_each_preferred_product_counted_once():
    # Humira recorded four times (statement, request, two dispenses) is still one product
    humira = [preferred_failed("humira", ended_months_ago=m) for m in (14, 13, 12, 11)]
    dec = ra((mtx_failed(), *humira, preferred_failed("enbrel")))
    assert node(dec, "table1.ra.2.a").outcome is NM
    assert "2 with inadequate response (3 needed)" in node(dec, "table1.ra.2.a").note


def test_ra_2_e_f_documentation_when_not_enough_products():
    dec = ra((mtx_failed(), preferred_failed("humira")))
    assert node(dec, "table1.ra.2.e").outcome is U
    f = node(dec, "table1.ra.2.f")
    assert f.outcome is U and any(m.need.value == "admin" for m in f.missing)
    assert node(dec, "table1.ra.2").outcome is U
    assert dec.determination.value == "conditional"
    card = next(x for x in dec.findings if x.kind == "step-therapy")
    assert "program.step-therapy-exemption" in card.clause_ids
    assert "627.42393" in card.detail


def _listed(*products):
    from dataclasses import replace

    return replace(
        statement("preferred_tried_list", "Complete list of preferred products tried: ..."), items=frozenset(products)
    )


@pytest.mark.parametrize(
    "meds, statements, expected",
    [
        ((mtx_failed(),), (statement("preferred_inappropriate"), _listed()), M),  # none tried, none on file
        ((mtx_failed(), preferred_failed("humira")), (statement("preferred_inappropriate"), _listed("humira")), M),
        # the list leaves out a product the chart shows tried: not a complete list
        ((mtx_failed(), preferred_failed("humira")), (statement("preferred_inappropriate"), _listed()), U),
        ((mtx_failed(),), (statement("preferred_inappropriate"),), U),  # no list
        ((mtx_failed(),), (_listed(),), U),  # not said all inappropriate
        ((mtx_failed(),), (), U),
    ],
)
def test_ra_2_f_all_preferred_inappropriate_with_a_complete_list(meds, statements, expected):
    """RA 2.f: "ALL preferred products are not clinically appropriate for the member, AND the prescriber has provided
    a complete list of previously tried preferred products for the requested indication"."""
    d = decide(case(medications=meds, order_facts=order(statements=statements)))
    assert node(d, "table1.ra.2.f").outcome is expected
    assert d.determination.value == ("covered" if expected is M else "conditional")


def test_ra_2_e_f_not_applicable_once_met():
    dec = ra((mtx_failed(), *THREE))
    assert node(dec, "table1.ra.2.e").outcome is NA and node(dec, "table1.ra.2.f").outcome is NA


def test_ra_preferred_lists_every_product_with_its_status():
    n = node(ra((mtx_failed(), preferred_failed("humira"))), "table1.ra.preferred")
    assert n.outcome is M
    statuses = {e.description.split(":")[0]: e.value for e in n.evidence}
    assert statuses["Humira (adalimumab)"] == "inadequate response"
    assert statuses["Rinvoq (upadacitinib)"] == "not tried"
    assert len(n.evidence) == 8


def test_ra_both_steps():
    assert outcome(case(), "table1.ra") is M
    assert outcome(case(medications=THREE), "table1.ra") is M  # ra.1 via prior RA biologic (1.e)
    assert outcome(case(medications=(mtx_failed(),)), "table1.ra") is U


@pytest.mark.parametrize(
    "statements, expected",
    [
        (
            (
                statement(
                    "conventional_all_contraindicated",
                    "Methotrexate, hydroxychloroquine, leflunomide and sulfasalazine are all contraindicated "
                    "per labeling.",
                ),
            ),
            M,
        ),
        ((), U),  # nothing stated: the documentation is asked for
    ],
)
def test_ra_1_d_a_stated_contraindication_to_all_four_conventional_agents(statements, expected):
    """RA 1.d: "The member has an FDA labeled contraindication to ALL conventional agents (i.e., methotrexate,
    hydroxychloroquine, leflunomide, sulfasalazine)": met on the prescriber's explicit statement."""
    d = decide(case(medications=(), order_facts=order(statements=statements)))  # nothing tried: 1.d decides ra.1
    assert node(d, "table1.ra.1.d").outcome is expected
    assert node(d, "table1.ra.1").outcome is expected


@pytest.mark.parametrize(
    "note, stated",
    [
        (
            "Conventional DMARDs: all four contraindicated per labeling - methotrexate and leflunomide (pregnancy), "
            "sulfasalazine (sulfonamide anaphylaxis), hydroxychloroquine (4-aminoquinoline hypersensitivity).",
            True,
        ),
        ("Methotrexate, hydroxychloroquine, leflunomide and sulfasalazine are contraindicated.", True),
        # near misses: three of the four, negated, or tried without a contraindication
        ("Methotrexate, leflunomide and sulfasalazine are contraindicated.", False),
        ("Not all four conventional agents are contraindicated.", False),
        ("All four conventional agents were tried without a contraindication.", False),
    ],
)
def test_the_statement_of_a_contraindication_to_all_four_is_read_by_meaning(note, stated):
    from cds_service.facts.text_statements import prescriber_statements

    assert ("conventional_all_contraindicated" in dict(prescriber_statements(note))) is stated
