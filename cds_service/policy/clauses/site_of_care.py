"""position.site-of-care: coverage in a provider-administered setting is not medically necessary."""

from __future__ import annotations

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome

CLAUSE = "position.site-of-care"


def inpatient_indication(policy: Policy, indication: str | None) -> bool:
    """COVID-19 and MIS-C require a hospitalised member (policy data `site_of_care.inpatient_indications`)."""
    return indication in policy.section("site_of_care")["inpatient_indications"]


def evaluate(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    setting = case.order.setting
    ev = tuple(Evidence(r, case.order.reference) for r in setting.reasons)
    if inpatient_indication(policy, indication):
        return leaf(CLAUSE, Outcome.NOT_APPLICABLE, policy.reading("site_of_care_vs_inpatient_indications"), ev)
    if setting.provider_administered:
        note = (
            "The order is for administration in a provider-administered setting; Kineret is FDA-approved "
            "for self-administration."
        )
        if setting.category in policy.section("site_of_care")["inpatient_order_categories"]:
            # "a provider-administered setting such as an outpatient hospital, ambulatory surgical suite, physician
            # office, or emergency facility": examples; an inpatient stay is one too (reading site_of_care_inpatient).
            note = (
                "The order is an inpatient order, administered by the hospital's staff: a provider-administered "
                "setting; Kineret is FDA-approved for self-administration. " + policy.reading("site_of_care_inpatient")
            )
        return leaf(CLAUSE, Outcome.NOT_MET, note, ev)
    if setting.provider_administered is None:
        # The order's text names provider administration only as a possibility ("may be given in clinic if
        # needed") and nothing coded decides: neither a denial nor a pass.
        return leaf(
            CLAUSE,
            Outcome.UNKNOWN,
            "The order's text names provider administration only as a "
            "possibility; where the drug will be administered is not stated.",
            ev,
            [
                Missing(
                    "Where anakinra will be administered (self-administration at home, or a provider-"
                    "administered setting)",
                    Need.INFO,
                    "OTH",
                )
            ],
        )
    return leaf(CLAUSE, Outcome.MET, "Self-administered (not a provider-administered setting).", ev)
