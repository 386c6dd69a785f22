"""The vocabulary of a coverage decision: three-valued clause outcomes with their evidence.

Nothing here knows about FHIR or HTTP. A clause evaluator looks at the typed facts
(`cds_service.facts.model`) and returns a `ClauseResult`; combinators (`logic.py`) fold
results the way the guideline's ALL / ANY / ONE read; the engine turns the tree into a
`Decision` that the respond layer renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from ..frozen_dataclass_init import fast_init


class Outcome(str, Enum):
    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"


class Need(str, Enum):
    """What kind of thing would settle an UNKNOWN clause (feeds CRD doc-needed / info-needed)."""

    CLINICAL_DOC = "clinical"  # chart notes / medical records (doc-needed=clinical)
    ADMIN_DOC = "admin"  # an attestation or form from the prescriber (doc-needed=admin)
    INFO = "info"  # a data element the order or chart lacks (info-needed)


@fast_init
@dataclass(frozen=True)
class Evidence:
    """One thing a clause looked at: where it came from and what it said."""

    description: str
    reference: str | None = None  # e.g. "Observation/wt-1" (never a business identifier)
    value: str | None = None  # e.g. "23.1 kg"
    date: str | None = None  # ISO date of the fact

    def to_json(self) -> dict[str, str]:
        out = {"description": self.description}
        if self.reference:
            out["reference"] = self.reference
        if self.value:
            out["value"] = self.value
        if self.date:
            out["date"] = self.date
        return out


@fast_init
@dataclass(frozen=True)
class Missing:
    """What would decide an UNKNOWN clause."""

    text: str
    need: Need = Need.CLINICAL_DOC
    info_code: str = "OTH"  # CRD info-needed code when need is INFO

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "need": self.need.value, "infoCode": self.info_code}


@fast_init
@dataclass(frozen=True)
class ClauseResult:
    clause_id: str
    outcome: Outcome
    evidence: tuple[Evidence, ...] = ()
    missing: tuple[Missing, ...] = ()
    note: str = ""  # one human sentence on why
    combinator: str | None = None  # "ALL" / "ANY" / "ONE" when composite
    children: tuple[ClauseResult, ...] = ()
    text: str = ""  # the clause's text from the clause map (filled by the engine)

    @property
    def met(self) -> bool:
        return self.outcome is Outcome.MET

    def walk(self) -> Iterator[ClauseResult]:
        """This node and every node below it, pre-order (one loop, not a generator per level)."""
        stack = [self]
        pop, extend = stack.pop, stack.extend
        while stack:
            node = pop()
            yield node
            children = node.children
            if children:
                extend(reversed(children))

    def find(self, clause_id: str) -> ClauseResult | None:
        """The first node (pre-order) with this id; the index of the nodes below is built once per
        (immutable) tree. It holds descendants only, so a tree never refers to itself and is freed
        as soon as it is dropped (no work left for the cyclic collector)."""
        if clause_id == self.clause_id:
            return self
        index: dict[str, ClauseResult] | None = self.__dict__.get("_index")
        if index is None:
            index = {}
            for child in self.children:
                for node in child.walk():
                    index.setdefault(node.clause_id, node)
            object.__setattr__(self, "_index", index)
        return index.get(clause_id)

    def pending(self) -> Iterator[ClauseResult]:
        """The UNKNOWN / NOT_MET leaves that keep this node from being met.

        A subtree that is MET or NOT_APPLICABLE is settled: its unknown alternatives (an ANY with a met
        option) ask for nothing. Everything else is walked, so an unmet ALL still lists what is unknown.
        """
        if self.outcome in (Outcome.MET, Outcome.NOT_APPLICABLE):
            return
        if not self.children:
            yield self
            return
        for child in self.children:
            yield from child.pending()

    def blocking(self) -> Iterator[ClauseResult]:
        """The NOT_MET leaves that make this node fail or keep it open.

        Every child of an ALL counts. Under an ANY / ONE that is still UNKNOWN, a failed alternative that is a
        single leaf ("no anakinra in the past 90 days") only says that route is closed and is left out, while a
        failed composite alternative (1.c: Table 1 and age) keeps the reasons it failed."""
        if self.outcome in (Outcome.MET, Outcome.NOT_APPLICABLE):
            return
        if not self.children:
            if self.outcome is Outcome.NOT_MET:
                yield self
            return
        alternatives = self.combinator in ("ANY", "ONE")
        for child in self.children:
            if (
                alternatives
                and self.outcome is Outcome.UNKNOWN
                and child.outcome is Outcome.NOT_MET
                and not child.children
            ):
                continue
            yield from child.blocking()

    def to_json(self, texts: Mapping[str, str] | None = None) -> dict[str, Any]:
        """`texts` supplies the guideline's words for clauses built without them (filled at explain time only)."""
        out: dict[str, Any] = {"clause": self.clause_id, "outcome": self.outcome.value}
        text = self.text or (texts.get(self.clause_id, "") if texts else "")
        if text:
            out["text"] = text
        if self.combinator:
            out["combinator"] = self.combinator
        if self.note:
            out["note"] = self.note
        if self.evidence:
            out["evidence"] = [e.to_json() for e in self.evidence]
        if self.missing:
            out["missing"] = [m.to_json() for m in self.missing]
        if self.children:
            out["children"] = [c.to_json(texts) for c in self.children]
        return out


