"""Continuation criteria 1 and 2 (3 to 6 reuse the initiation evaluators with the continuation ids)."""

from __future__ import annotations

from collections.abc import Sequence

from ...facts.model import CaseFacts, PriorAuthorization
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import answered, span_evidence, statement_evidence


def why_not_counted(pa: PriorAuthorization, case: CaseFacts, policy: Policy) -> str | None:
    """None when `pa` is a previous plan approval for continuation.1, else why it is not.

    Continuation 1: "An authorization or reauthorization for anakinra has been previously approved by
    Florida Blue (except COVID-19 treatment and MIS-C Associated with SARS - see initiation criteria)
    [Note: members not previously approved for the requested agent will require initial evaluation
    review]". So: approved (a positive decision, not a denial, pend or unknown outcome: see
    facts.extra_history), for anakinra, before the order date, and for an indication the approval names
    that is neither COVID-19 nor MIS-C. An approval that names COVID-19 or MIS-C at all is left out even
    if it names another indication too, and one that names no indication is left out (readings
    `approval_indication`): it could be a one-month COVID-19 or MIS-C course."""
    excluded = set(policy.section("pathways")["continuation_excluded_indications"])
    if pa.drug != "anakinra":
        return "not for anakinra"
    if pa.status != "approved":
        return f"not an approval (status {pa.status}" + (f": {pa.basis}" if pa.basis else "") + ")"
    if pa.start is not None and pa.start > case.patient.as_of:
        return "its period starts after the order date"
    named = set(pa.indications) or ({pa.indication} if pa.indication else set())
    if named & excluded:
        labels = ", ".join(policy.indication(k)["label"] for k in sorted(named & excluded))
        return f"the approval was for {labels}, which uses the initiation criteria"
    if not named:
        return "the approval does not say what indication it was for (it could be a COVID-19 or MIS-C course)"
    return None


def approvals(
    case: CaseFacts, policy: Policy, plan_authorizations: Sequence[PriorAuthorization] = ()
) -> list[PriorAuthorization]:
    """Approved anakinra authorizations from the chart (ClaimResponse) and the plan's own records that
    count for continuation.1 (`why_not_counted`)."""
    out: list[PriorAuthorization] = []
    seen: set[str] = set()
    for pa in (*case.patient.prior_authorizations, *plan_authorizations):
        if why_not_counted(pa, case, policy) is not None:
            continue
        key = pa.pa_id or pa.source
        if key not in seen:
            seen.add(key)
            out.append(pa)
    return out


def not_counted_evidence(
    case: CaseFacts, policy: Policy, plan_authorizations: Sequence[PriorAuthorization] = ()
) -> list[Evidence]:
    """The plan decisions on file that do not count as a previous approval, each with the reason."""
    out = []
    for pa in (*case.patient.prior_authorizations, *plan_authorizations):
        why = why_not_counted(pa, case, policy)
        if why is not None:
            out.append(
                Evidence(
                    f"{pa.pa_id or pa.source}: does not count as a previous approval: {why}",
                    pa.source,
                    pa.status,
                    pa.start.isoformat() if pa.start else None,
                )
            )
    return out


def _pa_evidence(pa: PriorAuthorization) -> Evidence:
    period = f"{pa.start.isoformat() if pa.start else '?'} to {pa.end.isoformat() if pa.end else '?'}"
    named = ", ".join(sorted(pa.indications)) or pa.indication or ""
    return Evidence(
        f"approved authorization {pa.pa_id or ''} for anakinra".replace("  ", " ")
        + (f" ({named})" if named else "")
        + (f" [{pa.basis}]" if pa.basis else ""),
        pa.source,
        period,
        pa.start.isoformat() if pa.start else None,
    )


def previous_approval(
    case: CaseFacts,
    policy: Policy,
    found: list[PriorAuthorization],
    plan_authorizations: Sequence[PriorAuthorization] = (),
) -> ClauseResult:
    cid = "continuation.1"
    others = not_counted_evidence(case, policy, plan_authorizations)
    if found:
        return leaf(
            cid,
            Outcome.MET,
            "The plan approved anakinra for this member before.",
            [_pa_evidence(p) for p in found] + others,
        )
    return leaf(
        cid, Outcome.NOT_MET, "No previous plan approval for anakinra: initial review (initiation) applies.", others
    )


@answered("clinical_benefit")
def clinical_benefit(case: CaseFacts, policy: Policy) -> ClauseResult:
    """continuation.2: "Member has had clinical benefit with anakinra therapy".

    MET on a statement of response on an anakinra record or the order. NOT_MET only when the chart itself
    says there was no benefit (the latest anakinra record states no benefit or was stopped as ineffective, and
    the order states no benefit either): a hard exclusion (policy data `hard_exclusions`, readings
    `continuation_no_benefit`), since a member the plan approved before is reviewed under continuation only
    ("members not previously approved for the requested agent will require initial evaluation review").
    Otherwise UNKNOWN, asking for the documentation."""
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
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "Clinical benefit with anakinra is not documented.",
        ev,
        [
            Missing(
                "Chart notes documenting clinical benefit with anakinra (e.g. disease activity before and after)",
                Need.CLINICAL_DOC,
            )
        ],
    )
