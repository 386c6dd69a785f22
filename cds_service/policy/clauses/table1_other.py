"""table1.other: another FDA-labeled indication, or one supported by DrugDex 1/2a, AHFS or NCCN 1/2a."""

from __future__ import annotations

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome


def evaluate(case: CaseFacts, policy: Policy, indication: str, ev: list[Evidence]) -> ClauseResult:
    """The indication table says which indications the allowed compendia support (`compendia: true`).

    Where the support is for a particular use only (NCCN: a line of therapy or a refractory setting,
    `compendia_use` in the data), the diagnosis alone does not show it: the use is asked for.
    """
    spec = policy.indication(indication)
    cid = spec["clause"]
    if not (spec.get("compendia") or spec.get("fda_labeled")):
        return leaf(cid, Outcome.NOT_MET, f"{spec['label']} is neither FDA-labeled nor compendia-supported.", ev)
    use = spec.get("compendia_use")
    if not use:
        return leaf(cid, Outcome.MET,
                    f"{spec['label']} is supported by the allowed compendia (AHFS, DrugDex 1/2a, NCCN 1/2a).", ev)
    return leaf(cid, Outcome.UNKNOWN,
                f"{spec['label']} is compendia-supported for a particular use only: {use}.", ev,
                [Missing(f"Chart notes showing the compendia-supported use for {spec['label']}: {use}",
                         Need.CLINICAL_DOC)])