class Determination(str, Enum):
    COVERED = "covered"
    NOT_COVERED = "not-covered"
    CONDITIONAL = "conditional"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True)
class Finding:
    """Something a clinician should act on, derived from the clause tree.

    `kind` names the card it becomes (site-of-care, combination, dose, step-therapy,
    renal, ...). `clause_ids` are the leaves it rests on. `data` carries what the respond
    layer needs to build suggestions (e.g. the id of a conflicting draft order).
    """

    kind: str
    severity: str  # info | warning | critical
    summary: str
    detail: str
    clause_ids: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The decision for one anakinra order."""

    order_id: str
    order_label: str
    determination: Determination
    pa_needed: str | None  # CRD pa-needed code, None when not-covered
    tree: tuple[ClauseResult, ...]  # top-level results (position, initiation/continuation, dosage, ...)
    findings: tuple[Finding, ...]
    policy_id: str
    policy_revision: str
    pathway: str  # "initiation" | "continuation"
    indication: str | None = None  # indication key from the policy data
    reasons: tuple[str, ...] = ()  # short texts for the coverage-information reason
    program: str | None = None  # program key when a program exception applies
    approval_months: int | None = None
    as_of: date | None = None
    existing_authorization: str | None = None  # satisfied-pa-id of a current plan approval
    readings: tuple[str, ...] = ()  # keys of the policy's readings applied to this order
    reading_texts: tuple[str, ...] = ()  # their texts, as the cards and coverage information state them
    policy_effective: str | None = None
    coverage_groups: tuple[str, ...] = ()  # top-level groups whose outcome decides coverage
    texts: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # clause id -> guideline text

    def coverage_tree(self) -> tuple[ClauseResult, ...]:
        """The top-level groups that decide coverage (reminders, billing notes and the trace of the
        pathway not applied are left out)."""
        if not self.coverage_groups:
            return self.tree
        return tuple(t for t in self.tree if t.clause_id in self.coverage_groups)

    @property
    def missing(self) -> tuple[Missing, ...]:
        seen: dict[str, Missing] = {}
        for top in self.coverage_tree():
            for node in top.pending():
                if node.outcome is Outcome.UNKNOWN:
                    for m in node.missing:
                        seen.setdefault(m.text, m)
        return tuple(seen.values())

    def cited_clauses(self) -> tuple[str, ...]:
        ids: list[str] = []
        for f in self.findings:
            for cid in f.clause_ids:
                if cid not in ids:
                    ids.append(cid)
        return tuple(ids)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order": self.order_id,
            "orderLabel": self.order_label,
            "determination": self.determination.value,
            "pathway": self.pathway,
            "policy": {
                "id": self.policy_id,
                "revision": self.policy_revision,
                **({"effective": self.policy_effective} if self.policy_effective else {}),
            },
            "clauses": [t.to_json(self.texts) for t in self.tree],
            "findings": [
                {"kind": f.kind, "severity": f.severity, "summary": f.summary, "clauses": list(f.clause_ids)}
                for f in self.findings
            ],
        }
        if self.pa_needed:
            out["paNeeded"] = self.pa_needed
        if self.indication:
            out["indication"] = self.indication
        if self.program:
            out["program"] = self.program
        if self.reasons:
            out["reasons"] = list(self.reasons)
        if self.approval_months:
            out["approvalMonths"] = self.approval_months
        if self.readings:
            out["readings"] = [{"key": k, "text": t} for k, t in zip(self.readings, self.reading_texts, strict=True)]
        if self.coverage_groups:
            out["coverageGroups"] = list(self.coverage_groups)
        if self.as_of:
            out["asOf"] = self.as_of.isoformat()
        missing = self.missing
        if missing:
            out["missing"] = [m.to_json() for m in missing]
        return out
