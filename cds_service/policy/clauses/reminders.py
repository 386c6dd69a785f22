"""Precautions and product facts as reminders (the `advisories` group: they never change the determination).

Outcome convention for a reminder: MET = nothing to remind; NOT_MET = the reminder applies (a card of kind
"reminder"); UNKNOWN = cannot tell; NOT_APPLICABLE = not for this order.
"""

from __future__ import annotations

from datetime import timedelta

from ...facts.model import CaseFacts, LabValue
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import add_months, fmt, lab_evidence, records_read


def monitoring_schedule(policy: Policy) -> str:
    monthly = policy.limit("neutrophil_monthly_months")
    until = policy.limit("neutrophil_quarterly_until_months")
    return f"before starting, monthly for {monthly} months after starting, then quarterly up to {until} months"


def low_count(lab: LabValue, policy: Policy) -> str | None:
    """Why an absolute neutrophil count is low (reading `neutrophils_low`), or None: below the policy's
    neutropenia threshold (ANC < 1.5 x10^3/uL), flagged low by the laboratory, or below the result's own
    reference range."""
    cfg = policy.section("neutrophils")
    if lab.value is None:
        return None
    threshold = cfg["low_below_10e3_per_ul"]
    if lab.unit == "10*3/uL" and lab.value < threshold:
        return f"below {fmt(threshold)} x10^3/uL, neutropenia"
    if lab.flag in cfg["low_flags"]:
        return f"flagged low by the laboratory ({lab.flag})"
    if lab.ref_low is not None and lab.value < lab.ref_low:
        return f"below the laboratory's reference range (from {fmt(lab.ref_low)} x10^3/uL)"
    return None


def neutrophils(case: CaseFacts, policy: Policy, pathway: str) -> ClauseResult:
    """precautions.neutrophils: a neutrophil count before initiation (and on schedule while treated)."""
    cid = "precautions.neutrophils"
    days = policy.limit("neutrophil_baseline_days" if pathway == "initiation" else "neutrophil_followup_days")
    since = case.patient.as_of - timedelta(days=days)
    labs = case.patient.labs_of(policy.section("neutrophils")["lab"])
    # (count, its date) within the window, newest first
    recent = [(lab, lab.observed_on) for lab in labs if lab.observed_on is not None and lab.observed_on >= since]
    schedule = monitoring_schedule(policy)
    if recent:
        newest, newest_on = recent[0]
        why = low_count(newest, policy)
        if why:
            when = "before initiation" if pathway == "initiation" else "on treatment"
            return leaf(
                cid,
                Outcome.NOT_MET,
                f"The newest neutrophil count {when} is low: {fmt(newest.value)} x10^3/uL on "
                f"{newest_on.isoformat()} ({why}). The count is assessed before initiation to be "
                f"acted on: review it before starting anakinra, and repeat it {schedule}. "
                + policy.reading("neutrophils_low"),
                [lab_evidence(newest, "absolute neutrophil count (low)")],
            )
        return leaf(
            cid,
            Outcome.MET,
            f"Neutrophil count within the past {days} days (schedule: {schedule}).",
            [lab_evidence(newest, "absolute neutrophil count")],
        )
    ev = [lab_evidence(labs[0], "latest absolute neutrophil count")] if labs else []
    return leaf(
        cid,
        Outcome.NOT_MET,
        f"No neutrophil count in the {days} days before the order: assess the neutrophil count {schedule}.",
        ev,
    )


def live_vaccines(case: CaseFacts, policy: Policy) -> ClauseResult:
    """precautions.live-vaccines: no live vaccines during treatment (one ordered now, or given just before)."""
    cid = "precautions.live-vaccines"
    days = policy.limit("live_vaccine_lookback_days")
    since = case.patient.as_of - timedelta(days=days)
    ordered = [i for i in case.patient.immunizations if i.live and i.kind == "ordered"]
    recent = [
        i
        for i in case.patient.immunizations
        if i.live and i.kind != "ordered" and i.occurred is not None and since <= i.occurred <= case.patient.as_of
    ]
    hits = ordered + recent
    if hits:
        return leaf(
            cid,
            Outcome.NOT_MET,
            "A live vaccine is "
            + ("being ordered" if ordered else f"recorded within the past {days} days")
            + ": live vaccines should not be given to members receiving anakinra.",
            [
                Evidence(
                    f"{'ordered' if i.kind == 'ordered' else 'given'}: {i.label}",
                    i.source,
                    None,
                    i.occurred.isoformat() if i.occurred else None,
                )
                for i in hits
            ],
        )
    if "immunizations" in case.patient.unavailable:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "The immunization history could not be read.",
            missing=[Missing(f"Immunizations given in the past {days} days (live vaccines)", Need.CLINICAL_DOC)],
        )
    return leaf(
        cid,
        Outcome.MET,
        f"No live vaccine ordered or given within the past {days} days.",
        [
            records_read(
                "immunizations and vaccine orders",
                len(case.patient.immunizations),
                f"no live vaccine ordered or given in the past {days} days",
            )
        ],
    )


