"""Table 1: "Moderately to severely active rheumatoid arthritis (RA)" (Table 3 grades RA severity): the chart's
newest statement of activity decides; a chart that states none is read as before (reading ra_disease_activity)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cds_service.facts.model import DiseaseActivity
from tests.policy.builders import NM, M, U, ago, case, decide, node


def _with(*activity):
    c = case()  # step therapy complete: covered when activity is not an issue
    return replace(c, patient=replace(c.patient, disease_activity=tuple(activity)))


def low(days=10, source="Condition/ra"):
    return DiseaseActivity("low", "severity Mild (SNOMED 255604002)", source, ago(days))


def active(days=10, source="Observation/cdai"):
    return DiseaseActivity("active", "CDAI 31", source, ago(days))


@pytest.mark.parametrize(
    "activity, expected, determination",
    [
        ((), M, "covered"),  # silent: as before
        ((active(),), M, "covered"),
        ((low(),), NM, "conditional"),  # explicit low activity: never covered
        ((low(400), active(10)), M, "covered"),  # newer moderate/high assessment wins
        ((active(400), low(10)), NM, "conditional"),  # newer low assessment wins
        ((low(10), active(10)), U, "conditional"),  # same date, disagreeing
        ((DiseaseActivity("low", "remission", "Condition/ra", None),), NM, "conditional"),  # undated, only statement
    ],
)
def test_disease_activity(activity, expected, determination):
    d = decide(_with(*activity))
    n = node(d, "table1.ra.activity")
    assert n.outcome is expected
    assert d.determination.value == determination
    assert (n.outcome is M) == (node(d, "table1.ra").outcome is M)
    if expected is M:
        # met never rests on a cited record: a silent chart is met too
        assert all(e.reference is None for e in n.evidence)
    else:
        assert "ra_disease_activity" in d.readings
        assert any("table1.ra.activity" in f.clause_ids for f in d.findings)
        assert not any(f.kind == "step-therapy" for f in d.findings)  # the step therapy is complete
