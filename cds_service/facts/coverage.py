"""The member's coverage and the plan program it belongs to (program exceptions).

Guideline, PROGRAM EXCEPTIONS: "Federal Employee Program (FEP): Follow FEP guidelines. State Account
Organization (SAO): Follow SAO guidelines. Medicare Advantage Products: No National Coverage Determination
(NCD) and/or Local Coverage Determination (LCD) were found ... Medicare Part D: Florida Blue has delegated to
Prime Therapeutics authority to make coverage determinations for the Medicare Part D services ..."

The program is read from everything the Coverage says about itself: Coverage.type (Source of Payment
Typology and v3 ActCode codes, displays, text), every Coverage.class (plan, subplan, group, rxgroup ...: its
name and value) and the payor's name. The recognisers are data (`terminology/plan_records.json`,
section `programs`), not literals here: this module only finds the signals and applies them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .fhir_json import codings, concept_text, dicts, ref_of, reference
from .memo import ConceptMemo
from .model import CoverageFacts

_DATA_FILE = Path(__file__).with_name("terminology") / "plan_records.json"


@lru_cache(maxsize=1)
def plan_records() -> dict[str, Any]:
    with _DATA_FILE.open(encoding="utf-8") as fh:
        records: dict[str, Any] = json.load(fh)
    return records


@lru_cache(maxsize=1)
def _compiled() -> dict[str, list[re.Pattern[str]]]:
    signals = plan_records()["programs"]["signals"]
    return {k: [re.compile(p, re.I) for p in v.get("patterns", ())] for k, v in signals.items()}


def _texts(cov: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) for every human-readable thing the Coverage says about its plan."""
    out: list[tuple[str, str]] = []
    t = concept_text(cov.get("type"))
    if t:
        out.append(("Coverage.type", t))
    for cl in dicts(cov.get("class")):
        kind = (
            next((c.code for c in codings(cl.get("type")) if c.code), None) or concept_text(cl.get("type")) or "class"
        )
        for key in ("name", "value"):
            if isinstance(cl.get(key), str) and cl[key].strip():
                out.append((f"Coverage.class {kind} {key}", cl[key]))
    for p in dicts(cov.get("payor")):
        if isinstance(p.get("display"), str) and p["display"].strip():
            out.append(("Coverage.payor", p["display"]))
    return out


def _signals(cov: dict[str, Any]) -> dict[str, list[str]]:
    """Signal name -> the evidence for it (what was found where)."""
    spec = plan_records()["programs"]
    sopt_systems, act_systems = set(spec["sopt_systems"]), set(spec["actcode_systems"])
    found: dict[str, list[str]] = {}
    type_codes = codings(cov.get("type"))
    for name, sig in spec["signals"].items():
        label = sig.get("label", name)
        for c in type_codes:
            code = (c.code or "").strip()
            if not code:
                continue
            if c.system in sopt_systems and any(code.startswith(p) for p in sig.get("sopt", ())):
                found.setdefault(name, []).append(
                    f"Coverage.type SOPT {code}" + (f" ({c.display})" if c.display else "") + f": {label}"
                )
            if c.system in act_systems and code.upper() in sig.get("actcode", ()):
                found.setdefault(name, []).append(f"Coverage.type ActCode {code}: {label}")
    patterns = _compiled()
    for where, text in _texts(cov):
        for name, pats in patterns.items():
            for pat in pats:
                m = pat.search(text)
                if m:
                    label = spec["signals"][name].get("label", name)
                    found.setdefault(name, []).append(f"{where} '{text}' ('{m.group(0)}'): {label}")
                    break
    return found


def recognise_programs(cov: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Every program the Coverage belongs to by the recognisers, in the data's order of precedence,
    with the evidence for each."""
    spec = plan_records()["programs"]
    signals = _signals(cov)
    programs: list[str] = []
    evidence: dict[str, list[str]] = {}
    for key in spec["order"]:
        rec = spec["recognisers"].get(key, {})
        if any(u in programs for u in rec.get("unless", ())):
            continue
        ev: list[str] = []
        for sig in rec.get("any", ()):
            ev.extend(signals.get(sig, ()))
        for combo in rec.get("all", ()):
            if all(s in signals for s in combo):
                for s in combo:
                    ev.extend(e for e in signals[s] if e not in ev)
        if ev:
            programs.append(key)
            evidence[key] = list(dict.fromkeys(ev))
    return programs, evidence


def _program_of(plan_parts: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    programs, evidence = recognise_programs(plan_parts)
    if not programs:
        default = plan_records()["programs"]["default"]
        return (
            default,
            (default,),
            ("no program exception found on the Coverage: the plan's commercial line of business",),
        )
    member = programs[0]
    ev = [f"program {member}: {e}" for e in evidence[member]]
    for other in programs[1:]:
        ev.extend(f"also {other}: {e}" for e in evidence[other])
    return member, tuple(programs), tuple(ev)


_program_memo = ConceptMemo(_program_of)  # the same plan on every call of a member: recognised once


def _program(cov: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The program from what the Coverage says about its plan (type, class, payor): memoised on those parts."""
    return _program_memo({k: cov.get(k) for k in ("type", "class", "payor")})


def read_coverage(coverages: list[dict[str, Any]], hasher: Callable[[str], str]) -> CoverageFacts:
    active = [c for c in coverages if c.get("status") in ("active", None)]
    if not active:
        return CoverageFacts(present=False, program=None, count=0)
    # Several active coverages: the one with the lowest order (primary) wins.
    active.sort(key=lambda c: order if isinstance(order := c.get("order"), int) else 99)
    cov = active[0]
    program, programs, evidence = _program(cov)
    member = (
        cov.get("subscriberId") if isinstance(cov.get("subscriberId"), str) and cov["subscriberId"].strip() else None
    )
    if member is None:
        for ident in dicts(cov.get("identifier")):
            if isinstance(ident.get("value"), str) and ident["value"].strip():
                member = ident["value"]
                break
    payor = None
    for p in dicts(cov.get("payor")):
        payor = p.get("display") if isinstance(p.get("display"), str) else reference(p)
        break
    return CoverageFacts(
        present=True,
        program=program,
        source=ref_of(cov),
        payor=payor,
        member_ref=hasher(member) if member else None,
        evidence=tuple(evidence),
        count=len(active),
        programs=programs,
    )
