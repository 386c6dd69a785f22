"""Which Table 1 indication the order is for, and the indication-specific criteria (initiation.1.c.i, table1.*)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import any_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from . import covid, mis_c, step_therapy, table1_other
from .common import diagnosis_evidence


@dataclass(frozen=True)
class IndicationChoice:
    key: str | None
    diagnoses: tuple[Diagnosis, ...] = ()
    qualified_only: bool = False  # only a qualified code (G03.1, L50.8, Q87.89, D47.2, M04.8) points to it
    candidates: tuple[Diagnosis, ...] = field(default=())  # what was looked at when nothing was found
    general: str | None = None  # the general indication the chart also supports (CAPS under NOMID)


def _most_specific(key: str, chart: list[Diagnosis], policy: Policy) -> str | None:
    """The most specific form of `key` (policy data `indication_specific_forms`) that the chart supports."""
    keys = {k for d in chart for k in d.indications}
    forms: list[str] = policy.data.get("indication_specific_forms", {}).get(key, [])
    for form in forms:
        if form in keys:
            return form
    return None


def choose_indication(case: CaseFacts, policy: Policy) -> IndicationChoice:
    """The order's stated reason wins; otherwise the active, confirmed problem list. Ties: policy priority.

    The most specific indication the chart supports wins (reading `most_specific_indication`): an order whose
    reason is CAPS (M04.2 "Cryopyrin-associated periodic syndromes") for a member whose problem list says
    NOMID is evaluated as NOMID, "the severe phenotype" of CAPS and the FDA-labeled indication, so its
    weight-based maximum applies.

    A qualified code alone (billing.icd10 "for NOMID only" ...) never establishes the indication: it is
    returned with `qualified_only`, and initiation.1.c.i asks for the diagnosis to be documented.
    """
    priority = policy.data["indication_priority"]
    active = [d for d in case.patient.diagnoses if d.active and d.confirmed]
    reasons = [d for d in case.order.reasons if d.indications]
    problems = [d for d in active if d.indications]
    for pool in (reasons, problems):
        if pool:
            keys = {k for d in pool for k in d.indications}
            for key in priority:
                if key in keys:
                    specific = _most_specific(key, reasons + problems, policy)
                    if specific is not None:
                        chosen = tuple(d for d in reasons + problems if specific in d.indications)
                        rest = tuple(d for d in pool if key in d.indications and d not in chosen)
                        return IndicationChoice(specific, chosen + rest, general=key)
                    return IndicationChoice(key, tuple(d for d in pool if key in d.indications))
    for pool in ([d for d in case.order.reasons if d.qualified], [d for d in active if d.qualified]):
        if pool:
            keys = {k for d in pool for k in d.qualified}
            for key in priority:
                if key in keys:
                    return IndicationChoice(key, tuple(d for d in pool if key in d.qualified), qualified_only=True)
    listed = tuple(case.order.reasons) or tuple(d for d in active)
    return IndicationChoice(None, candidates=listed[:5])


def _criteria(case: CaseFacts, policy: Policy, key: str, ev: list[Evidence]) -> ClauseResult:
    spec = policy.indication(key)
    kind = spec["criteria"]
    if kind == "ra-step-therapy":
        return step_therapy.ra(case, policy)
    if kind == "diagnosis-only":
        return leaf(spec["clause"], Outcome.MET, f"Diagnosis of {spec['label']} (diagnosis only).", ev)
    if kind == "mis-c":
        return mis_c.evaluate(case, policy, key)
    if kind == "covid-19":
        return covid.evaluate(case, policy, key)
    if kind == "compendia":
        return table1_other.evaluate(case, policy, key, ev)
    raise ValueError(f"indication '{key}' has unknown criteria '{kind}' in policy {policy.id}@{policy.revision}")


def _specific_forms(case: CaseFacts, policy: Policy, choice: IndicationChoice) -> list[ClauseResult]:
    """The Table 1 rows of the specific forms of a general indication the chart does not name (CAPS: NOMID).

    Description: "the FDA expanded the approval of anakinra to include treatment of cryopyrin-associated periodic
    syndromes (CAPS), specifically neonatal-onset multisystem inflammatory disease (NOMID)". A CAPS diagnosis is
    NOMID's Table 1 row only when NOMID is named; while the code may still be NOMID (M04.2, whose inclusion terms
    also name FCAS and Muckle-Wells, with no other phenotype named) the row is unknown and the phenotype is asked
    for; when the chart names another phenotype ("Muckle-Wells syndrome") it is not met."""
    out = []
    ev = tuple(diagnosis_evidence(d) for d in choice.diagnoses)
    for form in policy.data.get("indication_specific_forms", {}).get(choice.key or "", []):
        spec = policy.indication(form)
        if spec.get("criteria") != "diagnosis-only":
            continue
        if any(form in d.possible for d in choice.diagnoses):
            out.append(
                leaf(
                    spec["clause"],
                    Outcome.UNKNOWN,
                    f"The diagnosis may be {spec['label']} but does not name it (the code also covers other "
                    f"syndromes).",
                    ev,
                    [
                        Missing(
                            f"Documentation of the diagnosis of {spec['label']} (the phenotype: the code "
                            "alone does not establish it)",
                            Need.CLINICAL_DOC,
                        )
                    ],
                )
            )
        else:
            named = "; ".join(dict.fromkeys(e.description for e in ev)) or "another syndrome"
            out.append(
                leaf(
                    spec["clause"],
                    Outcome.NOT_MET,
                    f"The chart names {named}: a syndrome other than {spec['label']}.",
                    ev,
                )
            )
    return out


def table1(case: CaseFacts, policy: Policy, choice: IndicationChoice) -> ClauseResult:
    """initiation.1.c.i: the indication is in Table 1 and ALL its criteria are met."""
    cid = "initiation.1.c.i"
    if choice.key is None:
        if not choice.candidates:
            return leaf(
                cid,
                Outcome.UNKNOWN,
                "No Table 1 indication is stated on the order or found among active, confirmed conditions.",
                (),
                [Missing("The diagnosis (ICD-10-CM) for which anakinra is prescribed", Need.CLINICAL_DOC)],
            )
        # A diagnosis outside Table 1 (gout, pericarditis): Table 1 "Other indications" decides, and says what
        # would decide it.
        from_order = any(d.from_order for d in choice.candidates)
        other = table1_other.not_named(policy, choice.candidates, from_order)
        return ClauseResult(
            cid,
            other.outcome,
            other.evidence,
            (),
            "No Table 1 indication is stated on the order or found among active, confirmed "
            "conditions: Other indications applies.",
            "ALL",
            (other,),
        )
    spec = policy.indication(choice.key)
    ev = tuple(diagnosis_evidence(d) for d in choice.diagnoses)
    forms = [] if choice.qualified_only else _specific_forms(case, policy, choice)
    if forms:
        inner = _criteria(case, policy, choice.key, list(ev))
        labels = " or ".join(
            policy.indication(f)["label"] for f in policy.data["indication_specific_forms"][choice.key]
        )
        return any_of(
            cid,
            (*forms, inner),
            f"Indication: {spec['label']}. Table 1 names it through {labels} (FDA-labeled); any other form "
            f"is an Other indication: EITHER applies.",
            ev,
        )
    if choice.qualified_only:
        codes = ", ".join(sorted({d.code.code or "?" for d in choice.diagnoses}))
        inner = leaf(
            spec["clause"],
            Outcome.UNKNOWN,
            f"{codes} supports {spec['label']} only when that diagnosis is documented; the chart does not "
            f"name it. " + policy.reading("qualified_icd10_codes"),
            ev,
            [
                Missing(
                    f"Documentation of the diagnosis of {spec['label']} (the code {codes} alone does not establish it)",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    else:
        inner = _criteria(case, policy, choice.key, list(ev))
    note = f"Indication: {spec['label']}."
    if choice.general is not None:
        general = policy.indication(choice.general)["label"]
        note = (
            f"Indication: {spec['label']}, the most specific indication the chart supports (also recorded: "
            f"{general}). " + policy.reading("most_specific_indication")
        )
    return ClauseResult(cid, inner.outcome, ev, (), note, "ALL", (inner,))
