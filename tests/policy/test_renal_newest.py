"""dosage.renal: the newest renal evidence wins, and the evidence says which (issue 17, class 10).

Guideline, Dosage and Administration: "Creatinine clearance below 30 mL/min (severe renal insufficiency or
end-stage renal disease): consider the prescribed dose every other day". A measured creatinine clearance
from ten months ago says nothing about kidneys whose creatinine this week gives about 19 mL/min."""

from __future__ import annotations

import pytest

from tests.policy.builders import NM, M, U, case, decide, lab, node

OLD_MEASURED = lab("crcl", 45, "mL/min", 300)  # about ten months before the order
NEW_CREATININE = lab("creatinine", 4.0, "mg/dL", 3)  # this week


def renal(**kw):
    kw.setdefault("labs", (lab("anc", 4.2, "10*3/uL", 14), OLD_MEASURED, NEW_CREATININE))
    kw.setdefault("sex", "male")
    kw.setdefault("weight_kg", 70.0)
    return node(decide(case(age=60, **kw)), "dosage.renal")


def test_a_new_creatinine_outweighs_an_old_measured_clearance():
    r = renal()
    # (140 - 60) x 70 / (72 x 4.0) = 19.4 mL/min
    assert r.outcome is NM and "Cockcroft-Gault" in r.note and "19.4" in r.note
    texts = [e.description for e in r.evidence]
    assert any("19.4" in t for t in texts)
    superseded = next(e for e in r.evidence if e.reference == OLD_MEASURED.source)
    assert "not used" in superseded.description and "newest" in superseded.description


@pytest.mark.parametrize(
    "kw, missing",
    [
        ({"weight_kg": None}, "no body weight"),
        ({"sex": None, "weight_kg": 120.0}, "sex is unknown"),  # the estimate straddles the threshold
    ],
)
def test_no_estimate_from_the_newer_creatinine_leaves_it_unknown_and_says_why(kw, missing):
    r = renal(**kw)
    assert r.outcome is U
    assert "newer than the measured creatinine clearance" in r.note and missing in r.note
    assert "45 mL/min" in r.note


@pytest.mark.parametrize("measured_days_ago", [3, 1])
def test_a_measured_clearance_as_recent_or_newer_is_used(measured_days_ago):
    measured = lab("crcl", 45, "mL/min", measured_days_ago)
    r = renal(labs=(measured, NEW_CREATININE))
    assert r.outcome is M and "measured" in r.note
    unused = next(e for e in r.evidence if e.reference == NEW_CREATININE.source)
    assert "not used" in unused.description


def test_an_old_creatinine_does_not_outweigh_a_new_measured_clearance():
    r = renal(labs=(lab("crcl", 20, "mL/min", 2), lab("creatinine", 0.8, "mg/dL", 200)))
    assert r.outcome is NM and "measured" in r.note
