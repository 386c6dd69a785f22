"""Observations: body weight, renal function, neutrophils, SARS-CoV-2 tests, suPAR."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from . import text_evidence as te
from .fhir_json import codings, concept_text, parse_date, quantity, ref_of, str_or_none, text_or_empty
from .memo import ConceptMemo, text_memo
from .model import LabValue, Weight
from .terminology.codes import observation_kind
from .terminology.loader import data
from .terminology.names import observation_kind_by_name
from .text_statements import header_status

_FINAL = {"final", "amended", "corrected", "preliminary", "registered", None}
_LB_UNITS = {"[lb_av]", "lb", "lbs", "[lb]", "pound", "pounds"}
_POSITIVE_CODES = {"260373001", "10828004", "POS", "DET", "A", "H"}
_NEGATIVE_CODES = {"260415000", "260385009", "NEG", "ND", "N"}


def _obs_date(obs: dict[str, Any]) -> date | None:
    d = parse_date(obs.get("effectiveDateTime")) or parse_date(obs.get("issued"))
    if d is None and isinstance(obs.get("effectivePeriod"), dict):
        d = parse_date(obs["effectivePeriod"].get("start"))
    return d


def _code_kind(code: Any) -> str | None:
    for c in codings(code):
        k = observation_kind(c.system, c.code)
        if k:
            return k
    return observation_kind_by_name(concept_text(code))


_code_kind_memo = ConceptMemo(_code_kind)


def _kind(obs: dict[str, Any]) -> str | None:
    """What an Observation measures (weight, crcl, anc, ...), from its code alone."""
    return _code_kind_memo(obs.get("code"))


def _usable(obs: dict[str, Any], as_of: date) -> bool:
    status = str_or_none(obs.get("status"))
    if status not in _FINAL:
        return False
    d = _obs_date(obs)
    return d is None or d <= as_of


def to_kg(value: float, unit: str | None) -> float | None:
    u = (unit or "").strip()
    low = u.lower()
    if low in ("kg", "kilogram", "kilograms"):
        return value
    if low in ("g", "gram", "grams"):
        return value / 1000.0
    if low in _LB_UNITS:
        return value * 0.45359237
    if low in ("[oz_av]", "oz"):
        return value * 0.028349523125
    return None


def observation_kinds(observations: list[dict[str, Any]]) -> list[str | None]:
    """The kind of each observation (weight, crcl, anc, ...; None: not one the rules read), in order.
    Computed once per call and shared by `latest_weight` and `lab_values`."""
    return [_kind(obs) for obs in observations]


def latest_weight(
    observations: list[dict[str, Any]], as_of: date, kinds: list[str | None] | None = None
) -> Weight | None:
    best: tuple[date, Weight] | None = None
    if kinds is None:
        kinds = observation_kinds(observations)
    for obs, kind in zip(observations, kinds, strict=True):
        if kind != "weight" or not _usable(obs, as_of):
            continue
        v, unit = quantity(obs.get("valueQuantity"))
        if v is None or v <= 0:
            continue
        kg = to_kg(v, unit)
        if kg is None:
            continue
        d = _obs_date(obs)
        w = Weight(kg=round(kg, 3), observed_on=d, source=ref_of(obs), original=f"{v:g} {unit}")
        key = d or date.min
        if best is None or key > best[0]:
            best = (key, w)
    return best[1] if best else None


def _normalise(kind: str, v: float, unit: str | None) -> tuple[float | None, str | None]:
    u = (unit or "").strip()
    low = u.lower()
    if kind == "creatinine_molar" or (kind == "creatinine_mass" and low in ("umol/l", "µmol/l")):
        return v / 88.42, "mg/dL"
    if kind == "creatinine_mass":
        if low in ("mg/dl",):
            return v, "mg/dL"
        if low == "mg/l":
            return v / 10, "mg/dL"
        return None, None
    if kind in ("crcl",):
        if low in ("ml/min", "ml/min/{1.73_m2}", "ml/min/1.73m2"):
            return v, "mL/min"
        return None, None
    if kind == "egfr":
        return v, "mL/min/{1.73_m2}"
    if kind == "anc":
        if low in ("10*3/ul", "10^3/ul", "k/ul", "10*9/l", "10^9/l", "x10e3/ul", "thou/ul"):
            return v, "10*3/uL"
        if low in ("/ul", "cells/ul", "{cells}/ul", "/mm3", "cells/mm3"):
            return v / 1000.0, "10*3/uL"
        return None, None
    return v, u or None


def _qualitative(obs: dict[str, Any]) -> bool | None:
    cc = obs.get("valueCodeableConcept")
    for c in codings(cc):
        if c.code in _POSITIVE_CODES:
            return True
        if c.code in _NEGATIVE_CODES:
            return False
    text = (concept_text(cc) + " " + (text_or_empty(obs.get("valueString")))).lower()
    if any(w in text for w in ("not detected", "negative", "undetected")):
        return False
    if any(w in text for w in ("detected", "positive")):
        return True
    for c in codings(obs.get("interpretation")):
        if c.code in ("POS", "DET", "A"):
            return True
        if c.code in ("NEG", "ND", "N"):
            return False
    return None


# The lab's own flag and reference range are read for the kinds a clause uses them for (a low neutrophil count,
# precautions.neutrophils); elsewhere they would be read on every call for nothing.
_FLAGGED_KINDS = frozenset({"anc"})


def lab_values(
    observations: list[dict[str, Any]], as_of: date, kinds: list[str | None] | None = None
) -> tuple[LabValue, ...]:
    out: list[LabValue] = []
    if kinds is None:
        kinds = observation_kinds(observations)
    for obs, kind in zip(observations, kinds, strict=True):
        if kind is None or kind == "weight" or not _usable(obs, as_of):
            continue
        d = _obs_date(obs)
        src = ref_of(obs)
        if kind == "sars_cov_2":
            pos = _qualitative(obs)
            out.append(LabValue("sars_cov_2", None, None, d, src, pos, concept_text(obs.get("code"))))
            continue
        v, unit = quantity(obs.get("valueQuantity"))
        if v is None:
            continue
        nv, nu = _normalise(kind, v, unit)
        if nv is None:
            continue
        out_kind = "creatinine" if kind.startswith("creatinine") else kind
        out.append(
            LabValue(
                out_kind,
                round(nv, 4),
                nu,
                d,
                src,
                None,
                f"{v:g} {unit or ''}".strip(),
                *((_flag(obs), _reference_low(obs, kind)) if kind in _FLAGGED_KINDS else ()),
            )
        )
    return tuple(out)


def _flag(obs: dict[str, Any]) -> str | None:
    """The lab's own interpretation code (v3 ObservationInterpretation: L, LL, H, HH, N, A ...), if any."""
    for c in codings(obs.get("interpretation")):
        if c.code:
            return c.code.strip()
    return None


