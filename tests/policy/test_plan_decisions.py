"""continuation.1 reads the plan's decisions right (issue 17, class 1): only a positive approval counts,
and an approval that was (or may have been) for COVID-19 or MIS-C does not open continuation.

Guideline, continuation 1: "An authorization or reauthorization for anakinra has been previously approved
by Florida Blue (except COVID-19 treatment and MIS-C Associated with SARS - see initiation criteria) [Note:
members not previously approved for the requested agent will require initial evaluation review]"."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.policy.builders import NA, M, anakinra_dispense, case, decide, node, prior_auth


def cont_case(*pas):
    return case(prior_authorizations=pas, medications=(anakinra_dispense(20, response="benefit"),))


@pytest.mark.parametrize(
    "pa, why",
    [
        (replace(prior_auth(), status="denied", basis="disposition says 'not certified'"), "not certified"),
        (replace(prior_auth(), status="unknown", basis="outcome complete: no review decision"), "status unknown"),
        (replace(prior_auth(), status="pended"), "status pended"),
        (replace(prior_auth(indication=None), indications=frozenset({"ra", "covid-19"})), "COVID-19"),
        (replace(prior_auth(indication="mis-c"), indications=frozenset({"mis-c"})), "MIS-C"),
        (prior_auth(indication=None), "does not say what indication"),
    ],
)
def test_what_does_not_open_continuation(pa, why):
    d = decide(cont_case(pa))
    assert d.pathway == "initiation"
    c1 = node(d, "continuation.1")
    assert c1.outcome is NA
    assert any(why in e.description and e.reference == pa.source for e in c1.evidence), [
        e.description for e in c1.evidence
    ]


def test_a_positive_ra_approval_opens_continuation_and_says_what_it_rests_on():
    pa = replace(prior_auth(), indications=frozenset({"ra"}), basis="X12 review action A1 (Certified in total)")
    d = decide(cont_case(pa))
    assert d.pathway == "continuation" and node(d, "continuation.1").outcome is M
    assert "A1" in node(d, "continuation.1").evidence[0].description


def test_a_denial_beside_an_approval_is_shown_but_the_approval_counts():
    denied = replace(prior_auth(pa_id="PA-0", start_days_ago=700), status="denied", basis="X12 review action A3")
    d = decide(cont_case(denied, prior_auth()))
    c1 = node(d, "continuation.1")
    assert c1.outcome is M
    assert any("PA-0: does not count" in e.description for e in c1.evidence)


# -- program exceptions (issue 17, class 9) ---------------------------------------------------------------

from cds_service.facts.model import CoverageFacts  # noqa: E402
from tests.policy.builders import U, covid_case  # noqa: E402

MAPD = CoverageFacts(
    present=True,
    program="medicare-part-d",
    source="Coverage/mapd",
    payor="Florida Blue",
    evidence=("program medicare-part-d: Coverage.class plan name 'BlueMedicare HMO with Part D'",),
    count=1,
    programs=("medicare-part-d", "medicare-advantage"),
)


def with_coverage(c, cov):
    return replace(c, patient=replace(c.patient, coverage=cov))


def test_medicare_advantage_with_part_d_self_administered_is_a_part_d_determination():
    """MAPD, self-administered order: Prime Therapeutics decides, never `covered` here; the card says so."""
    d = decide(with_coverage(case(), MAPD))
    assert d.determination.value == "conditional" and d.program == "medicare-part-d"
    assert node(d, "program.medicare-part-d").outcome is U
    assert node(d, "program.medicare-advantage").outcome is NA
    assert "medicare_advantage_part_d" in d.readings
    card = next(f for f in d.findings if f.kind == "program")
    assert "Prime Therapeutics" in card.detail and "MAPD" in card.detail


def test_medicare_advantage_with_part_d_provider_administered_is_the_medical_benefit():
    d = decide(with_coverage(covid_case(), MAPD))
    assert d.program == "medicare-advantage"
    assert node(d, "program.medicare-advantage").outcome is M
    assert node(d, "program.medicare-part-d").outcome is NA


def test_medicare_advantage_alone_is_decided_by_this_guideline():
    cov = replace(MAPD, program="medicare-advantage", programs=("medicare-advantage",))
    d = decide(with_coverage(case(), cov))
    assert d.determination.value == "covered" and "medicare_advantage_part_d" not in d.readings
