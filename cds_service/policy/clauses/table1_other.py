"""table1.other: another FDA-labeled indication, or one supported by DrugDex 1/2a, AHFS or NCCN 1/2a.

Table 1, Other indications: "The member has another FDA labeled indication or an indication supported in DrugDex
with 1 or 2a level of evidence, AHFS, or NCCN compendium recommended use 1 or 2a". The service holds no compendium,
so it recognises an other indication only where the guideline's own text names its support (policy data
`indications.*.guideline_support`, reading `other_indications_named_by_guideline`); everything else is unknown and
the compendia support is asked for: conditional, never covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import diagnosis_evidence

CLAUSE = "table1.other"
_COMPENDIA = "DrugDex (level of evidence 1 or 2a), AHFS, or NCCN (recommended use 1 or 2a)"


def compendia_missing(what: str) -> Missing:
    return Missing(
        f"Documentation that anakinra for {what} is FDA-labeled or supported in {_COMPENDIA} "
        "(Table 1, Other indications)",
        Need.CLINICAL_DOC,
    )


def evaluate(case: CaseFacts, policy: Policy, indication: str, ev: list[Evidence]) -> ClauseResult:
    """An indication of the policy data's table that is not a Table 1 row of its own (`criteria: compendia`).

    - No `guideline_support` (CAPS other than NOMID): unknown, the compendia support is asked for.
    - `named_use` (CAR T-cell-related toxicities): met when the chart shows the use the guideline names (its listed
      code and a named toxicity), otherwise unknown with the use asked for.
    - `compendia_use` (a line of therapy or a refractory setting that NCCN names): the diagnosis alone does not
      show it: unknown, the use is asked for.
    - Otherwise (Still's disease, Schnitzler syndrome: their codes are listed as supporting medical necessity):
      met on the diagnosis.
    """
    spec = policy.indication(indication)
    cid = spec["clause"]
    label = spec["label"]
    if not (spec.get("compendia") or spec.get("fda_labeled")):
        return leaf(cid, Outcome.NOT_MET, f"{label} is neither FDA-labeled nor compendia-supported.", ev)
    support = spec.get("guideline_support")
    if not support:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"{label}: the guideline does not name compendia support for it, and this service holds no "
            f"compendium. " + policy.reading("other_indications_named_by_guideline"),
            ev,
            [compendia_missing(label)],
        )
    named = spec.get("named_use")
    use = spec.get("compendia_use")
    if named:
        shown = named_use_evidence(case, named)
        if shown is not None:
            return leaf(
                cid,
                Outcome.MET,
                f"{label}: the chart shows {named['label']}, a use the guideline names ({support}). "
                + policy.reading("car_t_toxicity_named_use"),
                _merge(ev, shown),
            )
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"{label}: the chart does not show {named['label']} (the use the guideline names: {support}).",
            ev,
            [
                Missing(
                    f"Chart notes showing the compendia-supported use for {label}: {use or named['label']}",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    if use:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"{label} is compendia-supported for a particular use only: {use}.",
            ev,
            [Missing(f"Chart notes showing the compendia-supported use for {label}: {use}", Need.CLINICAL_DOC)],
        )
    return leaf(cid, Outcome.MET, f"{label}: an other indication the guideline names ({support}).", ev)


def not_named(policy: Policy, candidates: tuple[Diagnosis, ...], from_order: bool) -> ClauseResult:
    """table1.other for a diagnosis that is no indication of the policy data (gout, pericarditis, osteoarthritis):
    whether an allowed compendium supports it is not something the chart or the guideline shows, so it is unknown
    (reading other_indications_named_by_guideline), and what would decide it is asked for."""
    names = "; ".join(dict.fromkeys(_name(d) for d in candidates))
    where = "the order's reason" if from_order else "the active problem list"
    return leaf(
        CLAUSE,
        Outcome.UNKNOWN,
        f"{where[0].upper()}{where[1:]} names {names}: not a Table 1 indication (RA, DIRA, NOMID, MIS-C, "
        f"COVID-19), and the guideline does not name it among the other indications it supports. "
        + policy.reading("other_indications_named_by_guideline"),
        [diagnosis_evidence(d) for d in candidates],
        [compendia_missing(names if from_order else f"the diagnosis it is prescribed for ({names})")],
    )


def named_use_evidence(case: CaseFacts, named: Mapping[str, Any]) -> list[Evidence] | None:
    """Evidence that the chart shows a named use: a diagnosis coded with one of `icd10_prefixes` and one (the same or
    another) affirming one of `kinds`, among the order's reasons and the active, confirmed problem list. None when
    either is missing."""
    diags = [d for d in (*case.order.reasons, *case.patient.diagnoses) if d.active and d.confirmed]
    prefixes = tuple(p.upper().replace(".", "") for p in named.get("icd10_prefixes", ()))
    coded = (
        [d for d in diags if any((c.code or "").upper().replace(".", "").startswith(prefixes) for c in d.codes)]
        if prefixes
        else diags
    )
    kinds = set(named.get("kinds", ()))
    affirmed = [d for d in diags if kinds & d.kinds] if kinds else diags
    if not coded or not affirmed:
        return None
    return [diagnosis_evidence(d) for d in dict.fromkeys(coded + affirmed)]


def _merge(ev: list[Evidence], more: list[Evidence]) -> list[Evidence]:
    out = list(ev)
    for e in more:
        if e not in out:
            out.append(e)
    return out


def _name(d: Diagnosis) -> str:
    text = d.text.split(" | ")[0] if d.text else d.code.label()
    return f"{text} ({d.code.code})" if d.code.code and d.code.code not in text else text