def amyloidosis(case: CaseFacts, policy: Policy, indication: str | None, pathway: str) -> ClauseResult:
    """precautions.amyloidosis: injection-site amyloid in NOMID after high doses into the same skin over long
    periods: remind to rotate sites when a NOMID member on long-term treatment is above the starting range."""
    cid = "precautions.amyloidosis"
    if indication != "nomid":
        return leaf(cid, Outcome.NOT_APPLICABLE, "Reported in NOMID only.")
    months = policy.limit("amyloidosis_long_term_months")
    start_high = max(policy.limit("nomid_dira_start_mg_per_kg_day"))
    d = case.order.dose
    w = case.patient.weight
    per_kg = (
        d.per_kg * d.doses_per_day
        if d.per_kg is not None and d.doses_per_day is not None
        else (d.mg_per_day / w.kg if d.mg_per_day is not None and w is not None and w.kg > 0 else None)
    )
    first = min(
        (s.start for s in case.patient.medications if s.drug == "anakinra" and s.start and not s.is_sample),
        default=None,
    )
    long_term = pathway == "continuation" or (first is not None and add_months(first, months) <= case.patient.as_of)
    ev = [Evidence(f"{fmt(per_kg, 'mg/kg/day')} ordered", case.order.reference, fmt(per_kg, "mg/kg/day"))]
    if first is not None:
        ev.append(Evidence(f"anakinra since {first.isoformat()}", None, None, first.isoformat()))
    if per_kg is not None and per_kg > start_high + 1e-9 and long_term:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f"Long-term NOMID treatment above the starting range ({fmt(per_kg)} mg/kg/day): "
            "rotate injection sites; with confirmed injection-site amyloid, monitor "
            "proteinuria.",
            ev,
        )
    return leaf(
        cid,
        Outcome.MET,
        "Rotate injection sites (injection-site amyloid has been reported in NOMID after "
        "long-term high doses into the same skin).",
        ev,
    )


def hypersensitivity(case: CaseFacts, policy: Policy) -> ClauseResult:
    """precautions.hypersensitivity: anaphylaxis and angioedema have been reported (a note on every order;
    earlier severe reactions to other biologics are listed for awareness)."""
    cid = "precautions.hypersensitivity"
    words = policy.data["hypersensitivity_reactions"]
    severe = [
        a
        for a in case.patient.allergies
        if a.active
        and not a.refuted
        and "biologic" in a.classes
        and any(w in r.lower() for r in a.reactions for w in words)
    ]
    ev = [Evidence(f"{a.kind} to {a.label}: {', '.join(a.reactions)}", a.source) for a in severe]
    return leaf(
        cid,
        Outcome.MET,
        "Hypersensitivity reactions, including anaphylaxis and angioedema, have been "
        "reported with anakinra"
        + ("; earlier severe reactions to other biologics are recorded (listed)." if severe else "."),
        ev,
    )


def dosage_form(case: CaseFacts, policy: Policy) -> ClauseResult:
    """dosage.form: the 100 mg/0.67 mL single-use prefilled syringe; a new syringe for each dose; doses below
    100 mg discard the rest. NOT_MET when the quantity ordered cannot give one new syringe per dose."""
    cid = "dosage.form"
    syringe_mg, syringe_ml = policy.limit("syringe_mg"), policy.limit("syringe_ml")
    period = policy.limit("quantity_period_days")
    d = case.order.dose
    ref = case.order.reference
    product = f"{fmt(syringe_mg)} mg/{fmt(syringe_ml)} mL single-use prefilled syringe"
    if not case.order.single_100mg_syringe:
        return leaf(cid, Outcome.UNKNOWN, f"The ordered product is not recognised as the {product}.")
    if d.mg_per_dose is None or d.doses_per_day is None:
        return leaf(cid, Outcome.UNKNOWN, f"Available as the {product}; the dose or timing is not stated.")
    per_dose = max(1, -(-d.mg_per_dose // syringe_mg))
    needed = per_dose * d.doses_per_day * period
    ev = [
        Evidence(
            f"{fmt(d.mg_per_dose, 'mg')} per dose needs {fmt(per_dose)} syringe(s); {fmt(needed)} per {period} days",
            ref,
            fmt(needed, "syringes"),
        )
    ]
    if d.syringes_per_28_days is not None and d.syringes_per_28_days + 1e-9 < needed:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f"{fmt(d.syringes_per_28_days)} syringes per {period} days cannot give a new "
            f"syringe for each dose ({fmt(needed)} needed): each syringe is single use.",
            ev,
        )
    note = f"Available as the {product}; a new syringe for each dose"
    if d.mg_per_dose < syringe_mg:
        note += f"; {fmt(d.mg_per_dose, 'mg')} doses discard the unused {fmt(syringe_mg - d.mg_per_dose, 'mg')}"
    return leaf(cid, Outcome.MET, note + ".", ev)
