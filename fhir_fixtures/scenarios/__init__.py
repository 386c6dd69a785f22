"""The thirty-odd scenarios, in the order their files are written (`SCENARIOS`), and `fixtures()`."""

from __future__ import annotations

from ..building_blocks import Fixture
from .acute import s_covid_inpatient, s_misc_child
from .autoinflammatory import s_dira_infant, s_nomid_child_lb, s_nomid_child_overdose
from .medication_coding import s_medref_ndc, s_medref_prefetch_ndc11, s_non_anakinra
from .ra import (
    s_dose_200mg,
    s_office_administered,
    s_order_select_ra,
    s_qty_56,
    s_ra_allergy,
    s_ra_complete,
    s_ra_continuation,
    s_ra_fep,
    s_ra_medicare_advantage,
    s_ra_missing_preferred,
    s_ra_mtx_intolerance,
    s_ra_no_specialist,
    s_ra_on_humira,
    s_ra_on_tofacitinib,
    s_ra_part_d,
    s_ra_preferred_2b,
    s_ra_renal,
)

SCENARIOS = (
    s_ra_complete,
    s_ra_missing_preferred,
    s_ra_on_humira,
    s_ra_on_tofacitinib,
    s_dose_200mg,
    s_qty_56,
    s_office_administered,
    s_nomid_child_lb,
    s_nomid_child_overdose,
    s_dira_infant,
    s_medref_ndc,
    s_medref_prefetch_ndc11,
    s_non_anakinra,
    s_order_select_ra,
    s_ra_no_specialist,
    s_ra_renal,
    s_ra_allergy,
    s_covid_inpatient,
    s_misc_child,
    s_ra_continuation,
    s_ra_mtx_intolerance,
    s_ra_preferred_2b,
    s_ra_fep,
    s_ra_part_d,
    s_ra_medicare_advantage,
)


def fixtures() -> list[Fixture]:
    out = [make() for make in SCENARIOS]
    seen: set[str] = set()
    for fx in out:
        if fx.slug in seen:
            raise ValueError(f"duplicate scenario slug {fx.slug}")
        seen.add(fx.slug)
        for r in [*fx.chart.resources, *fx.drafts]:
            if not r["id"].startswith(fx.slug + "-"):
                raise ValueError(f"{r['resourceType']}/{r['id']} does not start with its slug {fx.slug}")
    return out
