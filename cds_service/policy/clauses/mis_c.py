"""table1.mis-c: MIS-C associated with SARS-CoV-2, ALL of 1 to 4."""

from __future__ import annotations

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import all_of, any_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import answered, diagnosis_evidence, lab_evidence, span_evidence, statement_evidence
from .hospital import hospitalised


def age_under(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    cid = "table1.mis-c.1"
    limit = policy.indication(indication)["max_age_years_exclusive"]
    age = case.patient.age_years
    if age is None:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "Date of birth unknown.",
            missing=[Missing("The member's date of birth", Need.INFO, "OTH")],
        )
    ev = [
        Evidence(
            f"age {age} on {case.patient.as_of.isoformat()}",
            case.patient.reference,
            str(age),
            case.patient.birth_date.isoformat() if case.patient.birth_date else None,
        )
    ]
    if age < limit:
        return leaf(cid, Outcome.MET, f"Age {age} is less than {limit}.", ev)
    return leaf(cid, Outcome.NOT_MET, f"Age {age} is not less than {limit}.", ev)


def prior_infection(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.mis-c.2 "Member has been previously infected with SARS-CoV-2" (reading `mis_c_prior_infection`).

    Met on a positive SARS-CoV-2 test, or a confirmed diagnosis of the infection itself (COVID-19 U07.1 in any
    clinical status, post COVID-19 condition U09.9, personal history of COVID-19 Z86.16: the terminology's
    `sars_cov_2_prior` kind). The MIS-C diagnosis alone is not evidence of it (the MIS-C case definition also
    accepts an exposure), nor are a negative test, an exposure (Z20.822) or a suspected, unconfirmed COVID-19:
    the criterion is then unknown and the infection is asked for."""
    cid = "table1.mis-c.2"
    kind = policy.section("mis_c")["prior_infection_kind"]
    test_lab = policy.section("covid_19")["test_lab"]
    as_of = case.patient.as_of
    diags = [d for d in (*case.order.reasons, *case.patient.diagnoses) if kind in d.kinds and d.confirmed]
    labs = [lab for lab in case.patient.labs_of(test_lab) if lab.observed_on is None or lab.observed_on <= as_of]
    tests = [lab for lab in labs if lab.positive]
    ev = [diagnosis_evidence(d) for d in diags] + [lab_evidence(lab, "SARS-CoV-2 test") for lab in tests]
    if diags or tests:
        return leaf(
            cid,
            Outcome.MET,
            "A prior SARS-CoV-2 infection is recorded (a positive test, or a diagnosis of "
            "COVID-19, post COVID-19 condition or personal history of COVID-19).",
            ev,
        )
    looked: list[Evidence] = [
        lab_evidence(lab, "SARS-CoV-2 test, negative: does not show an infection")
        for lab in labs
        if lab.positive is False
    ]
    looked += [
        diagnosis_evidence(d)
        for d in (*case.order.reasons, *case.patient.diagnoses)
        if "mis-c" in d.indications or (kind in d.kinds and not d.confirmed)
    ]
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "No prior SARS-CoV-2 infection is documented: the MIS-C diagnosis itself, a negative test, an "
        "exposure or a suspected COVID-19 does not show one. " + policy.reading("mis_c_prior_infection"),
        looked,
        [
            Missing(
                "Documentation of the prior SARS-CoV-2 infection: a positive SARS-CoV-2 test, or a diagnosis of "
                "COVID-19 (U07.1), post COVID-19 condition (U09.9) or personal history of COVID-19 (Z86.16); "
                "MIS-C, a negative test or an exposure alone does not show it",
                Need.CLINICAL_DOC,
            )
        ],
    )


def refractory(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.mis-c.4.a "Member is refractory to IVIG AND glucocorticoids" (reading `mis_c_refractory`).

    Both must have been given (medication record: IVIG and a systemic glucocorticoid, samples aside) and the
    inadequate response documented: coded (stopped as ineffective) or a response statement on either record, or a
    chart note (Condition.note) stating in one unnegated sentence that the member is refractory to both
    ("despite IVIG 2 g/kg and IV methylprednisolone: refractory to IVIG and glucocorticoids"; "persistent fever
    after IVIG. Glucocorticoids not yet given" states no such thing). A note that states it while the medication
    record lacks one of the two leaves the criterion unknown: the record is asked for."""
    cid = "table1.mis-c.4.a"
    key = "ivig_glucocorticoid_refractory"
    classes = policy.section("mis_c")["refractory_classes"]
    found = {c: [s for s in case.patient.medications if c in s.classes and not s.is_sample] for c in classes}
    ev = [span_evidence(s) for spans in found.values() for s in spans]
    notes = [(n, sentence) for n in case.patient.chart_notes if (sentence := n.states(key))]
    note_ev = [
        Evidence(f'chart note: "{sentence}"', n.source, None, n.written.isoformat() if n.written else None)
        for n, sentence in notes
    ]
    absent = [c for c, spans in found.items() if not spans]
    if absent:
        if notes:
            return leaf(
                cid,
                Outcome.UNKNOWN,
                "A chart note states that the member is refractory to IVIG and "
                "glucocorticoids, but the medication record shows no "
                + " or ".join(absent)
                + " given. "
                + policy.reading("mis_c_refractory"),
                ev + note_ev,
                [
                    Missing(
                        "The administration record of " + " and ".join(absent) + " (MIS-C 4.a: refractory to "
                        "IVIG and glucocorticoids)",
                        Need.CLINICAL_DOC,
                    )
                ],
            )
        return leaf(cid, Outcome.NOT_MET, "No record of " + " or ".join(absent) + " therapy.", ev)
    failed = [
        s for spans in found.values() for s in spans if s.stopped_reason == "ineffective" or s.response == "no-benefit"
    ]
    if failed:
        return leaf(cid, Outcome.MET, "Given " + " and ".join(classes) + " without adequate response.", ev + note_ev)
    if notes:
        return leaf(
            cid,
            Outcome.MET,
            "Given " + " and ".join(classes) + "; a chart note states that the member is refractory to both.",
            ev + note_ev,
        )
    hedged = [
        Evidence(
            f'chart note: "{sentence}": not stated as a finding ({status}; not counted)',
            n.source,
            None,
            n.written.isoformat() if n.written else None,
        )
        for n in case.patient.chart_notes
        for k, status, sentence in n.unstated
        if k == key
    ]
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "Given " + " and ".join(classes) + ", but the response is not documented.",
        ev + hedged,
        [Missing("Chart notes documenting that MIS-C is refractory to IVIG and glucocorticoids", Need.CLINICAL_DOC)],
    )


