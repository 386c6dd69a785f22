"""The order's dose, normalised: mg per dose, doses per day, syringes per 28 days, course length.

Every `dosageInstruction` is read (guideline: "The dosage does not exceed 100 mg once daily"; NOMID/DIRA
"to a maximum of 8 mg/kg daily"; a dose is the whole order, not its first line):

- lines with the same `sequence` (or no sequence) run concurrently and add up (100 mg every morning plus
  100 mg every evening is 200 mg a day, two doses a day);
- different sequences run one after another: each is checked and the highest governs;
- a line without a sequence runs beside every sequence (the conservative reading);
- frequency comes from `timing.repeat` (frequency / frequencyMax per period, `when` and `timeOfDay` lists,
  `dayOfWeek`), the timing code (BID ...) or, last, the line's text (terminology `dose_frequency_text`);
  `asNeeded` lines count as if every permitted dose is taken, and `maxDosePerPeriod` raises the daily dose to
  what it permits;
- a dose range reads its high end; a range with no high end, a unit not understood or a missing frequency
  leaves the dose unknown (None), never a guess.

Units: mg; g; mL (converted at the product's 100 mg / 0.67 mL); syringes (`{syringe}`, `syringe`, and the
Sandbox's `{pill}`, `{each}`, `1`: one single-use 100 mg syringe); mg/kg (kept per kg: the weight is the
policy's). `mg_per_day` is the most given on any one day (every-other-day 100 mg is 100 mg on the days it is
given), so "daily" limits are checked against what is given in a day; `mean_mg_per_day` is the average.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .fhir_json import (
    codings,
    dicts,
    list_or_empty,
    number,
    object_or_empty,
    parse_date,
    quantity,
    str_or_none,
    text_or_empty,
)
from .model import DoseFacts
from .terminology.wording import dose_frequency_patterns

MG_PER_SYRINGE = 100.0
ML_PER_SYRINGE = 0.67

_SYRINGE_UNITS = {
    "{syringe}",
    "syringe",
    "syringes",
    "{syringes}",
    "{pill}",
    "pill",
    "{each}",
    "each",
    "ea",
    "1",
    "{unit}",
    "unit",
    "{prefilled syringe}",
    "prefilled syringe",
    "pfs",
    "{pfs}",
    "{dose}",
    "dose",
    "{injection}",
    "injection",
}
_ML_UNITS = {"ml", "mL".lower()}
_MG_KG_UNITS = {"mg/kg", "mg/kg/d", "mg/kg.d", "mg/kg/day"}

_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}

_TIMING_CODES = {
    "QD": 1.0,
    "BID": 2.0,
    "TID": 3.0,
    "QID": 4.0,
    "QOD": 0.5,
    "AM": 1.0,
    "PM": 1.0,
    "QAM": 1.0,
    "QPM": 1.0,
    "WK": 1 / 7,
    "Q4H": 6.0,
    "Q6H": 4.0,
    "Q8H": 3.0,
    "Q12H": 2.0,
    "Q24H": 1.0,
}

# `when` codes (EventTiming) that name more than one time of day: at (before, after) meals is three times.
_WHEN_TIMES = {"C": 3, "AC": 3, "PC": 3}


@dataclass(frozen=True)
class _Line:
    """One dosageInstruction, read."""

    index: int
    sequence: int | None
    mg: float | None  # per administration
    per_kg: float | None  # per administration, when the line is written in mg/kg
    per_day: float | None  # administrations per day (average)
    peak_per_day: float | None  # most administrations on any one day
    max_mg_per_day: float | None  # what maxDosePerPeriod permits per day, if stated
    duration: float | None
    route: str | None
    text: str


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


def _to_mg(
    v: float, unit: str | None, single_100mg_syringe: bool, notes: list[str], where: str
) -> tuple[float | None, float | None, bool]:
    """(mg, mg/kg, understood) of one quantity."""
    kind = _unit_kind(unit)
    if kind == "mg":
        return v, None, True
    if kind == "g":
        return v * 1000, None, True
    if kind == "ml":
        mg = v * MG_PER_SYRINGE / ML_PER_SYRINGE
        notes.append(f"{where}: {v:g} mL read as {mg:.1f} mg (100 mg/0.67 mL)")
        return mg, None, True
    if kind == "syringe":
        if single_100mg_syringe:
            mg = v * MG_PER_SYRINGE
            notes.append(f"{where}: {v:g} {unit} of the single-use 100 mg syringe read as {mg:g} mg")
            return mg, None, True
        notes.append(f"{where}: {v:g} {unit} of a product not known to be the 100 mg syringe: dose not read")
        return None, None, False
    if kind == "mg/kg":
        return None, v, True
    notes.append(f"{where}: dose unit '{unit}' not understood")
    return None, None, False


def _line_dose(
    dosage: dict[str, Any], single_100mg_syringe: bool, notes: list[str], where: str
) -> tuple[float | None, float | None]:
    """(mg, mg/kg) per administration of one line: every doseAndRate entry is read and the highest counts
    (an entry that cannot be read makes the dose unknown, not the others' value)."""
    mgs: list[float] = []
    per_kgs: list[float] = []
    unreadable = False
    entries = list(dicts(dosage.get("doseAndRate")))
    for dr in entries:
        v, unit = quantity(dr.get("doseQuantity"))
        if v is None:
            rng = dr.get("doseRange")
            if isinstance(rng, dict):
                v, unit = quantity(rng.get("high"))
                if v is not None:
                    notes.append(f"{where}: dose range, the upper bound is read")
                else:
                    notes.append(f"{where}: dose range without an upper bound: dose not read")
                    unreadable = True
                    continue
        if v is None:
            continue
        mg, per_kg, ok = _to_mg(v, unit, single_100mg_syringe, notes, where)
        if not ok:
            unreadable = True
        if mg is not None:
            mgs.append(mg)
        if per_kg is not None:
            per_kgs.append(per_kg)
    if unreadable:
        return None, None
    if not mgs and not per_kgs:
        text = text_or_empty(dosage.get("text"))
        m = re.search(r"(\d+(?:\.\d+)?)\s*mg\b(?!\s*/\s*(ml|kg))", text, re.I)
        if m:
            notes.append(f'{where}: dose read from text "{text}"')
            return float(m.group(1)), None
        mk = re.search(r"(\d+(?:\.\d+)?)\s*mg\s*/\s*kg", text, re.I)
        if mk:
            notes.append(f'{where}: dose read from text "{text}"')
            return None, float(mk.group(1))
    return (max(mgs) if mgs else None), (max(per_kgs) if per_kgs else None)


def _times_a_day(rep: dict[str, Any]) -> int:
    """How many times a day `when` / `timeOfDay` name (0 when neither is given)."""
    when = [w for w in list_or_empty(rep.get("when")) if isinstance(w, str)]
    tod = [t for t in list_or_empty(rep.get("timeOfDay")) if isinstance(t, str)]
    n_when = sum(_WHEN_TIMES.get(w.upper(), 1) for w in dict.fromkeys(w.upper() for w in when))
    return max(n_when, len(set(tod)))


def _doses_per_day(dosage: dict[str, Any], notes: list[str], where: str) -> tuple[float | None, float | None]:
    """(average administrations per day, most administrations on any one day)."""
    timing = object_or_empty(dosage.get("timing"))
    rep = object_or_empty(timing.get("repeat"))
    freq = number(rep.get("frequency"))
    fmax = number(rep.get("frequencyMax"))
    if fmax is not None and (freq is None or fmax > freq):
        notes.append(f"{where}: frequencyMax {fmax:g} read (the high end)")
        freq = fmax
    times = _times_a_day(rep)
    days_of_week = {d for d in list_or_empty(rep.get("dayOfWeek")) if isinstance(d, str)}
    period = number(rep.get("period"))
    unit = str_or_none(rep.get("periodUnit"))
    if period and period > 0 and unit in _PERIOD_DAYS:
        period_days = period * _PERIOD_DAYS[unit]
        per_period = max(freq or 1.0, float(times))
        per_day = per_period / period_days
        peak = max(1.0, math.ceil(per_day - 1e-9)) if period_days >= 1 else per_day
        if days_of_week and period_days <= 1:
            per_day = per_day * len(days_of_week) / 7
            notes.append(f"{where}: on {len(days_of_week)} day(s) of the week")
        notes.append(
            f"{where}: timing {per_period:g} per {period:g} {unit}" + (f" ({times} times of day)" if times else "")
        )
        return per_day, peak
    if times:
        per_day = float(max(times, freq or 0))
        if days_of_week:
            notes.append(f"{where}: {times} times a day on {len(days_of_week)} day(s) of the week")
            return per_day * len(days_of_week) / 7, per_day
        notes.append(f"{where}: {times} times a day (when / timeOfDay)")
        return per_day, per_day
    for c in codings(timing.get("code")):
        if c.code and c.code.upper() in _TIMING_CODES:
            notes.append(f"{where}: timing code {c.code}")
            v = _TIMING_CODES[c.code.upper()]
            return v, max(1.0, math.ceil(v - 1e-9))
    text = text_or_empty(dosage.get("text"))
    for rx, value in dose_frequency_patterns():
        if text and rx.search(text):
            notes.append(f'{where}: timing read from text "{text}"')
            return value, max(1.0, math.ceil(value - 1e-9))
    return None, None


def _max_per_day(dosage: dict[str, Any], single_100mg_syringe: bool, notes: list[str], where: str) -> float | None:
    """What `maxDosePerPeriod` permits per day, in mg (None when absent or not read)."""
    ratios = dosage.get("maxDosePerPeriod")
    best = None
    for ratio in dicts(ratios):
        v, unit = quantity(ratio.get("numerator"))
        pv, pu = quantity(ratio.get("denominator"))
        if v is None or pv is None or pv <= 0 or (pu or "d") not in _PERIOD_DAYS:
            continue
        mg, _, ok = _to_mg(v, unit, single_100mg_syringe, notes, where)
        if not ok or mg is None:
            continue
        per_day = mg / (pv * _PERIOD_DAYS[pu or "d"])
        best = per_day if best is None else max(best, per_day)
    if best is not None:
        notes.append(f"{where}: maxDosePerPeriod permits {best:.1f} mg per day")
    return best


def _course_days(dosage: dict[str, Any], per_day: float | None) -> float | None:
    timing = object_or_empty(dosage.get("timing"))
    rep = object_or_empty(timing.get("repeat"))
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
    count = number(rep.get("countMax")) or number(rep.get("count"))
    if count and per_day:
        return count / per_day
    return None


def _route(dosage: dict[str, Any]) -> str | None:
    for c in codings(dosage.get("route")):
        if c.code == "34206005" or (c.display and "subcut" in c.display.lower()):
            return "subcutaneous"
        if c.code == "47625008" or (c.display and "intravenous" in c.display.lower()):
            return "intravenous"
        if c.display:
            return c.display.lower()
        break
    route = dosage.get("route")
    if isinstance(route, dict) and isinstance(text := route.get("text"), str):
        return text.lower()
    return None


def _read_line(i: int, dosage: dict[str, Any], single_100mg_syringe: bool, notes: list[str]) -> _Line:
    seq = dosage.get("sequence")
    seq = int(seq) if isinstance(seq, int) and not isinstance(seq, bool) else None
    where = f"line {i + 1}" + (f" (sequence {seq})" if seq is not None else "")
    mg, per_kg = _line_dose(dosage, single_100mg_syringe, notes, where)
    per_day, peak = _doses_per_day(dosage, notes, where)
    as_needed = dosage.get("asNeededBoolean") is True or isinstance(dosage.get("asNeededCodeableConcept"), dict)
    if as_needed:
        notes.append(f"{where}: as needed, read as every permitted dose taken")
    max_day = _max_per_day(dosage, single_100mg_syringe, notes, where)
    text = text_or_empty(dosage.get("text"))
    return _Line(i, seq, mg, per_kg, per_day, peak, max_day, _course_days(dosage, per_day), _route(dosage), text)


@dataclass(frozen=True)
class _Group:
    """The lines that run at the same time (one sequence plus the unsequenced lines)."""

    label: str
    mg_per_dose: float | None
    per_kg: float | None
    doses_per_day: float | None
    mean_mg_per_day: float | None
    peak_mg_per_day: float | None
    per_kg_per_day: float | None
    syringes_per_day: float | None
    duration: float | None


def _sum(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    known = [v for v in vals if v is not None]
    return None if not vals or len(known) < len(vals) else sum(known)


def _group(label: str, lines: list[_Line]) -> _Group:
    doses = _sum(line.per_day for line in lines)
    mg_known = all(line.mg is not None for line in lines)
    kg_only = all(line.mg is None and line.per_kg is not None for line in lines)
    # (mg, administrations per day, most administrations on one day) of the lines that state all three:
    # every line once its dose and frequency are known (_doses_per_day gives both counts or neither).
    dosed = [
        (line.mg, line.per_day, line.peak_per_day)
        for line in lines
        if line.mg is not None and line.per_day is not None and line.peak_per_day is not None
    ]
    mean: float | None = None
    peak: float | None = None
    syr: float | None = None
    if mg_known and doses is not None and len(dosed) == len(lines):
        mean = sum(mg * per_day for mg, per_day, _ in dosed)
        peak = sum(mg * peak_per_day for mg, _, peak_per_day in dosed)
        syr = sum(max(1, math.ceil(mg / MG_PER_SYRINGE - 1e-9)) * per_day for mg, per_day, _ in dosed)
        caps = [line.max_mg_per_day for line in lines if line.max_mg_per_day is not None]
        if caps:
            peak = max(peak, sum(caps))
            mean = max(mean, sum(caps))
    per_kg_day = None
    weighed = [
        (line.per_kg, line.peak_per_day) for line in lines if line.per_kg is not None and line.peak_per_day is not None
    ]
    if kg_only and doses is not None and len(weighed) == len(lines):
        per_kg_day = sum(per_kg * peak_per_day for per_kg, peak_per_day in weighed)
    durations = [line.duration for line in lines if line.duration is not None]
    duration = max(durations) if durations and len(durations) == len(lines) else None
    mgs = [line.mg for line in lines if line.mg is not None]
    per_kgs = [line.per_kg for line in lines if line.per_kg is not None]
    return _Group(
        label,
        max(mgs) if mg_known else None,
        max(per_kgs) if kg_only else None,
        doses,
        mean,
        peak,
        per_kg_day,
        syr,
        duration,
    )


def _groups(lines: list[_Line]) -> list[_Group]:
    sequenced: dict[int, list[_Line]] = {}
    loose: list[_Line] = []
    for line in lines:
        if line.sequence is None:
            loose.append(line)
        else:
            sequenced.setdefault(line.sequence, []).append(line)
    if not sequenced:
        return [_group("all lines", loose)] if loose else []
    return [_group(f"sequence {s}", sequenced[s] + loose) for s in sorted(sequenced)]


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "unknown"
    return f"{v:.4g}{(' ' + unit) if unit else ''}"


def read_dose(order: dict[str, Any], single_100mg_syringe: bool) -> DoseFacts:
    notes: list[str] = []
    dosages = list(dicts(order.get("dosageInstruction")))
    lines = [_read_line(i, d, single_100mg_syringe, notes) for i, d in enumerate(dosages)]
    groups = _groups(lines)
    if not groups:
        notes.append("no dosage instruction")
    if len(lines) > 1:
        for g in groups:
            notes.append(
                f"{g.label}: {_fmt(g.doses_per_day)} doses a day, at most "
                f"{_fmt(g.peak_mg_per_day, 'mg')} on one day"
                + (f" ({_fmt(g.per_kg_per_day, 'mg/kg')})" if g.per_kg_per_day is not None else "")
            )

    def governing(attr: str) -> float | None:
        vals = [getattr(g, attr) for g in groups]
        return None if not vals or any(v is None for v in vals) else max(vals)

    mg_dose = governing("mg_per_dose")
    per_kg = governing("per_kg")
    per_day = governing("doses_per_day")
    peak = governing("peak_mg_per_day")
    mean = governing("mean_mg_per_day")
    per_kg_day = governing("per_kg_per_day")
    syringes_per_day = governing("syringes_per_day")
    if len(groups) > 1 and peak is not None:
        top = next(g for g in groups if g.peak_mg_per_day == peak)  # the first with the highest
        notes.append(f"{top.label} has the highest daily dose and governs ({_fmt(peak, 'mg')} on one day)")
    elif (
        len(groups) > 1
        and any(g.peak_mg_per_day is None for g in groups)
        and any(g.peak_mg_per_day is not None for g in groups)
    ):
        notes.append("a sequence's daily dose cannot be read: the order's daily dose is unknown")

    route = None
    routes = [line.route for line in lines if line.route]
    if routes:
        other = [r for r in routes if r != "subcutaneous"]
        route = other[0] if other else "subcutaneous"

    dispense = object_or_empty(order.get("dispenseRequest"))
    supply_days = None
    sv, su = quantity(dispense.get("expectedSupplyDuration"))
    if sv is not None:
        supply_days = (
            sv * _PERIOD_DAYS.get(su or "d", 1.0)
            if (su or "d") in _PERIOD_DAYS
            else (sv if (su or "").lower().startswith("day") else None)
        )
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
    # A new syringe for each dose: what the ordered dose uses in 28 days (the highest sequence).
    needed_28 = syringes_per_day * 28 if syringes_per_day is not None else None
    syringes_28 = None
    if syringes is not None and supply_days:
        syringes_28 = syringes / supply_days * 28
        notes.append(f"{syringes:g} syringes over {supply_days:g} days")
        if needed_28 is not None and needed_28 > syringes_28 + 1e-9:
            notes.append(
                f"the ordered dose uses {needed_28:.4g} syringes per 28 days, more than dispensed: the dose is counted"
            )
            syringes_28 = needed_28
    elif syringes is None and supply_days and syringes_per_day is not None:
        needed = math.ceil(syringes_per_day * supply_days - 1e-9)
        syringes_28 = needed / supply_days * 28
        notes.append(f"no dispense quantity: {supply_days:g}-day supply at the ordered dose is {needed:g} syringes")
    elif needed_28 is not None:
        syringes_28 = needed_28
        notes.append("syringes per 28 days derived from the dose and timing")

    durations = [g.duration for g in groups if g.duration is not None]
    duration = sum(durations) if durations and len(durations) == len(groups) else None
    return DoseFacts(
        mg_per_dose=mg_dose,
        doses_per_day=per_day,
        mg_per_day=peak,
        syringes_per_28_days=syringes_28,
        supply_days=supply_days,
        duration_days=duration,
        route=route,
        per_kg=per_kg,
        notes=tuple(notes),
        timing_text=" | ".join(line.text for line in lines if line.text),
        mean_mg_per_day=mean,
        per_kg_per_day=per_kg_day,
        syringes_needed_per_28_days=needed_28,
        lines=len(lines),
    )
