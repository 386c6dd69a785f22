"""The member's coverage and the plan program it belongs to (program exceptions)."""

from __future__ import annotations

from typing import Callable

from .fhir_reading import codings, concept_text, dicts, ref_of, reference
from .model import CoverageFacts

SOPT = "urn:oid:2.16.840.1.113883.3.221.5"


def _program(cov: dict) -> tuple[str | None, list[str]]:
    evidence: list[str] = []
    texts = [concept_text(cov.get("type"))]
    for cl in dicts(cov.get("class")):
        for key in ("name", "value"):
            if isinstance(cl.get(key), str):
                texts.append(cl[key])
    for p in dicts(cov.get("payor")):
        if isinstance(p.get("display"), str):
            texts.append(p["display"])
    joined = " ".join(texts).lower()
    if "federal employee" in joined or "(fep)" in joined or " fep " in f" {joined} ":
        evidence.append("plan: Federal Employee Program")
        return "fep", evidence
    if "state account organization" in joined or "(sao)" in joined or " sao " in f" {joined} ":
        evidence.append("plan: State Account Organization")
        return "sao", evidence
    for c in codings(cov.get("type")):
        code = c.code or ""
        if c.system == SOPT:
            if code == "122" or code.startswith("122"):
                evidence.append(f"Coverage.type SOPT {code} (Medicare Part D)")
                return "medicare-part-d", evidence
            if code.startswith("11"):
                evidence.append(f"Coverage.type SOPT {code} (Medicare managed care)")
                return "medicare-advantage", evidence
            if code.startswith("1"):
                evidence.append(f"Coverage.type SOPT {code} (Medicare)")
                return "medicare-other", evidence
            if code.startswith("5") or code.startswith("6"):
                evidence.append(f"Coverage.type SOPT {code} (commercial)")
                return "commercial", evidence
    if "part d" in joined or "prescription drug plan" in joined:
        evidence.append("plan text: Medicare Part D")
        return "medicare-part-d", evidence
    if "medicare advantage" in joined:
        evidence.append("plan text: Medicare Advantage")
        return "medicare-advantage", evidence
    if "medicare" in joined:
        return "medicare-other", ["plan text: Medicare"]
    return "commercial", ["no program exception found on the Coverage: the plan's commercial line of business"]


def read_coverage(coverages: list[dict], hasher: Callable[[str], str]) -> CoverageFacts:
    active = [c for c in coverages if c.get("status") in ("active", None)]
    if not active:
        return CoverageFacts(present=False, program=None, count=0)
    # Several active coverages: the one with the lowest order (primary) wins.
    active.sort(key=lambda c: c.get("order") if isinstance(c.get("order"), int) else 99)
    cov = active[0]
    program, evidence = _program(cov)
    member = cov.get("subscriberId") if isinstance(cov.get("subscriberId"), str) and cov["subscriberId"].strip() else None
    if member is None:
        for ident in dicts(cov.get("identifier")):
            if isinstance(ident.get("value"), str) and ident["value"].strip():
                member = ident["value"]
                break
    payor = None
    for p in dicts(cov.get("payor")):
        payor = p.get("display") if isinstance(p.get("display"), str) else reference(p)
        break
    return CoverageFacts(present=True, program=program, source=ref_of(cov), payor=payor,
                         member_ref=hasher(member) if member else None, evidence=tuple(evidence),
                         count=len(active))