def _reference_low(obs: dict[str, Any], kind: str) -> float | None:
    """The lower limit of the first reference range, normalised like the value (None: not stated, or in a unit
    that cannot be compared)."""
    for rr in obs.get("referenceRange") or ():
        if not isinstance(rr, dict):
            continue
        v, unit = quantity(rr.get("low"))
        if v is None:
            continue
        nv, _ = _normalise(kind, v, unit)
        return None if nv is None else round(nv, 4)
    return None


def stated_values(text: str | None, source: str, written: date | None) -> tuple[LabValue, ...]:
    """Measurements a note states in words ("suPAR 7.8 ng/mL"), by the terminology's `stated_lab_values`
    patterns: a value counts only in a sentence whose mention of the test is neither negated nor hedged
    ("suPAR pending", "? suPAR 7"); the value keeps the note as its source and says it was read from text."""
    if not text:
        return ()
    return tuple(
        LabValue(kind, value, unit, written, source, None, f'stated in a note: "{said}"')
        for kind, value, unit, said in _stated_in_text(text)
    )


@text_memo(maxsize=4096)
def _stated_in_text(text: str) -> tuple[tuple[str, float, str, str], ...]:
    """(kind, value, unit, the words) of every measurement a text states (memoised per text)."""
    out: list[tuple[str, float, str, str]] = []
    for kind, spec in data().get("stated_lab_values", {}).items():
        if kind.startswith("_"):
            continue
        pattern = _stated_pattern(spec["pattern"])
        for sentence in te.sentences(text):
            for m in pattern.finditer(sentence):
                found = te.mentions(sentence, spec["names"], "statement")
                if not found or not any(x.affirmed for x in found) or header_status(sentence) is not None:
                    continue
                try:
                    value = float(m.group("value"))
                except (TypeError, ValueError):
                    continue
                unit = spec["units"].get(m.group("unit").lower().replace("μ", "µ"))
                if unit is None:
                    continue
                out.append((kind, value, unit, m.group(0).strip()))
    return tuple(out)


_stated_patterns: dict[str, re.Pattern[str]] = {}


def _stated_pattern(pattern: str) -> re.Pattern[str]:
    compiled = _stated_patterns.get(pattern)
    if compiled is None:
        compiled = _stated_patterns[pattern] = re.compile(pattern, re.I)
    return compiled
