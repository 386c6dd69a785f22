"""Evaluate one anakinra order against the guideline: the clause tree, the determination, the findings.

The tree's top-level groups (policy data `groups`) are either *coverage* groups, which decide the
determination, or *information* groups (reminders, billing notes, the approval duration, the pathway not
applied), which never do:

- no active coverage -> not-covered (indeterminate when coverage could not be read);
- the member's program is decided elsewhere (FEP, SAO, Medicare Part D) -> conditional, never covered;
- a hard exclusion (policy data `hard_exclusions`: site of care, contraindication, prohibited combination)
  NOT_MET -> not-covered;
- a coverage group NOT_MET because of the prescriber's own "no" -> not-covered, that clause in the reasons: a
  NOT_MET leaf whose evidence is the prescriber's answer (a QuestionnaireResponse, `prescriber_denials`),
  reached from the group through NOT_MET nodes only (so it is part of why the group fails). The prescriber was
  asked and answered: this is no longer missing documentation. A "no" to one alternative of an ANY whose other
  alternative is still unknown leaves that ANY (and the group) unknown: conditional;
- every coverage group MET or NOT_APPLICABLE -> covered;
- otherwise conditional, with the UNKNOWN leaves' `missing` as documentation / information needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..facts.model import CaseFacts, PriorAuthorization
from .clauses import combination, continuation, dose, infection, initiation, programs, reminders, renal, site_of_care
from .clauses.common import is_denial_evidence
from .clauses.indication import IndicationChoice, choose_indication
from .data_loader import Policy, load_policy
from .findings import findings_for
from .logic import all_of, leaf
from .model import ClauseResult, Decision, Determination, Outcome


def initiation_tree(case: CaseFacts, policy: Policy, choice: IndicationChoice) -> ClauseResult:
    return all_of(
        "initiation",
        (
            initiation.treatment_history(case, policy, choice),
            initiation.specialist(case, policy, choice.key),
            initiation.no_contraindication(case, policy),
            combination.evaluate(case, policy, "initiation.4"),
            dose.dose_route(case, policy, choice.key),
        ),
        "ALL of 1 to 5.",
    )


def continuation_tree(
    case: CaseFacts,
    policy: Policy,
    indication: str | None,
    found: list[PriorAuthorization],
    plan_authorizations: Sequence[PriorAuthorization] = (),
) -> ClauseResult:
    return all_of(
        "continuation",
        (
            continuation.previous_approval(case, policy, found, plan_authorizations),
            continuation.clinical_benefit(case, policy),
            initiation.specialist(case, policy, indication, "continuation.3"),
            initiation.no_contraindication(case, policy, "continuation.4"),
            combination.evaluate(case, policy, "continuation.5"),
            dose.dose_route(case, policy, indication, prefix="continuation.6"),
        ),
        "ALL of 1 to 6.",
    )


def choose_pathway(
    case: CaseFacts, policy: Policy, indication: str | None, plan_authorizations: Sequence[PriorAuthorization] = ()
) -> tuple[str, list[PriorAuthorization]]:
    """Continuation for a member the plan approved before (chart ClaimResponse or the plan's own records),
    except for COVID-19 and MIS-C, which always use initiation."""
    found = continuation.approvals(case, policy, plan_authorizations)
    if found and indication not in policy.section("pathways")["continuation_excluded_indications"]:
        return "continuation", found
    return "initiation", found


def _readings(
    case: CaseFacts, policy: Policy, choice: IndicationChoice, pathway: str, criteria: ClauseResult
) -> list[str]:
    triggers = policy.data["readings"].get("reading_triggers", {})
    out: list[str] = []
    key = choice.key
    t = triggers.get("still_codes_listed_with_ra")
    if t and key == "still":
        prefixes = [p.upper().replace(".", "") for p in t["icd10_prefixes"]]
        if any(
            (c.code or "").upper().replace(".", "").startswith(tuple(prefixes))
            for d in choice.diagnoses
            for c in d.codes
        ):
            out.append("still_codes_listed_with_ra")
    t = triggers.get("site_of_care_vs_inpatient_indications")
    if t and key in t["indications"] and bool(case.order.setting.provider_administered) == t["provider_administered"]:
        out.append("site_of_care_vs_inpatient_indications")
    t = triggers.get("eua_age")
    if t and key is not None and key in t["indications"]:
        min_age = policy.indication(key).get("min_age_years")
        age = case.patient.age_years
        if min_age is not None and (age is None or age < min_age):
            out.append("eua_age")
    if triggers.get("qualified_icd10_codes") and choice.qualified_only:
        out.append("qualified_icd10_codes")
    if triggers.get("most_specific_indication") and (
        choice.general is not None or (dose.weight_based_indication(case, policy, key)[0] not in (None, key))
    ):
        out.append("most_specific_indication")
    t = triggers.get("mis_c_prior_infection")
    if (
        t
        and key in t["indications"]
        and (n := criteria.find(t["clause_not_met"])) is not None
        and (n.outcome is not Outcome.MET)
    ):
        out.append("mis_c_prior_infection")
    t = triggers.get("other_indications_named_by_guideline")
    if (
        t
        and (n := criteria.find(t["clause_unknown"])) is not None
        and n.outcome is Outcome.UNKNOWN
        and (key is None or not policy.indication(key).get("guideline_support"))
    ):
        out.append("other_indications_named_by_guideline")
    t = triggers.get("car_t_toxicity_named_use")
    if t and key in t["indications"]:
        out.append("car_t_toxicity_named_use")
    t = triggers.get("site_of_care_inpatient")
    if (
        t
        and key not in policy.section("site_of_care")["inpatient_indications"]
        and (
            bool(case.order.setting.provider_administered) == t["provider_administered"]
            and case.order.setting.category in t["order_categories"]
        )
    ):
        out.append("site_of_care_inpatient")
    if triggers.get("continuation_pathway") and pathway == "continuation":
        out.append("continuation_pathway")
    t = triggers.get("ra_disease_activity")
    if t and (n := criteria.find(t["clause_not_met"])) is not None and n.outcome in (Outcome.NOT_MET, Outcome.UNKNOWN):
        out.append("ra_disease_activity")
    t = triggers.get("continuation_no_benefit")
    if (
        t
        and pathway == t["pathway"]
        and (n := criteria.find(t["clause_not_met"])) is not None
        and (n.outcome is Outcome.NOT_MET)
    ):
        out.append("continuation_no_benefit")
    out.extend(programs.program_readings(case, policy))
    return out


def denied_leaves(node: ClauseResult) -> list[ClauseResult]:
    """The NOT_MET leaves under `node`, reached through NOT_MET nodes only, that rest on the prescriber's "no"."""
    if node.outcome is not Outcome.NOT_MET:
        return []
    if not node.children:
        return [node] if any(is_denial_evidence(e) for e in node.evidence) else []
    return [found for child in node.children for found in denied_leaves(child)]


def evaluate(
    case: CaseFacts,
    policy: Policy | None = None,
    plan_authorizations: tuple[PriorAuthorization, ...] | list[PriorAuthorization] = (),
    *,
    alternative_pathway: bool = True,
    record_unread: str | None = None,
) -> Decision:
    """The decision for one order. `plan_authorizations` are the plan's own approvals for this member (a Store),
    added to the ClaimResponse preauthorizations found in the chart.

    `alternative_pathway`: on the continuation pathway, also evaluate the initiation criteria and keep them in
    the tree as `alternative-pathway` (reading `continuation_pathway`: they never decide). Explanations ask for
    them; the hook path does not, since its answer and audit row rest on the deciding pathway only (the
    initiation tree and what follows from it were 10% of a hook call's CPU). Nothing else in the decision
    depends on it.

    `record_unread`: why the patient's record could not be read in full (a required data need lost to a
    technical error), or None; see `when_record_unread`."""
    policy = policy or load_policy()
    choice = choose_indication(case, policy)
    indication = choice.key
    pathway, found = choose_pathway(case, policy, indication, plan_authorizations)

    site = site_of_care.evaluate(case, policy, indication)
    information: list[ClauseResult] = []
    alternative = None
    if pathway == "continuation":
        criteria = continuation_tree(case, policy, indication, found, plan_authorizations)
        if alternative_pathway:
            alternative = ClauseResult(
                "alternative-pathway",
                Outcome.NOT_APPLICABLE,
                (),
                (),
                policy.reading("continuation_pathway"),
                None,
                (initiation_tree(case, policy, choice),),
            )
    else:
        criteria = initiation_tree(case, policy, choice)
        note = (
            "No previous plan approval for anakinra: initial review (initiation) applies."
            if not found or indication is None
            else f"{policy.indication(indication)['label']} always uses the initiation criteria (continuation.1)."
        )
        information.append(
            leaf(
                "continuation.1",
                Outcome.NOT_APPLICABLE,
                note,
                continuation.not_counted_evidence(case, policy, plan_authorizations),
            )
        )
    dosing = all_of("dosage", (dose.weight_based(case, policy, indication),), "Dosage within labeling.")
    precautions = all_of(
        "precautions",
        (
            combination.evaluate_tnf(case, policy),
            infection.evaluate(case, policy, indication, pathway),
        ),
        "Precautions that bear on coverage.",
    )
    program = programs.program_clauses(case, policy)
    duration, approval_months = programs.duration(policy, indication, pathway)
    approval = all_of("approval", (duration,), "Approval duration.")
    advisories = all_of(
        "advisories",
        (
            dose.ra_dose(case, policy, indication),
            renal.evaluate(case, policy),
            reminders.dosage_form(case, policy),
            reminders.neutrophils(case, policy, pathway),
            reminders.live_vaccines(case, policy),
            reminders.amyloidosis(case, policy, indication, pathway),
            reminders.hypersensitivity(case, policy),
        ),
        "Reminders (do not affect coverage).",
    )
    information = [
        programs.hcpcs(case, policy),
        programs.icd10(case, policy, indication, choice.diagnoses),
        programs.step_therapy_exemption(criteria, policy),
        *information,
    ]
    info = all_of("information", information, "Billing and program notes (do not affect coverage).")
    tree = tuple(
        t
        for t in (site, criteria, dosing, precautions, program, approval, advisories, info, alternative)
        if t is not None
    )
    coverage_groups = tuple(t.clause_id for t in tree if policy.group_role(t.clause_id) == "coverage")
    coverage = [t for t in tree if t.clause_id in coverage_groups]

    program_key = programs.member_program(case, policy)
    program_spec = policy.data["programs"].get(program_key or "", None)
    defers = program_spec is not None and program_spec.get("decides") is False
    reasons: list[str] = []

    def node(cid: str) -> ClauseResult | None:
        for top in coverage:
            found_node = top.find(cid)
            if found_node is not None:
                return found_node
        return None

    hard_failed = [
        n for cid in policy.data["hard_exclusions"] if (n := node(cid)) is not None and n.outcome is Outcome.NOT_MET
    ]
    if not case.patient.coverage.present:
        if "coverage" in case.patient.unavailable:
            determination = Determination.INDETERMINATE
            reasons.append("The member's coverage could not be read from the EHR.")
        else:
            determination = Determination.NOT_COVERED
            reasons.append("No active coverage for this member was found.")
    elif defers:
        # This guideline does not decide for the program: never covered, never denied on its terms.
        determination = Determination.CONDITIONAL
        reasons.append(f"{program_spec['label']}: {program_spec['process']}")
    elif hard_failed:
        determination = Determination.NOT_COVERED
        for failed in hard_failed:
            reasons.append(f"{failed.clause_id}: {failed.note}")
    elif denied := [n for top in coverage for n in denied_leaves(top)]:
        determination = Determination.NOT_COVERED
        reasons.extend(f"{n.clause_id}: {n.note}" for n in denied)
    elif all(t.outcome in (Outcome.MET, Outcome.NOT_APPLICABLE) for t in coverage):
        determination = Determination.COVERED
    else:
        determination = Determination.CONDITIONAL

    readings = _readings(case, policy, choice, pathway, criteria)
    reading_texts = tuple(policy.reading(k) for k in readings)
    reasons.extend(f"How the guideline was read: {t}" for t in reading_texts)

    if determination is Determination.NOT_COVERED:
        pa_needed = None
    elif determination is Determination.INDETERMINATE:
        pa_needed = "indeterminate"
    else:
        pa_needed = "auth-needed"
    decision = Decision(
        order_id=case.order.id,
        order_label=case.order.label,
        determination=determination,
        pa_needed=pa_needed,
        tree=tree,
        findings=(),
        policy_id=policy.id,
        policy_revision=policy.revision,
        pathway=pathway,
        indication=indication,
        reasons=tuple(reasons),
        program=program_key,
        approval_months=approval_months,
        as_of=case.patient.as_of,
        readings=tuple(readings),
        reading_texts=reading_texts,
        policy_effective=policy.effective.get("start"),
        coverage_groups=coverage_groups,
        texts=policy.texts,
    )
    decision = replace(decision, findings=tuple(findings_for(decision, case, policy)))
    return decision if record_unread is None else when_record_unread(decision, record_unread)


def when_record_unread(decision: Decision, why: str) -> Decision:
    """The decision when the record could not be read in full: indeterminate (`why` the first reason), since a
    clause may rest on what was not read; a not-covered decision stands (what was read already denies)."""
    if decision.determination is Determination.NOT_COVERED:
        return decision
    return replace(
        decision, determination=Determination.INDETERMINATE, pa_needed="indeterminate", reasons=(why, *decision.reasons)
    )


__all__ = ["choose_pathway", "continuation_tree", "denied_leaves", "evaluate", "initiation_tree", "when_record_unread"]
