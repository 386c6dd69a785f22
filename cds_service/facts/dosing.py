"""The order's dose, normalised: mg per dose, doses per day, syringes per 28 days, course length.

Units: mg; mL (converted at the product's 100 mg / 0.67 mL); syringes (`{syringe}`, `syringe`,
and the Sandbox's `{pill}`, `{each}`, `1`: one single-use 100 mg syringe). Anything not
readable stays None, so the policy reports it as unknown instead of guessing.
"""

from __future__ import annotations

import math
import re

from .fhir_reading import codings, dicts, number, parse_date, quantity
from .model import DoseFacts

MG_PER_SYRINGE = 100.0
ML_PER_SYRINGE = 0.67

_SYRINGE_UNITS = {"{syringe}", "syringe", "syringes", "{syringes}", "{pill}", "pill", "{each}", "each", "ea", "1",
                  "{unit}", "unit", "{prefilled syringe}", "prefilled syringe", "pfs", "{pfs}", "{dose}", "dose",
                  "{injection}", "injection"}
_ML_UNITS = {"ml", "mL".lower()}
_MG_KG_UNITS = {"mg/kg", "mg/kg/d", "mg/kg.d", "mg/kg/day"}

_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}

_TIMING_CODES = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "AM": 1.0, "PM": 1.0, "QAM": 1.0,
                 "QPM": 1.0, "WK": 1 / 7}

_TEXT_FREQ = (
    (re.compile(r"every other day|every 48 h|q\.?o\.?d|alternate days|every 2 days", re.I), 0.5),
    (re.compile(r"twice (a |per )?day|twice daily|\bb\.?i\.?d\b|every 12 h", re.I), 2.0),
    (re.compile(r"three times (a |per )?day|\bt\.?i\.?d\b|every 8 h", re.I), 3.0),
    (re.compile(r"once (a |per )?day|once daily|\bdaily\b|every day|\bq\.?d\b|every 24 h|each day|per day|/day", re.I), 1.0),
    (re.compile(r"once (a |per )?week|weekly", re.I), 1 / 7),
)


def _unit_kind(unit: str | None) -> str | None:
    if unit is None:
        return None
    u = unit.strip()
    low = u.lower()
    if low == "mg":
        return "mg"
    if low == "g":
        return "g"
    if low in _ML_UNITS:
        return "ml"
    if low in _MG_KG_UNITS:
        return "mg/kg"
    if low in _SYRINGE_UNITS:
        return "syringe"
    return None


def _doses_per_day(dosage: dict, notes: list[str]) -> float | None:
    timing = dosage.get("timing") if isinstance(dosage.get("timing"), dict) else {}
    rep = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    freq = number(rep.get("frequency"))
    period = number(rep.get("period"))
    unit = rep.get("periodUnit") if isinstance(rep.get("periodUnit"), str) else None
    if period and unit in _PERIOD_DAYS:
        per_day = (freq or 1.0) / (period * _PERIOD_DAYS[unit])
        notes.append(f"timing {freq or 1:g} per {period:g} {unit}")
        return per_day
    for c in codings(timing.get("code")):
        if c.code and c.code.upper() in _TIMING_CODES:
            notes.append(f"timing code {c.code}")
            return _TIMING_CODES[c.code.upper()]
    text = dosage.get("text") if isinstance(dosage.get("text"), str) else ""
    for rx, value in _TEXT_FREQ:
        if text and rx.search(text):
            notes.append(f"timing read from text \"{text}\"")
            return value
    return None


def _course_days(dosage: dict, per_day: float | None) -> float | None:
    timing = dosage.get("timing") if isinstance(dosage.get("timing"), dict) else {}
    rep = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    bd = rep.get("boundsDuration")
    if isinstance(bd, dict):
        v, u = quantity(bd)
        if v is not None and (u or "d") in _PERIOD_DAYS:
            return v * _PERIOD_DAYS[u or "d"]
    bp = rep.get("boundsPeriod")
    if isinstance(bp, dict):
        s, e = parse_date(bp.get("start")), parse_date(bp.get("end"))
        if s and e:
            return float((e - s).days + 1)
    count = number(rep.get("count"))
    if count and per_day:
        return count / per_day
    return None