@answered("glucocorticoid_contraindication")
def glucocorticoid_contraindication(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.mis-c.4.b"
    cls = policy.section("mis_c")["glucocorticoid_class"]
    allergies = [a for a in case.patient.allergies if cls in a.classes and a.active and not a.refuted]
    stated = case.order.prescriber_statement.get("glucocorticoid_contraindication")
    ev = [Evidence(f"{a.kind} to {a.label}", a.source) for a in allergies]
    if stated is not None:
        ev.append(statement_evidence(stated))
    if ev:
        return leaf(cid, Outcome.MET, "A contraindication to glucocorticoids is recorded.", ev)
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "No contraindication to long-term glucocorticoids is recorded.",
        (),
        [Missing("Documentation of a contraindication to long-term glucocorticoid use", Need.CLINICAL_DOC)],
    )


def macrophage_activation(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.mis-c.4.c"
    kind = policy.section("mis_c")["mas_kind"]
    diags = [d for d in (*case.order.reasons, *case.patient.diagnoses) if kind in d.kinds and d.active]
    if diags:
        return leaf(
            cid,
            Outcome.MET,
            "Features of macrophage activation syndrome are recorded.",
            [diagnosis_evidence(d) for d in diags],
        )
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "No feature of macrophage activation syndrome is recorded.",
        (),
        [Missing("Chart notes documenting features of macrophage activation syndrome", Need.CLINICAL_DOC)],
    )


def evaluate(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    four = any_of(
        "table1.mis-c.4",
        (refractory(case, policy), glucocorticoid_contraindication(case, policy), macrophage_activation(case, policy)),
        "ANY of a, b, c.",
    )
    return all_of(
        policy.indication(indication)["clause"],
        (
            age_under(case, policy, indication),
            prior_infection(case, policy),
            hospitalised(case, policy, "table1.mis-c.3", "Symptoms severe enough to require hospitalization"),
            four,
        ),
        "ALL of 1 to 4.",
    )
