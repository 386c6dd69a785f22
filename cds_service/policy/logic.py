"""Kleene three-valued combinators for the guideline's ALL / ANY / ONE.

NOT_APPLICABLE children are ignored. A combinator with only NOT_APPLICABLE children is
itself NOT_APPLICABLE.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import ClauseResult, Evidence, Missing, Outcome


def fold_all(outcomes: Iterable[Outcome]) -> Outcome:
    seen = [o for o in outcomes if o is not Outcome.NOT_APPLICABLE]
    if not seen:
        return Outcome.NOT_APPLICABLE
    if Outcome.NOT_MET in seen:
        return Outcome.NOT_MET
    if Outcome.UNKNOWN in seen:
        return Outcome.UNKNOWN
    return Outcome.MET


def fold_any(outcomes: Iterable[Outcome]) -> Outcome:
    seen = [o for o in outcomes if o is not Outcome.NOT_APPLICABLE]
    if not seen:
        return Outcome.NOT_APPLICABLE
    if Outcome.MET in seen:
        return Outcome.MET
    if Outcome.UNKNOWN in seen:
        return Outcome.UNKNOWN
    return Outcome.NOT_MET


def all_of(
    clause_id: str,
    children: Iterable[ClauseResult],
    note: str = "",
    evidence: tuple[Evidence, ...] = (),
    missing: tuple[Missing, ...] = (),
) -> ClauseResult:
    kids = tuple(children)
    return ClauseResult(clause_id, fold_all(c.outcome for c in kids), evidence, missing, note, "ALL", kids)


def any_of(
    clause_id: str,
    children: Iterable[ClauseResult],
    note: str = "",
    evidence: tuple[Evidence, ...] = (),
    missing: tuple[Missing, ...] = (),
) -> ClauseResult:
    kids = tuple(children)
    return ClauseResult(clause_id, fold_any(c.outcome for c in kids), evidence, missing, note, "ANY", kids)


def one_of(
    clause_id: str,
    children: Iterable[ClauseResult],
    note: str = "",
    evidence: tuple[Evidence, ...] = (),
    missing: tuple[Missing, ...] = (),
) -> ClauseResult:
    """The guideline's ONE reads as "at least one" (its options are not exclusive in practice)."""
    kids = tuple(children)
    return ClauseResult(clause_id, fold_any(c.outcome for c in kids), evidence, missing, note, "ONE", kids)


def leaf(
    clause_id: str, outcome: Outcome, note: str = "", evidence: Iterable[Evidence] = (), missing: Iterable[Missing] = ()
) -> ClauseResult:
    return ClauseResult(clause_id, outcome, tuple(evidence), tuple(missing), note)
