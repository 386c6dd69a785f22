"""From the clause tree to what a clinician should act on (one Finding per card).

Kinds: site-of-care, combination, contraindication, dose, weight-dose, missing-weight, step-therapy,
infection, criteria (a coverage criterion not met that no other card explains), renal and reminder
(advice: never change the determination), documentation (what the plan still needs), program
(another process decides), reading (how the service read an ambiguous part of the guideline), and
renewal (under a current plan approval, what its renewal will need: `under_approval`).
Every card's detail ends with the readings applied to the order, if any.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from ..facts.model import CaseFacts
from .clauses import combination, initiation, step_therapy
from .clauses.common import fmt
from .clauses.dose import dose_suggestion_data
from .data_loader import Policy
from .model import ClauseResult, Decision, Finding, Missing, Outcome


def _node(decision: Decision, cid: str, groups: tuple[str, ...] | None = None) -> ClauseResult | None:
    for top in decision.tree:
        if groups is not None and top.clause_id not in groups:
            continue
        n = top.find(cid)
        if n is not None:
            return n
    return None


def _evidence_md(node: ClauseResult, limit: int = 8) -> str:
    lines = []
    for e in list(node.evidence)[:limit]:
        src = f" ({e.reference})" if e.reference else ""
        lines.append(f"- {e.description}{src}")
    return "\n".join(lines)


def _quantity_text(policy: Policy) -> str:
    lim = policy.limits
    return (
        f"{fmt(lim['max_mg_per_day'])} mg once daily; quantity limit {lim['max_syringes_per_28_days']} syringes "
        f"({fmt(lim['quantity_limit_ml_per_28_days'])} mL) per {lim['quantity_period_days']} days"
    )


def findings_for(decision: Decision, case: CaseFacts, policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    order = f"**{case.order.label}** ({case.order.reference})"
    covered_ids: set[str] = set()
    groups = decision.coverage_groups or None
    cont = decision.pathway == "continuation"
    combo_id, contra_id, dose_id, quantity_id = (
        ("continuation.5", "continuation.4", "continuation.6", "continuation.6.a")
        if cont
        else ("initiation.4", "initiation.3", "initiation.5", "initiation.5.a")
    )
    lim = policy.limits

    def node(cid: str) -> ClauseResult | None:
        return _node(decision, cid, groups)

    site = node("position.site-of-care")
    if site is not None and site.outcome is Outcome.NOT_MET:
        out.append(
            Finding(
                "site-of-care",
                "warning",
                "Kineret is not covered when given in a clinic or hospital: order it for self-administration at home.",
                f"{order} is written for a provider-administered setting:\n\n{_evidence_md(site)}\n\n"
                f"Under guideline {policy.id} Kineret is FDA-approved for self-administration, so coverage in a "
                "provider-administered setting (outpatient hospital, ambulatory surgical suite, physician office, "
                "emergency facility) is not medically necessary. Changing the order to a community (self-administered) "
                "prescription with patient injection teaching resolves this.",
                ("position.site-of-care",),
                {"action": "self-administer"},
            )
        )
        covered_ids.add("position.site-of-care")

    combo = node(combo_id)
    if combo is not None and combo.outcome is Outcome.NOT_MET:
        spans = combination.conflicting(case, policy)
        tnf = [s for s in spans if "tnf" in s.classes]
        drafts = [s for s in spans if s.kind == "draft"]
        names = sorted({s.label for s in spans})
        labels = policy.data["combination"]["class_labels"]
        classes = sorted({labels[c] for s in spans for c in s.classes if c in labels})
        summary = (
            f"Do not combine Kineret with {names[0] if len(names) == 1 else 'other biologic therapy'}: "
            f"stop it or cancel this order."
        )
        detail = (
            f"{order} would be used with {', '.join(names)} ({', '.join(classes)}):\n\n{_evidence_md(combo)}\n\n"
            f"Guideline {policy.id} ({combo_id}) does not cover anakinra in combination with another "
            "biologic immunomodulator, a JAK inhibitor, apremilast, deucravacitinib or an S1P modulator"
            + (
                ", and the label warns against combining it with TNF antagonists (serious infections, neutropenia)."
                if tnf
                else "."
            )
        )
        ids: tuple[str, ...] = (combo_id, "precautions.tnf") if tnf else (combo_id,)
        out.append(
            Finding(
                "combination",
                "critical" if tnf else "warning",
                summary[:140],
                detail,
                ids,
                {"drafts": [s.source for s in drafts], "labels": names, "draft_labels": [s.label for s in drafts]},
            )
        )
        covered_ids.update(ids)

    if combo is not None and combo.outcome is Outcome.UNKNOWN and (doubtful := combination.in_doubt(case, policy)):
        names = sorted({s.label for s in doubtful})
        out.append(
            Finding(
                "combination-confirm",
                "warning",
                f"Confirm whether the member still takes {names[0] if len(names) == 1 else 'these drugs'}: "
                "Kineret is not covered in combination."[:140],
                f"{order}: the records conflict about current use of {', '.join(names)}:\n\n{_evidence_md(combo)}\n\n"
                f"Guideline {policy.id} ({combo_id}) does not cover anakinra in combination with another biologic "
                "immunomodulator, a JAK inhibitor, apremilast, deucravacitinib or an S1P modulator. Record whether it "
                "was stopped (and when), or cancel it, and re-sign.",
                (combo_id,),
                {"labels": names},
            )
        )
        covered_ids.add(combo_id)

    contra = node("precautions.contraindication")
    if contra is not None and contra.outcome is Outcome.NOT_MET:
        out.append(
            Finding(
                "contraindication",
                "critical",
                "Documented hypersensitivity to anakinra or E. coli-derived proteins: Kineret is contraindicated.",
                f"{order}: the chart records\n\n{_evidence_md(contra)}\n\n"
                "Kineret is contraindicated in patients with known hypersensitivity to E. coli-derived proteins, "
                "anakinra or any inactive ingredient "
                f"({contra_id}).",
                (contra_id, "precautions.contraindication"),
                {},
            )
        )
        covered_ids.update((contra_id, "precautions.contraindication"))

    qty = node(quantity_id)
    route = node(dose_id)
    # Above 5.a but within another route (5.b: NOMID within 8 mg/kg daily): no change of dose to ask for.
    advice: dict[str, Any] = {}
    safe = None
    if qty is not None and qty.outcome is Outcome.NOT_MET and (route is None or route.outcome is not Outcome.MET):
        advice = dose_suggestion_data(case, policy, decision.indication)
        safe = advice.get("suggested_dose")
        d = case.order.dose
        change = f"change to {safe['label']}" if safe else "no safe dose can be suggested (see details)"
        summary = (
            f"Dose above the limit ({fmt(d.mg_per_day, 'mg/day')}, {fmt(d.syringes_per_28_days)} syringes/"
            f"{lim['quantity_period_days']} days): {change}."
        )
        if len(summary) > 140:
            summary = f"Dose or quantity above the limit: {change}."
        if len(summary) > 140:
            summary = (
                "Dose or quantity above the limit: see the suggested dose."
                if safe
                else ("Dose or quantity above the limit: no safe dose can be suggested (see details).")
            )
        extra = _suggestion_text(safe, advice)
        if route is not None and route.outcome is Outcome.UNKNOWN:
            needed = sorted({m.text for n in route.pending() if n.outcome is Outcome.UNKNOWN for m in n.missing})
            extra += "\n\nTo keep the higher dose, the plan needs:\n" + "\n".join(f"- {m}" for m in needed)
            covered_ids.update(n.clause_id for n in route.walk())
        out.append(
            Finding(
                "dose",
                "warning",
                summary,
                f"{order}: {qty.note}\n\n{_evidence_md(qty)}\n\nThe guideline's limit is {_quantity_text(policy)} "
                f"({quantity_id}).{extra}",
                (quantity_id, dose_id),
                {"action": "standard-dose", **advice},
            )
        )
        covered_ids.add(quantity_id)

    wd = node("dosage.nomid-dira")
    max_kg = policy.limit("nomid_dira_max_mg_per_kg_day")
    start = policy.limit("nomid_dira_start_mg_per_kg_day")
    if wd is not None and wd.outcome is Outcome.NOT_MET:
        w = case.patient.weight
        max_mg = math.floor(max_kg * w.kg) if w else None  # whole mg, never rounded up past the maximum
        dose_card = any(f.kind == "dose" for f in out)
        if not dose_card:
            advice = dose_suggestion_data(case, policy, decision.indication)
            safe = advice.get("suggested_dose")
        out.append(
            Finding(
                "weight-dose",
                "warning",
                f"Dose above {fmt(max_kg)} mg/kg/day for this patient's weight: at most {fmt(max_mg)} mg daily."[:140],
                f"{order}: {wd.note}\n\n{_evidence_md(wd)}\n\nFor NOMID and DIRA the labeled starting dose is "
                f"{fmt(start[0])} to {fmt(start[1])} mg/kg daily, adjusted in 0.5 to 1 mg/kg steps to at most "
                f"{fmt(max_kg)} mg/kg daily (dosage.nomid-dira)."
                + ("" if dose_card else _suggestion_text(safe, advice)),
                ("dosage.nomid-dira",),
                {"max_mg": max_mg, **({} if dose_card else advice)},
            )
        )
        covered_ids.add("dosage.nomid-dira")
    elif wd is not None and wd.outcome is Outcome.UNKNOWN:
        out.append(
            Finding(
                "missing-weight",
                "info",
                f"Record a current body weight: the NOMID/DIRA dose limit is {fmt(max_kg)} mg/kg/day.",
                f"{order}: {wd.note}\n\n{_evidence_md(wd)}\n\n"
                "Coverage needs the dose checked against the labeled maximum "
                f"of {fmt(max_kg)} mg/kg daily (dosage.nomid-dira); enter a current weight (kg or lb) and re-sign.",
                ("dosage.nomid-dira",),
                {},
            )
        )
        covered_ids.add("dosage.nomid-dira")

    # initiation.1.a UNKNOWN because statements or orders show anakinra use that no dispense shows was not
    # samples: the shortest route is to confirm the continuing therapy (1.a or 1.b), so this card leads
    # and any step-therapy card (the 1.c route) follows it as information.
    continuing = []
    one, one_a = node("initiation.1"), node("initiation.1.a")
    if (
        one is not None
        and one.outcome is not Outcome.MET
        and one_a is not None
        and one_a.outcome is Outcome.UNKNOWN
        and not combination.unread_lists(case)
    ):
        continuing = initiation.continuing_therapy(case, policy)
    if continuing:
        days = policy.limit("recent_anakinra_days")
        lines = "\n".join(f"- {s.label} ({s.kind}, {s.status or 'status not given'}) ({s.source})" for s in continuing)
        out.append(
            Finding(
                "continuing-therapy",
                "warning",
                f"Confirm continuing Kineret therapy (not samples) in the past {days} days: "
                "step therapy is then not needed.",
                f"{order}: the chart shows anakinra use within the past {days} days:\n\n{lines}\n\nbut no pharmacy "
                "dispensing record shows it was not started on samples (guideline "
                f'{policy.id}, initiation.1: "treated with anakinra (starting on samples is not approvable) within the '
                f'past {days} days"). Either send the pharmacy dispensing records or claims for the past {days} days '
                "(initiation.1.a), or state on the order that the member was treated with anakinra, not samples, "
                f"in the past {days} days and is at risk if therapy is changed (initiation.1.b). "
                "Otherwise the Table 1 criteria (initiation.1.c) apply.\n\nHow the guideline was read: "
                + policy.reading("samples_and_continuing_therapy"),
                ("initiation.1.a", "initiation.1.b"),
                {},
            )
        )
        covered_ids.update(("initiation.1.a", "initiation.1.b"))

    ra = node("table1.ra")
    ra1, ra2 = node("table1.ra.1"), node("table1.ra.2")
    steps_met = all(n is not None and n.outcome is Outcome.MET for n in (ra1, ra2))
    # Disease activity alone (table1.ra.activity) is not step therapy: the criteria card below explains it.
    if ra is not None and ra.outcome is not Outcome.MET and not steps_met:
        status = step_therapy.preferred_status(case, policy)
        done = [
            f"- {label}: {how}"
            for label, how in status.values()
            if how in ("inadequate response", "intolerance or hypersensitivity")
        ]
        todo = [
            f"- {label}: {how}"
            for label, how in status.values()
            if how not in ("inadequate response", "intolerance or hypersensitivity")
        ]
        conv = (
            "met"
            if ra1 and ra1.outcome is Outcome.MET
            else ("not documented" if ra1 and ra1.outcome is Outcome.UNKNOWN else "not met")
        )
        counts = {k: v for k, v in policy.section("ra_preferred_counts").items() if not k.startswith("_")}
        count_ids = set(counts)  # table1.ra.2.a to table1.ra.2.d
        hard = ra2 is not None and not any(n.outcome is Outcome.MET for n in ra2.children if n.clause_id in count_ids)
        months = policy.limit("min_trial_months")
        most = max(v.get("inadequate_response", 0) for v in counts.values())
        summary = (
            f"Step therapy not met: document {most} preferred RA products tried (e.g. Humira, Enbrel, Xeljanz) "
            "or request an exemption."
            if hard
            else "Step therapy for RA needs documentation before Kineret can be approved."
        )
        detail = (
            f"{order} for rheumatoid arthritis requires step therapy (Table 1).\n\n"
            f"**Step 1, a conventional agent (methotrexate, hydroxychloroquine, leflunomide or sulfasalazine) for at "
            f"least {months} months, an intolerance, or prior RA biologic: {conv}.** {ra1.note if ra1 else ''}\n\n"
            f"**Step 2, preferred products ({most} with inadequate response after {months} months each, or the "
            f"intolerance combinations):** {ra2.note if ra2 else ''}\n\nDocumented:\n"
            + ("\n".join(done) or "- none")
            + "\n\nNot documented:\n"
            + ("\n".join(todo) or "- none")
            + f"\n\n{policy.data['step_therapy_exemption']} (program.step-therapy-exemption)"
        )
        ids = tuple(
            dict.fromkeys(
                ["table1.ra.1", "table1.ra.2"]
                + [n.clause_id for n in (ra1, ra2) if n]
                + ["program.step-therapy-exemption"]
            )
        )
        out.append(
            Finding(
                "step-therapy",
                "warning" if hard and not continuing else "info",
                summary[:140],
                detail,
                ids,
                {"preferred": status},
            )
        )
        covered_ids.update(n.clause_id for n in ra.walk() if n.clause_id not in ("table1.ra", "table1.ra.activity"))

    infection = node("precautions.serious-infections")
    if infection is not None and infection.outcome is Outcome.NOT_MET:
        out.append(
            Finding(
                "infection",
                "warning",
                "Active infection on the chart: anakinra should not be started during an active infection.",
                f"{order}: {infection.note}\n\n{_evidence_md(infection)}\n\nThe label (precautions.serious-infections) "
                "says not to initiate anakinra in persons with active infections, and to discontinue it in RA if a "
                "serious infection develops. Coverage can be reviewed once the infection has resolved, or with the "
                "prescriber's documentation that it is not active.",
                ("precautions.serious-infections",),
                {},
            )
        )
        covered_ids.add("precautions.serious-infections")

    # Coverage criteria not met that no card above explains (e.g. MIS-C age, a COVID-19 course over the limit).
    if decision.determination.value != "covered":
        unexplained = []
        for top in decision.coverage_tree():
            for n in top.blocking():
                if n.clause_id not in covered_ids and not any(n.clause_id.startswith(c + ".") for c in covered_ids):
                    unexplained.append(n)
        if unexplained:
            ids = tuple(dict.fromkeys(n.clause_id for n in unexplained))
            lines = "\n".join(f"- **{n.clause_id}**: {n.note}" for n in unexplained)
            evidence = "\n".join(_evidence_md(n, 4) for n in unexplained if n.evidence)
            out.append(
                Finding(
                    "criteria",
                    "warning",
                    "Coverage criteria of the guideline are not met by this order or chart.",
                    f"{order}: guideline {policy.id} criteria not met:\n\n{lines}"
                    + (f"\n\n{evidence}" if evidence else ""),
                    ids,
                    {},
                )
            )
            covered_ids.update(ids)

    # Documentation / information still needed for clauses not already explained by a card above.
    missing: list[tuple[str, Missing]] = []
    for top in decision.coverage_tree():
        for n in top.pending():
            if n.outcome is not Outcome.UNKNOWN or n.clause_id in covered_ids:
                continue
            if any(n.clause_id.startswith(c + ".") for c in covered_ids):
                continue
            for m in n.missing:
                missing.append((n.clause_id, m))
    if missing and decision.determination.value == "conditional":
        ids = tuple(dict.fromkeys(cid for cid, _ in missing))
        texts = list(dict.fromkeys(f"- {m.text} ({cid})" for cid, m in missing))
        order_select = case.hook == "order-select"
        out.append(
            Finding(
                "documentation",
                "info",
                (
                    "Coverage preview: more information will be needed for prior authorization."
                    if order_select
                    else "Prior authorization needs documentation: see what is missing."
                ),
                f"{order}: these criteria of guideline {policy.id} could not be confirmed from the chart:\n\n"
                + "\n".join(texts),
                ids,
                {"needs": sorted({m.need.value for _, m in missing})},
            )
        )

    if decision.program and policy.data["programs"].get(decision.program, {}).get("decides") is False:
        prog = policy.data["programs"][decision.program]
        out.append(
            Finding(
                "program",
                "info",
                f"{prog['label']} member: {prog['process']}"[:140],
                f"{order}: {prog['process']} Guideline {policy.id} does not decide coverage for this "
                f"program ({prog['clause']}).",
                (prog["clause"],),
                {},
            )
        )

    out.extend(_advice(decision, case, policy, order))

    cards_for = policy.data["readings"].get("reading_triggers", {})
    for key, text in zip(decision.readings, decision.reading_texts, strict=True):
        if cards_for.get(key, {}).get("card"):
            out.append(
                Finding(
                    "reading",
                    "info",
                    _reading_summary(decision, policy, key),
                    f"{order}: how the guideline was read: {text}",
                    tuple(cards_for[key].get("cites", ())),
                    {"reading": key},
                )
            )
    if decision.reading_texts:
        suffix = "\n\n" + "\n\n".join(f"How the guideline was read: {t}" for t in decision.reading_texts)
        out = [
            f
            if f.kind == "reading"
            else Finding(f.kind, f.severity, f.summary, f.detail + suffix, f.clause_ids, f.data)
            for f in out
        ]
    return out


# Findings about the pathway's own criteria (what a plan approval vouches for): under a current
# approval they concern its renewal, not the order in hand.
_RENEWAL_KINDS = ("documentation", "criteria", "step-therapy", "specialist")


def under_approval(findings: tuple[Finding, ...], pa_id: str, start: date, end: date) -> tuple[Finding, ...]:
    """The findings of an order that a current plan approval covers (CRD `pa-needed` satisfied).

    What the chart could not confirm within the approved pathway's criteria (documentation still
    missing, a criterion not shown) is what the plan will look for when the approval is renewed,
    not a reason to ask for prior authorization now: those cards become one `renewal` note naming
    the approval. Every other card (dose, combination, reminders, readings ...) stays as it is."""
    renewal = [f for f in findings if f.kind in _RENEWAL_KINDS]
    if not renewal:
        return findings
    kept = [f for f in findings if f.kind not in _RENEWAL_KINDS]
    # A criterion the chart shows as not met (a warning card, e.g. no benefit from anakinra) is not
    # "documentation still needed": the note says so and keeps the warning.
    unmet = any(f.severity != "info" for f in renewal)
    outlook = (
        "the chart does not meet every renewal criterion yet" if unmet else "its renewal will need more documentation"
    )
    detail = (
        f"This order is covered under the plan's current approval {pa_id} ({start.isoformat()} to "
        f"{end.isoformat()}); no prior authorization is needed for it. For the renewal, the plan will look "
        "at what the chart does not show or does not meet yet:\n\n" + "\n\n".join(f.detail for f in renewal)
    )
    note = Finding(
        "renewal",
        "warning" if unmet else "info",
        f"Covered under plan approval {pa_id} until {end.isoformat()}; {outlook}."[:140],
        detail,
        tuple(dict.fromkeys(c for f in renewal for c in f.clause_ids)),
        {"authorization": pa_id, "expires": end.isoformat()},
    )
    return tuple([note, *kept])


def _suggestion_text(safe: dict[str, Any] | None, advice: dict[str, Any]) -> str:
    """The suggested dose and the limits it meets (reading dose_safe_suggestion), or why none is suggested."""
    if safe is None:
        return (
            f"\n\nNo dose change is suggested: {advice.get('no_suggestion')}. A suggested dose must meet every "
            "limit that applies to the member."
        )
    return f"\n\nSuggested: {safe['label']}, within every limit that applies to this member:\n" + "\n".join(
        f"- {x}" for x in safe["limits"]
    )


def _reading_summary(decision: Decision, policy: Policy, key: str) -> str:
    label = policy.indication(decision.indication)["label"] if decision.indication else "the indication"
    return f"Evaluated as {label}: see how the guideline was read."[:140]


def _advice(decision: Decision, case: CaseFacts, policy: Policy, order: str) -> list[Finding]:
    """renal and reminder cards from the advisories group (they never change the determination)."""
    out: list[Finding] = []
    advisories = next((t for t in decision.tree if t.clause_id == "advisories"), None)
    if advisories is None:
        return out
    renal = advisories.find("dosage.renal")
    if renal is not None and renal.outcome is Outcome.NOT_MET:
        advice = dose_suggestion_data(case, policy, decision.indication)
        safe = advice.get("suggested_dose")
        out.append(
            Finding(
                "renal",
                "info",
                f"Creatinine clearance below {fmt(policy.limit('renal_crcl_threshold_ml_min'))} mL/min: consider the "
                "prescribed dose every other day.",
                f"{order}: {renal.note}\n\n{_evidence_md(renal)}\n\nThe guideline's dose adjustment (dosage.renal): "
                "physicians should consider giving the prescribed dose every other day in severe renal insufficiency "
                "or end-stage renal disease. This is advice; it does not change coverage."
                + _suggestion_text(safe, advice),
                ("dosage.renal",),
                {"action": "every-other-day", **advice},
            )
        )
    titles = {
        "precautions.neutrophils": "Check the neutrophil count before starting Kineret, then on schedule.",
        "precautions.live-vaccines": "A live vaccine is ordered or recent: do not give live vaccines with Kineret.",
        "precautions.amyloidosis": "NOMID at higher doses: rotate injection sites (injection-site amyloid).",
        "dosage.form": "Single-use syringes: the quantity does not give a new syringe for each dose.",
    }
    for cid, title in titles.items():
        n = advisories.find(cid)
        if n is not None and n.outcome is Outcome.NOT_MET:
            out.append(
                Finding(
                    "reminder",
                    "info",
                    title[:140],
                    f"{order}: {n.note}\n\n{_evidence_md(n)}\n\n({cid}; a reminder: it does not change coverage.)",
                    (cid,),
                    {"clause": cid},
                )
            )
    return out


__all__ = ["findings_for"]
