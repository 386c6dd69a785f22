"""What a plan approval on file vouches for, and when an order stays within it.

An approval vouches for the pathway's criteria as they were assessed (diagnosis, step therapy,
previous approval, response, specialist) for the indication it was given for, never for the
member's current state or the order in hand. So:
- the order must be for that same indication (a COVID-19 course approved for a week says nothing of
  rheumatoid arthritis), and an approval that names no indication vouches for none;
- every coverage group other than the pathway's criteria (site of care, dosage, precautions such as
  an active serious infection, the program) must be met or not applicable, and so must the
  order-level clauses within the criteria: contraindications, combinations, the dose and quantity.
"""

from __future__ import annotations

from .model import Decision, Outcome

ORDER_CLAUSES = ("initiation.3", "initiation.4", "initiation.5", "continuation.4", "continuation.5",
                 "continuation.6", "table1.covid-19.6")
_SETTLED = (Outcome.MET, Outcome.NOT_APPLICABLE)


def order_within_approval(decision: Decision, approved_indication: str | None) -> bool:
    """True when a current approval given for `approved_indication` can answer for this order
    (see the module doc)."""
    if approved_indication is None or approved_indication != decision.indication:
        return False
    for top in decision.coverage_tree():
        if top.clause_id != decision.pathway:
            if top.outcome not in _SETTLED:
                return False
            continue
        for cid in ORDER_CLAUSES:
            node = top.find(cid)
            if node is not None and node.outcome not in _SETTLED:
                return False
    return True
