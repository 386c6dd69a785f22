"""Which Table 1 indication the order is for, and the indication-specific criteria (table1.*)."""

from __future__ import annotations

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from . import step_therapy


def diagnosis_evidence(d: Diagnosis) -> Evidence:
    code = f"{d.code.system.rsplit('/', 1)[-1] if d.code.system else 'text'} {d.code.code or ''}".strip()
    return Evidence(f"{d.text or d.code.label()} ({code})" + (" stated as the order's reason" if d.from_order else ""),
                    d.source, d.code.code, d.onset.isoformat() if d.onset else None)


def choose_indication(case: CaseFacts, policy: Policy) -> tuple[str | None, list[Diagnosis]]:
    """The order's stated reason wins; otherwise the active, confirmed problem list. Ties: policy priority."""
    priority = policy.data["indication_priority"]
    stated = [d for d in case.order.reasons if d.indications]
    pool = stated or [d for d in case.patient.diagnoses if d.indications and d.active and d.confirmed]
    if not pool:
        return None, []
    keys = {k for d in pool for k in d.indications}
    for key in priority:
        if key in keys:
            return key, [d for d in pool if key in d.indications]
    return None, []


def table1(case: CaseFacts, policy: Policy, indication: str | None, diagnoses: list[Diagnosis]) -> ClauseResult:
    """initiation.1.c.i: the indication is in Table 1 and ALL its criteria are met."""
    cid = "initiation.1.c.i"
    if indication is None:
        listed = [d for d in case.order.reasons] or [d for d in case.patient.diagnoses if d.active]
        return leaf(cid, Outcome.UNKNOWN,
                    "No Table 1 indication is stated on the order or found among active, confirmed conditions.",
                    [diagnosis_evidence(d) for d in listed[:5]],
                    [Missing("The diagnosis (ICD-10-CM) for which anakinra is prescribed", Need.CLINICAL_DOC)])
    spec = policy.indication(indication)
    ev = [diagnosis_evidence(d) for d in diagnoses]
    from .table1_other import evaluate_indication  # the remaining indications (MIS-C, COVID-19, compendia)
    if indication == "ra":
        inner = step_therapy.ra(case, policy)
    elif indication in ("nomid", "dira"):
        inner = leaf(spec["clause"], Outcome.MET, f"Diagnosis of {spec['label']} (diagnosis only).", ev)
    else:
        inner = evaluate_indication(case, policy, indication, ev)
    return ClauseResult(cid, inner.outcome, tuple(ev), (), f"Indication: {spec['label']}.", "ALL", (inner,))
