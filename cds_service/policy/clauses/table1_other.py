"""Table 1 criteria for MIS-C, COVID-19 (EUA) and the other compendia-supported indications."""

from __future__ import annotations

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome


def evaluate_indication(case: CaseFacts, policy: Policy, indication: str, ev: list[Evidence]) -> ClauseResult:
    spec = policy.indication(indication)
    if spec["clause"] == "table1.other":
        return leaf("table1.other", Outcome.MET,
                    f"{spec['label']} is supported by the allowed compendia (AHFS, DrugDex 1/2a, NCCN 1/2a).", ev)
    # MIS-C and COVID-19 criteria: evaluated in full by the policy issue; until then documentation is required.
    return leaf(spec["clause"], Outcome.UNKNOWN, f"The criteria for {spec['label']} need documentation.", ev,
                [Missing(f"Documentation of each criterion for {spec['label']}", Need.CLINICAL_DOC)])
