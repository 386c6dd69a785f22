"""From the clause tree to what a clinician should act on (one Finding per card)."""

from __future__ import annotations

from ..facts.model import CaseFacts
from .clauses import combination, step_therapy
from .clauses.common import fmt
from .data_loader import Policy
from .model import ClauseResult, Decision, Finding, Missing, Need, Outcome


def _node(decision: Decision, cid: str) -> ClauseResult | None:
    for top in decision.tree:
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


def _leaves(node: ClauseResult, outcome: Outcome) -> list[ClauseResult]:
    return [n for n in node.walk() if not n.children and n.outcome is outcome]


def findings_for(decision: Decision, case: CaseFacts, policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    order = f"**{case.order.label}** ({case.order.reference})"
    covered_ids: set[str] = set()

    site = _node(decision, "position.site-of-care")
    if site is not None and site.outcome is Outcome.NOT_MET:
        out.append(Finding(
            "site-of-care", "warning",
            "Kineret is not covered when given in a clinic or hospital: order it for self-administration at home.",
            f"{order} is written for a provider-administered setting:\n\n{_evidence_md(site)}\n\n"
            "Under guideline 09-J0000-45 Kineret is FDA-approved for self-administration, so coverage in a "
            "provider-administered setting (outpatient hospital, ambulatory surgical suite, physician office, "
            "emergency facility) is not medically necessary. Changing the order to a community (self-administered) "
            "prescription with patient injection teaching resolves this.",
            ("position.site-of-care",), {"action": "self-administer"}))
        covered_ids.add("position.site-of-care")

    combo = _node(decision, "initiation.4")
    if combo is not None and combo.outcome is Outcome.NOT_MET:
        spans = combination.conflicting(case, policy)
        tnf = [s for s in spans if "tnf" in s.classes]
        drafts = [s for s in spans if s.kind == "draft"]
        names = sorted({s.label for s in spans})
        labels = policy.data["combination"]["class_labels"]
        classes = sorted({labels[c] for s in spans for c in s.classes if c in labels})
        summary = (f"Do not combine Kineret with {names[0] if len(names) == 1 else 'other biologic therapy'}: "
                   f"stop it or cancel this order.")
        detail = (f"{order} would be used with {', '.join(names)} ({', '.join(classes)}):\n\n{_evidence_md(combo)}\n\n"
                  "Guideline 09-J0000-45 (initiation criterion 4) does not cover anakinra in combination with another "
                  "biologic immunomodulator, a JAK inhibitor, apremilast, deucravacitinib or an S1P modulator"
                  + (", and the label warns against combining it with TNF antagonists (serious infections, "
                     "neutropenia)." if tnf else "."))
        ids = ("initiation.4", "precautions.tnf") if tnf else ("initiation.4",)
        out.append(Finding("combination", "critical" if tnf else "warning", summary[:140], detail, ids,
                           {"drafts": [s.source for s in drafts], "labels": names}))
        covered_ids.update(ids)

    contra = _node(decision, "precautions.contraindication")
    if contra is not None and contra.outcome is Outcome.NOT_MET:
        out.append(Finding(
            "contraindication", "critical",
            "Documented hypersensitivity to anakinra or E. coli-derived proteins: Kineret is contraindicated.",
            f"{order}: the chart records\n\n{_evidence_md(contra)}\n\nKineret is contraindicated in patients with known "
            "hypersensitivity to E. coli-derived proteins, anakinra or any inactive ingredient (initiation criterion 3).",
            ("initiation.3", "precautions.contraindication"), {}))
        covered_ids.update(("initiation.3", "precautions.contraindication"))

    qty = _node(decision, "initiation.5.a")
    route = _node(decision, "initiation.5")
    if qty is not None and qty.outcome is Outcome.NOT_MET:
        d = case.order.dose
        summary = (f"Dose above the limit ({fmt(d.mg_per_day, 'mg/day')}, {fmt(d.syringes_per_28_days)} syringes/28 days): "
                   "change to 100 mg once daily, 28 syringes.")
        if len(summary) > 140:
            summary = "Dose or quantity above the limit: change to 100 mg once daily, 28 syringes per 28 days."
        extra = ""
        if route is not None and route.outcome is Outcome.UNKNOWN:
            missing = sorted({m.text for n in _leaves(route, Outcome.UNKNOWN) for m in n.missing})
            extra = "\n\nTo keep the higher dose, the plan needs:\n" + "\n".join(f"- {m}" for m in missing)
        out.append(Finding(
            "dose", "warning", summary,
            f"{order}: {qty.note}\n\n{_evidence_md(qty)}\n\nThe guideline's limit is 100 mg once daily; quantity limit "
            f"28 syringes (18.76 mL) per 28 days (initiation criterion 5.a).{extra}",
            ("initiation.5.a", "initiation.5"), {"action": "standard-dose"}))
        covered_ids.update(("initiation.5.a",))

    wd = _node(decision, "dosage.nomid-dira")
    if wd is not None and wd.outcome is Outcome.NOT_MET:
        w = case.patient.weight
        max_mg = round(policy.limit("nomid_dira_max_mg_per_kg_day") * w.kg) if w else None
        out.append(Finding(
            "weight-dose", "warning",
            f"Dose above 8 mg/kg/day for this patient's weight: at most {max_mg} mg daily."[:140],
            f"{order}: {wd.note}\n\n{_evidence_md(wd)}\n\nFor NOMID and DIRA the labeled starting dose is 1 to 2 mg/kg "
            "daily, adjusted in 0.5 to 1 mg/kg steps to at most 8 mg/kg daily.",
            ("dosage.nomid-dira",), {"max_mg": max_mg}))
        covered_ids.add("dosage.nomid-dira")
    elif wd is not None and wd.outcome is Outcome.UNKNOWN:
        out.append(Finding(
            "missing-weight", "info",
            "Record a current body weight: the NOMID/DIRA dose limit is 8 mg/kg/day.",
            f"{order}: {wd.note}\n\n{_evidence_md(wd)}\n\nCoverage needs the dose checked against the labeled maximum "
            "of 8 mg/kg daily; enter a current weight (kg or lb) and re-sign.",
            ("dosage.nomid-dira",), {}))
        covered_ids.add("dosage.nomid-dira")

    ra = _node(decision, "table1.ra")
    if ra is not None and ra.outcome is not Outcome.MET:
        status = step_therapy.preferred_status(case, policy)
        ra1, ra2 = _node(decision, "table1.ra.1"), _node(decision, "table1.ra.2")
        done = [f"- {label}: {how}" for label, how in status.values() if how in (
            "inadequate response", "intolerance or hypersensitivity")]
        todo = [f"- {label}: {how}" for label, how in status.values() if how not in (
            "inadequate response", "intolerance or hypersensitivity")]
        conv = "met" if ra1 and ra1.outcome is Outcome.MET else (
            "not documented" if ra1 and ra1.outcome is Outcome.UNKNOWN else "not met")
        hard = ra2 is not None and not any(n.outcome is Outcome.MET for n in ra2.children[:4])
        summary = ("Step therapy not met: document 3 preferred RA products tried (e.g. Humira, Enbrel, Xeljanz) or request an exemption."
                   if hard else "Step therapy for RA needs documentation before Kineret can be approved.")
        detail = (
            f"{order} for rheumatoid arthritis requires step therapy (Table 1).\n\n"
            f"**Step 1, a conventional agent (methotrexate, hydroxychloroquine, leflunomide or sulfasalazine) for at least "
            f"3 months, an intolerance, or prior RA biologic: {conv}.** {ra1.note if ra1 else ''}\n\n"
            f"**Step 2, preferred products (three with inadequate response after 3 months each, or the intolerance "
            f"combinations):** {ra2.note if ra2 else ''}\n\nDocumented:\n" + ("\n".join(done) or "- none") +
            "\n\nNot documented:\n" + ("\n".join(todo) or "- none") +
            f"\n\n{policy.data['step_therapy_exemption']}")
        ids = tuple(dict.fromkeys(["table1.ra.1", "table1.ra.2"] + [n.clause_id for n in (ra1, ra2) if n] +
                                  ["program.step-therapy-exemption"]))
        out.append(Finding("step-therapy", "warning" if hard else "info", summary[:140], detail, ids,
                           {"preferred": status}))
        covered_ids.update(n.clause_id for n in ra.walk())

    # Documentation / information still needed for clauses not already explained by a card above.
    missing: list[tuple[str, Missing]] = []
    for top in decision.tree:
        if top.clause_id == "advisories":
            continue
        for n in top.walk():
            if n.children or n.outcome is not Outcome.UNKNOWN or n.clause_id in covered_ids:
                continue
            if any(n.clause_id.startswith(c + ".") for c in covered_ids):
                continue
            for m in n.missing:
                missing.append((n.clause_id, m))
    if missing and decision.determination.value == "conditional":
        ids = tuple(dict.fromkeys(cid for cid, _ in missing))
        texts = list(dict.fromkeys(f"- {m.text} ({cid})" for cid, m in missing))
        order_select = case.hook == "order-select"
        out.append(Finding(
            "documentation", "info",
            ("Coverage preview: more information will be needed for prior authorization."
             if order_select else "Prior authorization needs documentation: see what is missing."),
            f"{order}: these criteria of guideline 09-J0000-45 could not be confirmed from the chart:\n\n" +
            "\n".join(texts), ids,
            {"needs": sorted({m.need.value for _, m in missing})}))

    if decision.program and policy.data["programs"].get(decision.program, {}).get("decides") is False:
        prog = policy.data["programs"][decision.program]
        out.append(Finding("program", "info", f"{prog['label']} member: {prog['process']}"[:140],
                           f"{order}: {prog['process']}", (prog["clause"],), {}))
    return out


__all__ = ["findings_for", "Need"]
