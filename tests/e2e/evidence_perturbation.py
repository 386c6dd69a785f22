"""Helpers of the evidence-removal property test (test_evidence_removal.py): which pieces of a request a covered
explanation cites, how to remove or negate one piece, and whether a clause is still satisfied by another record.

A *piece* is an evidence reference of `POST /explain`: `Type/id` (the whole resource) or `Type/id.path` (one part of
it, e.g. `MedicationRequest/x.reasonCode[0]`, `MedicationRequest/x.note[0]`; a path is dot-separated fields, each
optionally indexed).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.e2e.helpers import walk

# ---------------------------------------------------------------------------------------------------------------
# References and the request's resources

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Piece:
    """One evidence reference: the resource `Type/id` and the path of the part cited (empty: the whole)."""

    rtype: str
    rid: str
    path: tuple[tuple[str, int | None], ...] = ()

    @property
    def base(self) -> str:
        return f"{self.rtype}/{self.rid}"

    def __str__(self) -> str:
        return self.base + "".join(f".{f}" + (f"[{i}]" if i is not None else "") for f, i in self.path)

    def covers(self, other: Piece) -> bool:
        """True when perturbing self also touches `other` (same resource, and other's part is within self's)."""
        return self.base == other.base and other.path[: len(self.path)] == self.path


def parse_piece(ref: str, known_ids: set[str]) -> Piece | None:
    """The piece named by an evidence reference, or None when it names no resource of the request.

    Resource ids may contain dots, so the longest `Type/id` prefix that is a resource of the request wins and the
    rest is the path."""
    if "/" not in ref:
        return None
    rtype, _rest = ref.split("/", 1)
    candidates = [i for i in known_ids if i.startswith(rtype + "/") and (ref == i or ref.startswith(i + "."))]
    if not candidates:
        return None
    base = max(candidates, key=len)
    tail = ref[len(base) :]
    path: list[tuple[str, int | None]] = []
    for seg in filter(None, tail.split(".")):
        m = _SEGMENT.match(seg)
        if not m:
            return None
        path.append((m.group(1), int(m.group(2)) if m.group(2) is not None else None))
    return Piece(rtype, base.split("/", 1)[1], tuple(path))


def _bundles(req: dict) -> Iterator[tuple[str, dict]]:
    """(where, Bundle) for every Bundle of the request: prefetch values and context resources (draftOrders)."""
    for key, val in (req.get("prefetch") or {}).items():
        if isinstance(val, dict) and val.get("resourceType") == "Bundle":
            yield f"prefetch.{key}", val
    for key, val in (req.get("context") or {}).items():
        if isinstance(val, dict) and val.get("resourceType") == "Bundle":
            yield f"context.{key}", val


def resources(req: dict) -> Iterator[tuple[str, dict]]:
    """(where, resource) for every resource of the request, every occurrence (a PractitionerRole may be both the
    `user` prefetch and an entry of `userRoles`)."""
    for key, val in (req.get("prefetch") or {}).items():
        if isinstance(val, dict) and val.get("resourceType") not in (None, "Bundle"):
            yield f"prefetch.{key}", val
    for where, bundle in _bundles(req):
        for entry in bundle.get("entry") or []:
            res = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(res, dict) and res.get("resourceType"):
                yield where, res


def resource_ids(req: dict) -> set[str]:
    return {f"{r['resourceType']}/{r.get('id')}" for _, r in resources(req) if r.get("id")}


def draft_ids(req: dict) -> set[str]:
    bundle = (req.get("context") or {}).get("draftOrders") or {}
    return {
        f"{e['resource']['resourceType']}/{e['resource'].get('id')}"
        for e in bundle.get("entry") or []
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    }


def occurrences(req: dict, base: str) -> list[dict]:
    return [r for _, r in resources(req) if f"{r['resourceType']}/{r.get('id')}" == base]


_MISSING = object()


def resolve(resource: dict, path) -> object:
    """The element at `path` in the resource, or _MISSING."""
    cur: object = resource
    for field, index in path:
        if not isinstance(cur, dict) or field not in cur:
            return _MISSING
        cur = cur[field]
        if index is not None:
            if not isinstance(cur, list) or index >= len(cur):
                return _MISSING
            cur = cur[index]
    return cur


def present(req: dict, piece: Piece) -> bool:
    """The piece is in the request (the resource, and the cited part of it)."""
    return any(resolve(r, piece.path) is not _MISSING for r in occurrences(req, piece.base))


# ---------------------------------------------------------------------------------------------------------------
# Perturbations


class NotApplicable(Exception):
    """This perturbation does not apply to this piece (for example: a negation of a coded reason)."""


def remove(req: dict, piece: Piece, drafts: set[str]) -> tuple[dict, str]:
    """REMOVE: the whole resource leaves the prefetch (every occurrence; a searchset's `total` follows), or, for a
    part, that element leaves the resource. The draft order itself is never removed, only cited parts of it."""
    out = copy.deepcopy(req)
    if not piece.path:
        if piece.base in drafts:
            raise NotApplicable("the draft order itself is not removed (only cited parts of it)")
        done = 0
        prefetch = out.get("prefetch") or {}
        for key in list(prefetch):
            val = prefetch[key]
            if isinstance(val, dict) and f"{val.get('resourceType')}/{val.get('id')}" == piece.base:
                del prefetch[key]  # as if the EHR had not prefetched it (fhirServer reads are refused)
                done += 1
        for _, bundle in _bundles(out):
            entries = bundle.get("entry") or []
            keep = [
                e
                for e in entries
                if not (
                    isinstance(e, dict)
                    and isinstance(e.get("resource"), dict)
                    and f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}" == piece.base
                )
            ]
            if len(keep) != len(entries):
                done += len(entries) - len(keep)
                bundle["entry"] = keep
                if isinstance(bundle.get("total"), int):
                    bundle["total"] = max(0, bundle["total"] - (len(entries) - len(keep)))
        assert done, f"{piece}: not found in the request"
        return out, "removed from the request"
    done = 0
    for res in occurrences(out, piece.base):
        parent = resolve(res, piece.path[:-1])
        field, index = piece.path[-1]
        if not isinstance(parent, dict) or field not in parent:
            continue
        if index is None:
            del parent[field]
        else:
            seq = parent[field]
            if not isinstance(seq, list) or index >= len(seq):
                continue
            del seq[index]
            if not seq:
                del parent[field]
        done += 1
    assert done, f"{piece}: element not found in the request"
    return out, "element removed from the resource"


def _status(value: str) -> Callable[[dict], None]:
    def apply(res: dict) -> None:
        res["status"] = value

    return apply


def _verification(code: str) -> Callable[[dict], None]:
    def apply(res: dict) -> None:
        system = (
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
            if res["resourceType"] == "AllergyIntolerance"
            else "http://terminology.hl7.org/CodeSystem/condition-ver-status"
        )
        res["verificationStatus"] = {"coding": [{"system": system, "code": code}], "text": code}

    return apply


def _no_specialty(res: dict) -> None:
    if "specialty" not in res:
        raise NotApplicable("the PractitionerRole has no specialty to remove")
    del res["specialty"]


def _claim_denied(res: dict) -> None:
    res["outcome"] = "error"
    res["disposition"] = "Denied"


# The resource-kind-aware negations, one place: resourceType -> [(name, what it does, how)].
# An Observation with a qualitative result gets a second one: its value and interpretation say "negative".
NEGATIONS: dict[str, list[tuple[str, str, Callable[[dict], None]]]] = {
    "Condition": [("negate", "verificationStatus refuted", _verification("refuted"))],
    "AllergyIntolerance": [("negate", "verificationStatus refuted", _verification("refuted"))],
    "MedicationStatement": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "MedicationRequest": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "MedicationDispense": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "MedicationAdministration": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "Immunization": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "Procedure": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "DocumentReference": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "Observation": [("negate", "status entered-in-error", _status("entered-in-error"))],
    "PractitionerRole": [("negate", "specialty removed", _no_specialty)],
    "Coverage": [("negate", "status cancelled", _status("cancelled"))],
    "Encounter": [("negate", "status cancelled", _status("cancelled"))],
    "ClaimResponse": [("negate", 'outcome error, disposition "Denied"', _claim_denied)],
}
NEGATIVE = {
    "coding": [{"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}],
    "text": "Negative",
}
NEG_INTERPRETATION = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": "NEG",
                "display": "Negative",
            }
        ],
        "text": "Negative",
    }
]
NOTE_NEGATION = "Not confirmed: no "


def negate_text(text: str) -> str:
    """Every sentence of a note prefixed with NOTE_NEGATION: prefixing only the first would leave the others
    standing (a note's second sentence may be the very statement a clause cites)."""
    sentences = re.split(r"(?<=[.;!?])\s+", text.strip())
    return " ".join(NOTE_NEGATION + s for s in sentences if s)


def _negate_value(res: dict) -> None:
    if "valueCodeableConcept" in res:
        res["valueCodeableConcept"] = copy.deepcopy(NEGATIVE)
    elif "valueBoolean" in res:
        res["valueBoolean"] = not res["valueBoolean"]
    elif "valueString" in res:
        res["valueString"] = negate_text(res["valueString"])
    else:
        raise NotApplicable("not a qualitative result")
    res["interpretation"] = copy.deepcopy(NEG_INTERPRETATION)


def negations(req: dict, piece: Piece, drafts: set[str]) -> list[tuple[str, str]]:
    """(name, description) of the negations that apply to this piece."""
    if piece.path:
        field = piece.path[-1][0]
        if field == "note" or isinstance(_first(req, piece), str):
            return [("negate", f"every sentence prefixed with {NOTE_NEGATION!r}")]
        return []  # a coded part (reasonCode, dosage, ...) has no negation but its removal
    if piece.base in drafts:
        return []  # the draft order is what is being decided; it is not negated
    out = [(name, desc) for name, desc, _ in NEGATIONS.get(piece.rtype, [])]
    if piece.rtype == "Observation" and any(
        k in r for r in occurrences(req, piece.base) for k in ("valueCodeableConcept", "valueBoolean", "valueString")
    ):
        out.append(("negate-value", "qualitative value and interpretation Negative"))
    return out


def _first(req: dict, piece: Piece) -> object:
    for r in occurrences(req, piece.base):
        val = resolve(r, piece.path)
        if val is not _MISSING:
            return val
    return _MISSING


def negate(req: dict, piece: Piece, name: str) -> dict:
    out = copy.deepcopy(req)
    done = 0
    for res in occurrences(out, piece.base):
        if piece.path:
            parent = resolve(res, piece.path[:-1])
            field, index = piece.path[-1]
            target = resolve(res, piece.path)
            if target is _MISSING:
                continue
            if isinstance(target, dict) and isinstance(target.get("text"), str):  # an Annotation
                target["text"] = negate_text(target["text"])
            elif isinstance(target, str):
                if index is None:
                    parent[field] = negate_text(target)
                else:
                    parent[field][index] = negate_text(target)
            else:
                raise NotApplicable(f"{piece}: no text to negate")
        elif name == "negate-value":
            _negate_value(res)
        else:
            [(_, _, how)] = [n for n in NEGATIONS[piece.rtype] if n[0] == name]
            how(res)
        done += 1
    assert done, f"{piece}: not found in the request"
    return out


def perturbations(req: dict, unit: tuple[Piece, ...], drafts: set[str]) -> Iterator[tuple[str, str, dict]]:
    """(name, description, perturbed request) for one unit: a single piece (remove, then each negation that
    applies) or a course of several records (all removed; all negated)."""
    if len(unit) == 1:
        [piece] = unit
        try:
            new, desc = remove(req, piece, drafts)
            yield "remove", desc, new
        except NotApplicable:
            pass
        for name, desc in negations(req, piece, drafts):
            with contextlib.suppress(NotApplicable):
                yield name, desc, negate(req, piece, name)
        return
    try:
        new = req
        for piece in unit:
            new, _ = remove(new, piece, drafts)
        yield "remove-course", "every record of the course removed from the request", new
        new, descs = req, []
        for piece in unit:
            names = [(n, d) for n, d in negations(req, piece, drafts) if n == "negate"]
            if not names:
                return
            new = negate(new, piece, "negate")
            descs.append(f"{piece.rtype} {names[0][1]}")
        yield "negate-course", "every record of the course negated (" + "; ".join(sorted(set(descs))) + ")", new
    except NotApplicable:
        return  # a course that includes the draft order: its other records are tested one by one


# ---------------------------------------------------------------------------------------------------------------
# Reading an explanation


def order_nodes(order: dict) -> dict:
    return {top["clause"]: top for top in order["clauses"]}


@dataclass(frozen=True)
class Citation:
    """A MET clause of a coverage group citing a piece: the clause path from its group, and the evidence entry."""

    path: tuple[str, ...]
    piece: Piece
    description: str
    date: str | None


def citations(order: dict, known_ids: set[str]) -> list[Citation]:
    """Every reference a MET clause of a coverage group (`coverageGroups`) cites in its own evidence, where the
    reference names a resource of the request. Information groups (reminders, billing notes, the approval
    duration, the pathway not applied) never decide coverage and are left out."""
    out = []
    groups = set(order.get("coverageGroups") or ())
    assert groups, "the explanation names no coverage groups"

    def visit(node: dict, path: tuple[str, ...]) -> None:
        path = (*path, node["clause"])
        if node["outcome"] == "met":
            for ev in node.get("evidence") or []:
                ref = ev.get("reference")
                piece = parse_piece(ref, known_ids) if ref else None
                if piece is not None:
                    out.append(Citation(path, piece, ev.get("description") or "", ev.get("date")))
        for child in node.get("children") or []:
            visit(child, path)

    for top in order["clauses"]:
        if top["clause"] in groups:
            visit(top, ())
    return out


# "Enbrel (etanercept) 50 mg/mL SureClick autoinjector (statement, stopped): Inadequate response": the product, then
# the kind of medication record. A statement, a request, a dispense and an administration of the same product from
# the same date, cited by the same clause, are one course of therapy told by several records.
_RECORD_KIND = re.compile(r" \((?:statement|request|dispense|administration)\b.*$", re.S)


def courses(cites: list[Citation]) -> list[tuple[Piece, ...]]:
    """Groups of two or more whole medication records that one clause cites for the same course of therapy (same
    product, same start date): removing one record of a course while its twin stays tests nothing about the
    course itself, so the course is also perturbed as a whole."""
    groups: dict[tuple, list[Piece]] = {}
    for c in cites:
        if c.piece.path or not c.date or not _RECORD_KIND.search(c.description):
            continue
        key = (c.path, c.date, _RECORD_KIND.sub("", c.description).strip().lower())
        if c.piece not in groups.setdefault(key, []):
            groups[key].append(c.piece)
    out: list[tuple[Piece, ...]] = []
    for pieces in groups.values():
        unit = tuple(sorted(pieces, key=str))
        if len(unit) > 1 and unit not in out:
            out.append(unit)
    return out


def _refs(node: dict, deep: bool) -> list[str]:
    nodes = [n for n in walk(node) if n["outcome"] == "met"] if deep else [node]
    return [ev["reference"] for n in nodes for ev in n.get("evidence") or [] if ev.get("reference")]


def _alternatives(refs: list[str], req: dict, perturbed: tuple[Piece, ...]) -> list[str]:
    """References that name a part of the perturbed request untouched by the perturbation (the alternative must be
    there: a record that is no longer in the chart cannot satisfy anything)."""
    ids = resource_ids(req)
    out = []
    for ref in refs:
        piece = parse_piece(ref, ids)
        if piece is None or any(p.covers(piece) for p in perturbed):
            continue
        if present(req, piece) and ref not in out:
            out.append(ref)
    return out


def _some(refs: list[str]) -> str:
    return ", ".join(refs[:4]) + (" ..." if len(refs) > 4 else "")


def node_at(order: dict | None, path: tuple[str, ...]) -> dict | None:
    if order is None:
        return None
    node = order_nodes(order).get(path[0])
    for cid in path[1:]:
        node = next((c for c in (node or {}).get("children") or [] if c["clause"] == cid), None)
    return node


def still_cited(order: dict, path: tuple[str, ...], perturbed: tuple[Piece, ...], req: dict) -> list[str]:
    """The perturbed pieces that the clause at `path`, still MET, cites in its own evidence. After a negation
    (refuted, entered-in-error, "Not confirmed: no ...") a met clause citing the record counts what the chart now
    says is not so."""
    node = node_at(order, path)
    if node is None or node["outcome"] != "met":
        return []
    ids = resource_ids(req)
    out = []
    for ref in _refs(node, deep=False):
        piece = parse_piece(ref, ids)
        if piece is not None and any(p.covers(piece) for p in perturbed) and ref not in out:
            out.append(ref)
    return out


def still_satisfied(order: dict, path: tuple[str, ...], perturbed: tuple[Piece, ...], req: dict) -> str | None:
    """Why the clause at `path` (which cited a perturbed piece before) is still satisfied by another record of `req`
    in the new explanation `order`, or None.

    - The clause itself is still MET and its own evidence cites another reference present in the request; or
    - it is no longer MET, but its nearest MET ancestor is an ANY/ONE node with another MET child whose evidence
      (its own or its MET descendants') cites a reference present in the request: the guideline's alternative
      ("ONE of a to e") is satisfied by another record; or
    - the pathway changed (continuation <-> initiation) and the coverage group now deciding is MET citing records
      present in the request.
    An ALL ancestor that stays MET while the clause is not is never an explanation: that is the bug looked for."""
    tops = order_nodes(order)
    root = tops.get(path[0])
    groups = set(order.get("coverageGroups") or ())
    if root is None or path[0] not in groups:
        pathway_groups = {"initiation", "continuation"}
        if path[0] in pathway_groups:
            now = [g for g in groups & pathway_groups if g in tops]
            if now and tops[now[0]]["outcome"] == "met":
                alts = _alternatives(_refs(tops[now[0]], deep=True), req, perturbed)
                if alts:
                    return f"the pathway is now {now[0]} (met), citing {_some(alts)}"
        return None
    chain = [root]
    for cid in path[1:]:
        nxt = next((c for c in chain[-1].get("children") or [] if c["clause"] == cid), None)
        if nxt is None:
            break
        chain.append(nxt)
    whole = len(chain) == len(path)
    if whole and chain[-1]["outcome"] == "met":
        alts = _alternatives(_refs(chain[-1], deep=False), req, perturbed)
        return f"{path[-1]} still met, citing {_some(alts)}" if alts else None
    for depth in range(len(chain) - (2 if whole else 1), -1, -1):
        node = chain[depth]
        if node["outcome"] != "met":
            continue
        if node.get("combinator") not in ("ANY", "ONE"):
            return None
        on_path = chain[depth + 1]["clause"] if depth + 1 < len(chain) else None
        for sib in node.get("children") or []:
            if sib["clause"] == on_path or sib["outcome"] != "met":
                continue
            alts = _alternatives(_refs(sib, deep=True), req, perturbed)
            if alts:
                return (
                    f"{path[-1]} is now {chain[-1]['outcome'] if whole else 'absent'}, but {node['clause']} "
                    f"({node['combinator']}) is met by {sib['clause']}, citing {_some(alts)}"
                )
        return None
    return None
