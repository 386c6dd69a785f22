"""Dose arithmetic over every dosageInstruction (issue 17, class 5).

Guideline 09-J0000-45, initiation 5.a: "The dosage does not exceed 100 mg once daily / QL: 100 mg syringe - 28
syringes (18.76 mL)/28 days"; Dosage: NOMID and DIRA "to a maximum of 8 mg/kg daily"; "Drug Availability:
anakinra is available as a 100 mg/0.67 mL prefilled glass syringe"; "A new syringe must be used for each dose".
The near misses are orders whose *first* line reads as 100 mg once daily while the order as a whole gives more.
"""

from __future__ import annotations

import pytest

from cds_service.facts.dosing import read_dose

UCUM = "http://unitsofmeasure.org"


def line(
    mg=None,
    *,
    unit="mg",
    seq=1,
    freq=1,
    period=1,
    period_unit="d",
    when=None,
    tod=None,
    text=None,
    rng=None,
    as_needed=False,
    freq_max=None,
    bounds_days=None,
    max_per_day=None,
    timing=True,
):
    d: dict = {}
    if seq is not None:
        d["sequence"] = seq
    if text:
        d["text"] = text
    if timing:
        rep: dict = {}
        if freq is not None:
            rep["frequency"] = freq
        if freq_max is not None:
            rep["frequencyMax"] = freq_max
        if period is not None:
            rep["period"] = period
            rep["periodUnit"] = period_unit
        if when:
            rep["when"] = when
        if tod:
            rep["timeOfDay"] = tod
        if bounds_days:
            rep["boundsDuration"] = {"value": bounds_days, "unit": "days", "system": UCUM, "code": "d"}
        d["timing"] = {"repeat": rep}
    if mg is not None:
        d["doseAndRate"] = [{"doseQuantity": {"value": mg, "unit": unit, "system": UCUM, "code": unit}}]
    if rng is not None:
        low, high = rng
        r = {"low": {"value": low, "unit": unit, "system": UCUM, "code": unit}}
        if high is not None:
            r["high"] = {"value": high, "unit": unit, "system": UCUM, "code": unit}
        d["doseAndRate"] = [{"doseRange": r}]
    if as_needed:
        d["asNeededBoolean"] = True
    if max_per_day is not None:
        d["maxDosePerPeriod"] = {
            "numerator": {"value": max_per_day, "unit": "mg", "system": UCUM, "code": "mg"},
            "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"},
        }
    return d


