"""Continuation criteria 1 and 2 (3 to 6 reuse the initiation evaluators with the continuation ids)."""

from __future__ import annotations

from ...facts.model import CaseFacts, PriorAuthorization
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import span_evidence, statement_evidence


def approvals(case: CaseFacts, policy: Policy, plan_authorizations=()) -> list[PriorAuthorization]:
    """Approved anakinra authorizations from the chart (ClaimResponse) and the plan's own records, excluding
    COVID-19 and MIS-C approvals (those always use initiation) and approvals starting after the order date."""
    excluded = set(policy.section("pathways")["continuation_excluded_indications"])
    out, seen = [], set()
    for pa in (*case.patient.prior_authorizations, *plan_authorizations):
        if pa.drug != "anakinra" or pa.status != "approved" or pa.indication in excluded:
            continue
        if pa.start is not None and pa.start > case.patient.as_of:
            continue
        key = pa.pa_id or pa.source
        if key not in seen:
            seen.add(key)
            out.append(pa)
    return out


def _pa_evidence(pa: PriorAuthorization) -> Evidence:
    period = f"{pa.start.isoformat() if pa.start else '?'} to {pa.end.isoformat() if pa.end else '?'}"
    return Evidence(f"approved authorization {pa.pa_id or ''} for anakinra".replace("  ", " ")
                    + (f" ({pa.indication})" if pa.indication else ""), pa.source, period,
                    pa.start.isoformat() if pa.start else None)


def previous_approval(case: CaseFacts, policy: Policy, found: list[PriorAuthorization]) -> ClauseResult:
    cid = "continuation.1"
    if found:
        return leaf(cid, Outcome.MET, "The plan approved anakinra for this member before.", [_pa_evidence(p) for p in found])
    return leaf(cid, Outcome.NOT_MET, "No previous plan approval for anakinra: initial review (initiation) applies.")


def clinical_benefit(case: CaseFacts, policy: Policy) -> ClauseResult:
    """continuation.2: a statement of response on an anakinra record or the order; otherwise documentation."""
    cid = "continuation.2"
    spans = [s for s in case.patient.medications if s.drug == "anakinra" and not s.is_sample]
    benefit = [s for s in spans if s.response == "benefit"]
    no_benefit = [s for s in spans if s.response == "no-benefit" or s.stopped_reason == "ineffective"]
    stated = case.order.prescriber_statement.get("clinical_benefit")
    ev = [span_evidence(s) for s in benefit + no_benefit]
    if stated is not None:
        ev.append(statement_evidence(stated))
    if no_benefit and not stated:
        newest = max(no_benefit + benefit, key=lambda s: s.end or s.start or case.patient.as_of)
        if newest in no_benefit:
            return leaf(cid, Outcome.NOT_MET, "The latest anakinra record states no clinical benefit.", ev)
    if benefit or stated is not None:
        return leaf(cid, Outcome.MET, "Clinical benefit with anakinra is recorded.", ev)
    return leaf(cid, Outcome.UNKNOWN, "Clinical benefit with anakinra is not documented.", ev,
                [Missing("Chart notes documenting clinical benefit with anakinra (e.g. disease activity before and "
                         "after)", Need.CLINICAL_DOC)])
