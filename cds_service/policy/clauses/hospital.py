"""Is the member hospitalised? (table1.covid-19.1, table1.mis-c.3)"""

from __future__ import annotations

from ...facts.model import CaseFacts, EncounterFact
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome


def _encounter_evidence(e: EncounterFact) -> Evidence:
    what = f"encounter class {e.class_code or '?'}" + (f" ({e.text})" if e.text else "")
    state = "in progress" if e.active else "not current"
    return Evidence(f"{what}, {state}", e.source, e.class_code, e.start.isoformat() if e.start else None)


def hospitalised(case: CaseFacts, policy: Policy, clause_id: str, what: str) -> ClauseResult:
    """MET with a current inpatient encounter (or an inpatient order); UNKNOWN for an emergency or observation
    stay, or when the chart has no encounters; NOT_MET when the chart's encounters show no admission."""
    encounters = case.patient.encounters
    current = [e for e in encounters if e.active and e.inpatient]
    if current:
        return leaf(
            clause_id, Outcome.MET, f"{what}: a current inpatient encounter.", [_encounter_evidence(e) for e in current]
        )
    if case.order.setting.category in policy.section("site_of_care")["inpatient_order_categories"]:
        return leaf(
            clause_id,
            Outcome.MET,
            f"{what}: the order is an inpatient order.",
            [
                Evidence(
                    f"order category `{case.order.setting.category}` (administered in an inpatient setting)",
                    case.order.reference,
                    case.order.setting.category,
                )
            ],
        )
    review = [e for e in encounters if e.active and e.review]
    missing = [
        Missing(
            f"Documentation that the member is hospitalised (inpatient admission) — {what.lower()}", Need.CLINICAL_DOC
        )
    ]
    if review:
        return leaf(
            clause_id,
            Outcome.UNKNOWN,
            "An emergency or observation stay is in progress; admission is not recorded.",
            [_encounter_evidence(e) for e in review],
            missing,
        )
    if not encounters:
        note = (
            "Encounters could not be read."
            if "encounters" in case.patient.unavailable
            else "The chart holds no encounter to show a hospitalisation."
        )
        return leaf(clause_id, Outcome.UNKNOWN, note, (), missing)
    return leaf(
        clause_id,
        Outcome.NOT_MET,
        "No current inpatient encounter: the member is not shown as hospitalised.",
        [_encounter_evidence(e) for e in encounters[:5]],
    )
