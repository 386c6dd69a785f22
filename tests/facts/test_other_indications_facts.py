"""Facts for Table 1 'Other indications' (round 2): the named CAR T-cell toxicities, CAPS named in text, and the
order's reasonReference display when the referenced Condition is not in the chart.

Guideline 09-J0000-45, description: "The NCCN recommend anakinra in a variety of scenarios for CAR T-cell-related
toxicities"; billing: "T80.82XA Complication of immune effector cellular therapy, initial encounter". CAPS: "the
FDA expanded the approval of anakinra to include treatment of cryopyrin-associated periodic syndromes (CAPS),
specifically neonatal-onset multisystem inflammatory disease (NOMID)".
"""

from __future__ import annotations

import pytest

from cds_service.facts.diagnoses import condition_diagnosis, order_reasons
from tests.facts.test_diagnoses import condition


@pytest.mark.parametrize(
    "code, text, named",
    [
        (
            "T80.82XA",
            "Immune effector cell-associated neurotoxicity syndrome (ICANS) grade 3 after CAR T-cell therapy",
            True,
        ),
        ("T80.82XA", "Immune effector cell-associated HLH-like syndrome (IEC-HS) after CAR T-cell therapy", True),
        ("T80.82XA", "Cytokine release syndrome grade 2 after axicabtagene ciloleucel", True),
        ("D89.832", "Cytokine release syndrome, grade 2", True),  # the CRS code itself
        ("G92.03", "Immune effector cell-associated neurotoxicity syndrome, grade 3", True),
        # near misses: the listed code names no toxicity, or the text denies or doubts it
        ("T80.82XA", "Complication of immune effector cellular therapy, initial encounter", False),
        ("T80.82XA", "Prolonged cytopenia after CAR T-cell therapy; no CRS", False),
        ("T80.82XA", "Possible ICANS after CAR-T, EEG pending", False),
        ("T80.82XA", "B-cell aplasia after CAR T-cell therapy, CRS ruled out", False),
    ],
)
def test_a_named_car_t_toxicity_is_a_condition_kind(code, text, named):
    d = condition_diagnosis(condition(code, text))
    assert ("car_t_toxicity" in d.kinds) is named


@pytest.mark.parametrize(
    "text, found, possible",
    [
        ("Cryopyrin-associated periodic syndrome", {"caps"}, {"nomid"}),  # may be NOMID: asked, not ruled out
        ("Muckle-Wells syndrome", {"caps"}, set()),  # another CAPS phenotype
        ("Familial cold autoinflammatory syndrome", {"caps"}, set()),
    ],
)
def test_caps_named_in_text_alone_keeps_nomid_possible_unless_another_phenotype_is_named(text, found, possible):
    d = condition_diagnosis(condition(None, text))
    assert set(d.indications) == found and set(d.possible) == possible


def test_a_reason_reference_whose_condition_is_not_in_the_chart_cites_the_order():
    """Evidence removal (chart ra/ecoli-protein-allergy-refuted): with the Condition removed, the order's display
    "Seronegative rheumatoid arthritis, multiple sites" still names RA, and the evidence cited the removed
    Condition as if it were in the chart."""
    order = {
        "id": "o1",
        "reasonReference": [
            {"reference": "Condition/gone", "display": "Seronegative rheumatoid arthritis, multiple sites"}
        ],
    }
    [reason] = order_reasons(order, lambda ref: None)
    assert reason.indications == {"ra"}
    assert reason.source == "MedicationRequest/o1.reasonReference[0]"
    # a Condition in the chart is cited as itself; a refuted one names nothing, whatever the display says
    cond = condition("M06.09", "Seronegative rheumatoid arthritis", cid="dx")
    assert (
        order_reasons(
            {"id": "o1", "reasonReference": [{"reference": "Condition/dx", "display": "RA"}]}, lambda ref: cond
        )[0].source
        == "Condition/dx"
    )
    refuted = condition("M06.09", "Seronegative rheumatoid arthritis", verification="refuted", cid="dx")
    assert (
        order_reasons(
            {"id": "o1", "reasonReference": [{"reference": "Condition/dx", "display": "rheumatoid arthritis"}]},
            lambda ref: refuted,
        )
        == ()
    )