def read_dose(order: dict, single_100mg_syringe: bool) -> DoseFacts:
    notes: list[str] = []
    dosages = list(dicts(order.get("dosageInstruction")))
    dosage = dosages[0] if dosages else {}
    if len(dosages) > 1:
        notes.append(f"{len(dosages)} dosage instructions: the first is read")
    mg = None
    per_kg = None
    for dr in dicts(dosage.get("doseAndRate")):
        v, unit = quantity(dr.get("doseQuantity"))
        if v is None:
            rng = dr.get("doseRange")
            if isinstance(rng, dict):
                v, unit = quantity(rng.get("high"))
                if v is not None:
                    notes.append("dose range: the upper bound is read")
        kind = _unit_kind(unit)
        if v is None or kind is None:
            if v is not None:
                notes.append(f"dose unit '{unit}' not understood")
            continue
        if kind == "mg":
            mg = v
        elif kind == "g":
            mg = v * 1000
        elif kind == "ml":
            mg = v * MG_PER_SYRINGE / ML_PER_SYRINGE
            notes.append(f"{v:g} mL read as {mg:.0f} mg (100 mg/0.67 mL)")
        elif kind == "syringe":
            if single_100mg_syringe:
                mg = v * MG_PER_SYRINGE
                notes.append(f"{v:g} {unit} of the single-use 100 mg syringe read as {mg:g} mg")
        elif kind == "mg/kg":
            per_kg = v
        break
    if mg is None and per_kg is None:
        text = dosage.get("text") if isinstance(dosage.get("text"), str) else ""
        m = re.search(r"(\d+(?:\.\d+)?)\s*mg\b(?!\s*/\s*(ml|kg))", text, re.I)
        if m:
            mg = float(m.group(1))
            notes.append(f"dose read from text \"{text}\"")
        else:
            mk = re.search(r"(\d+(?:\.\d+)?)\s*mg\s*/\s*kg", text, re.I)
            if mk:
                per_kg = float(mk.group(1))
    per_day = _doses_per_day(dosage, notes) if dosage else None
    mg_per_day = mg * per_day if mg is not None and per_day is not None else None

    route = None
    for c in codings(dosage.get("route")):
        if c.code == "34206005" or (c.display and "subcut" in c.display.lower()):
            route = "subcutaneous"
        elif c.code == "47625008" or (c.display and "intravenous" in c.display.lower()):
            route = "intravenous"
        elif c.display:
            route = c.display.lower()
        break
    if route is None and isinstance(dosage.get("route"), dict) and isinstance(dosage["route"].get("text"), str):
        route = dosage["route"]["text"].lower()

    dispense = order.get("dispenseRequest") if isinstance(order.get("dispenseRequest"), dict) else {}
    supply_days = None
    sv, su = quantity(dispense.get("expectedSupplyDuration"))
    if sv is not None:
        supply_days = sv * _PERIOD_DAYS.get(su or "d", 1.0) if (su or "d") in _PERIOD_DAYS else (
            sv if (su or "").lower().startswith("day") else None)
    syringes = None
    qv, qu = quantity(dispense.get("quantity"))
    if qv is not None:
        kind = _unit_kind(qu) if qu else "syringe"
        if kind == "syringe":
            syringes = qv
        elif kind == "ml":
            syringes = qv / ML_PER_SYRINGE
            notes.append(f"dispense {qv:g} mL read as {syringes:.1f} syringes (0.67 mL each)")
        else:
            notes.append(f"dispense unit '{qu}' not understood")
    syringes_per_dose = math.ceil(mg / MG_PER_SYRINGE) if mg else None   # a new syringe for each dose
    syringes_28 = None
    if syringes is not None and supply_days:
        syringes_28 = syringes / supply_days * 28
        notes.append(f"{syringes:g} syringes over {supply_days:g} days")
    elif syringes is None and supply_days and per_day is not None and syringes_per_dose:
        needed = math.ceil(per_day * supply_days) * syringes_per_dose
        syringes_28 = needed / supply_days * 28
        notes.append(f"no dispense quantity: {supply_days:g}-day supply at the ordered dose is {needed:g} syringes")
    elif per_day is not None and syringes_per_dose:
        syringes_28 = per_day * 28 * syringes_per_dose
        notes.append("syringes per 28 days derived from the dose and timing")
    return DoseFacts(
        mg_per_dose=mg, doses_per_day=per_day, mg_per_day=mg_per_day, syringes_per_28_days=syringes_28,
        supply_days=supply_days, duration_days=_course_days(dosage, per_day) if dosage else None, route=route,
        per_kg=per_kg, notes=tuple(notes),
        timing_text=dosage.get("text") if isinstance(dosage.get("text"), str) else "",
    )
