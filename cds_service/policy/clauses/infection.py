"""precautions.serious-infections: do not initiate with an active infection; in RA, stop for a serious infection.

How an active infection is detected (facts layer, terminology `condition_kinds.infection`): an active,
non-refuted Condition (or the order's reason) coded in ICD-10-CM chapter 1 (A00-B99, without sequelae and
agent-only codes), COVID-19 (U07.1), pneumonia (J12-J18), cellulitis/abscess, severe sepsis, or named
sepsis / bacteremia / pneumonia / cellulitis / abscess / tuberculosis / endocarditis / pyelonephritis.
The indication itself is excluded (policy data `serious_infection.exclude_kinds_for_indication`): COVID-19
and its pneumonia for the COVID-19 EUA, SARS-CoV-2 for MIS-C.
"""

from __future__ import annotations

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import diagnosis_evidence, records_read

CLAUSE = "precautions.serious-infections"


def active_infections(case: CaseFacts, policy: Policy, indication: str | None) -> list[Diagnosis]:
    cfg = policy.section("serious_infection")
    kinds = set(cfg["kinds"])
    excluded = set(cfg["exclude_kinds_for_indication"].get(indication or "", []))
    seen: set[str] = set()
    out: list[Diagnosis] = []
    for d in (*case.order.reasons, *case.patient.diagnoses):
        if not d.active or not (d.kinds & kinds) or d.kinds & excluded:
            continue
        if indication and indication in d.indications:
            continue
        if d.source not in seen:
            seen.add(d.source)
            out.append(d)
    return out


def possible_infections(case: CaseFacts, policy: Policy, indication: str | None) -> list[Diagnosis]:
    """Active records whose text names an infection only as a possibility ("r/o sepsis", "possible cellulitis",
    "? pneumonia"): not an infection found, and not its absence either."""
    cfg = policy.section("serious_infection")
    kinds = set(cfg["kinds"])
    excluded = set(cfg["exclude_kinds_for_indication"].get(indication or "", []))
    seen: set[str] = set()
    out: list[Diagnosis] = []
    for d in (*case.order.reasons, *case.patient.diagnoses):
        if not d.active or d.kinds & kinds or d.kinds & excluded:
            continue
        if indication and indication in d.indications:
            continue
        uncertain = any(d.hedged(k) == "uncertain" for k in kinds) and not any(d.hedged(k) for k in excluded)
        if uncertain and d.source not in seen:
            seen.add(d.source)
            out.append(d)
    return out


def evaluate(case: CaseFacts, policy: Policy, indication: str | None, pathway: str) -> ClauseResult:
    """ "Do not initiate therapy in persons with active infections"; "discontinue in RA patients if serious
    infection develops" (Warnings/Precautions). Text is read with negation and qualification: "no active
    infection" and "history of pneumonia, resolved" name no active infection; "r/o sepsis" names a possible one,
    which leaves the clause unknown (the absence of an infection cannot be read from it)."""
    found = active_infections(case, policy, indication)
    ev = [diagnosis_evidence(d) for d in found]
    if found:
        if (
            pathway == "continuation"
            and indication in policy.section("serious_infection")["continuation_weigh_indications"]
        ):
            return leaf(
                CLAUSE,
                Outcome.NOT_APPLICABLE,
                "Active infection recorded. In NOMID and DIRA the risk of a disease flare when stopping is "
                "weighed against the risk of continued treatment (prescriber's judgement).",
                ev,
            )
        if pathway == "continuation":
            return leaf(
                CLAUSE,
                Outcome.NOT_MET,
                "Active infection recorded: the label says to discontinue anakinra in RA "
                "if a serious infection develops.",
                ev,
            )
        return leaf(
            CLAUSE,
            Outcome.NOT_MET,
            "Active infection recorded: do not initiate anakinra in a person with an active infection.",
            ev,
        )
    possible = possible_infections(case, policy, indication)
    if possible:
        pev = [diagnosis_evidence(d) for d in possible]
        pev = [
            Evidence(e.description + ": recorded as a possible infection", e.reference, e.value, e.date) for e in pev
        ]
        if (
            pathway == "continuation"
            and indication in policy.section("serious_infection")["continuation_weigh_indications"]
        ):
            return leaf(
                CLAUSE,
                Outcome.NOT_APPLICABLE,
                "A possible infection is recorded. In NOMID and DIRA the risk of a disease flare when stopping "
                "is weighed against the risk of continued treatment (prescriber's judgement).",
                pev,
            )
        return leaf(
            CLAUSE,
            Outcome.UNKNOWN,
            "A possible infection is recorded (not confirmed, not ruled out): "
            "whether the member has an active infection is not documented.",
            pev,
            [
                Missing(
                    "Documentation of whether the possible infection on the problem list is active (anakinra "
                    "is not initiated in a person with an active infection)",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    if "conditions" in case.patient.unavailable:
        return leaf(
            CLAUSE,
            Outcome.UNKNOWN,
            "The problem list could not be read.",
            (),
            [Missing("The member's active problems (to rule out an active infection)", Need.CLINICAL_DOC)],
        )
    return leaf(
        CLAUSE,
        Outcome.MET,
        "No active infection on the problem list or the order.",
        [
            records_read(
                "problem list and the order's reasons",
                len(case.patient.diagnoses) + len(case.order.reasons),
                "no active infection",
            )
        ],
    )