def order(*lines, syringes=None, supply=None):
    o = {"resourceType": "MedicationRequest", "id": "o1", "dosageInstruction": list(lines)}
    disp = {}
    if syringes is not None:
        disp["quantity"] = {"value": syringes, "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    if supply is not None:
        disp["expectedSupplyDuration"] = {"value": supply, "unit": "days", "system": UCUM, "code": "d"}
    if disp:
        o["dispenseRequest"] = disp
    return o


def read(*lines, **kw):
    return read_dose(order(*lines, **kw), True)


def test_one_line_once_daily():
    d = read(line(100), syringes=28, supply=28)
    assert (d.mg_per_dose, d.doses_per_day, d.mg_per_day, d.syringes_per_28_days) == (100, 1, 100, 28)
    assert d.lines == 1


def test_morning_and_evening_lines_of_one_sequence_add_up():
    """The issue's order: 100 mg every morning plus 100 mg every evening, same sequence, no dispense quantity.
    Its first line alone reads as 100 mg once daily (the near miss the old reader fell for)."""
    d = read(
        line(100, when=["MORN"], text="100 mg every morning"),
        line(100, when=["EVE"], text="100 mg every evening"),
        supply=28,
    )
    assert d.mg_per_day == 200 and d.doses_per_day == 2
    assert d.syringes_per_28_days == 56
    assert d.lines == 2


def test_lines_without_a_sequence_run_together():
    d = read(line(100, seq=None), line(50, seq=None))
    assert d.mg_per_day == 150 and d.doses_per_day == 2 and d.mg_per_dose == 100
    assert d.syringes_per_28_days == 56  # a new syringe for each dose


def test_a_later_sequence_at_a_higher_dose_governs():
    """Sequence 1 (100 mg daily for 14 days) then sequence 2 (200 mg daily): the second is checked too."""
    d = read(line(100, seq=1, bounds_days=14), line(200, seq=2))
    assert d.mg_per_day == 200 and d.mg_per_dose == 200 and d.doses_per_day == 1
    assert d.duration_days is None  # the second sequence is not bounded
    assert any("sequence 2" in n and "governs" in n for n in d.notes)


def test_sequences_one_after_another_sum_their_course_length():
    d = read(line(100, seq=1, bounds_days=4), line(100, seq=2, bounds_days=6))
    assert d.duration_days == 10 and d.mg_per_day == 100


def test_an_unsequenced_line_runs_beside_every_sequence():
    d = read(line(100, seq=1), line(100, seq=2), line(50, seq=None))
    assert d.mg_per_day == 150 and d.doses_per_day == 2


def test_a_sequence_that_cannot_be_read_leaves_the_dose_unknown():
    d = read(line(100, seq=1), line(None, seq=2, text="as directed"))
    assert d.mg_per_day is None
    assert d.mg_per_dose is None


def test_millilitres_convert_at_100_mg_per_0_67_ml():
    d = read(line(1, unit="mL"))
    assert d.mg_per_dose == pytest.approx(149.25, abs=0.01)
    assert d.mg_per_day == pytest.approx(149.25, abs=0.01)
    assert any("0.67 mL" in n for n in d.notes)


@pytest.mark.parametrize(
    "kw, per_day",
    [
        ({"when": ["MORN", "EVE"]}, 2),
        ({"tod": ["08:00:00", "20:00:00"]}, 2),
        ({"when": ["C"]}, 3),  # at meals: three times a day
        ({"freq": 2}, 2),
        ({"freq": 1, "period": 12, "period_unit": "h"}, 2),
        ({"freq": 1, "period": 2}, 0.5),
    ],
)
def test_timing_lists_and_periods_count(kw, per_day):
    d = read(line(100, **kw))
    assert d.doses_per_day == pytest.approx(per_day)


def test_every_other_day_gives_the_whole_dose_on_the_day_it_is_given():
    d = read(line(100, period=2), syringes=14, supply=28)
    assert d.doses_per_day == 0.5 and d.mg_per_day == 100 and d.mean_mg_per_day == 50
    assert d.syringes_per_28_days == 14


def test_as_needed_reads_the_high_end_of_the_frequency():
    d = read(line(100, freq=1, freq_max=2, as_needed=True))
    assert d.doses_per_day == 2 and d.mg_per_day == 200


def test_max_dose_per_period_raises_the_daily_dose():
    d = read(line(100, as_needed=True, max_per_day=300))
    assert d.mg_per_day == 300


@pytest.mark.parametrize("rng, mg", [((50, 150), 150), ((50, None), None)])
def test_dose_ranges_read_the_high_end_or_nothing(rng, mg):
    d = read(line(rng=rng))
    assert d.mg_per_dose == mg


def test_a_dispensed_quantity_below_what_the_dose_uses_does_not_hide_it():
    d = read(line(100, freq=2), syringes=28, supply=28)
    assert d.syringes_per_28_days == 56


def test_a_missing_frequency_is_unknown():
    d = read(line(100, freq=None, period=None, timing=False))
    assert d.doses_per_day is None and d.mg_per_day is None


def test_weight_based_lines_are_kept_per_kg():
    d = read(line(2, unit="mg/kg", when=["MORN"]), line(2, unit="mg/kg", when=["EVE"]))
    assert d.per_kg == 2 and d.per_kg_per_day == 4 and d.mg_per_day is None


def test_text_only_line_still_reads_its_dose_and_frequency():
    d = read(line(None, text="Inject 100 mg subcutaneously every morning", timing=False))
    assert d.mg_per_dose == 100 and d.doses_per_day == 1
