"""table1.mis-c: MIS-C associated with SARS-CoV-2, ALL of 1 to 4."""

from __future__ import annotations

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import all_of, any_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import diagnosis_evidence, lab_evidence, span_evidence, statement_evidence
from .hospital import hospitalised


def age_under(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    cid = "table1.mis-c.1"
    limit = policy.indication(indication)["max_age_years_exclusive"]
    age = case.patient.age_years
    if age is None:
        return leaf(cid, Outcome.UNKNOWN, "Date of birth unknown.",
                    missing=[Missing("The member's date of birth", Need.INFO, "OTH")])
    ev = [Evidence(f"age {age} on {case.patient.as_of.isoformat()}", case.patient.reference, str(age),
                   case.patient.birth_date.isoformat() if case.patient.birth_date else None)]
    if age < limit:
        return leaf(cid, Outcome.MET, f"Age {age} is less than {limit}.", ev)
    return leaf(cid, Outcome.NOT_MET, f"Age {age} is not less than {limit}.", ev)


def prior_infection(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.mis-c.2"
    kind = policy.section("mis_c")["prior_infection_kind"]
    test_lab = policy.section("covid_19")["test_lab"]
    diags = [d for d in (*case.order.reasons, *case.patient.diagnoses) if kind in d.kinds]
    tests = [lab for lab in case.patient.labs_of(test_lab) if lab.positive]
    ev = [diagnosis_evidence(d) for d in diags] + [lab_evidence(lab, "SARS-CoV-2 test") for lab in tests]
    if diags or tests:
        return leaf(cid, Outcome.MET, "A SARS-CoV-2 infection is recorded (positive test, COVID-19 history, or MIS-C, "
                                      "which is by definition associated with SARS-CoV-2).", ev)
    return leaf(cid, Outcome.UNKNOWN, "No SARS-CoV-2 infection is recorded.", (),
                [Missing("Documentation of a prior SARS-CoV-2 infection (positive test or diagnosis)",
                         Need.CLINICAL_DOC)])


def refractory(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.mis-c.4.a"
    classes = policy.section("mis_c")["refractory_classes"]
    found = {c: [s for s in case.patient.medications if c in s.classes and not s.is_sample] for c in classes}
    ev = [span_evidence(s) for spans in found.values() for s in spans]
    absent = [c for c, spans in found.items() if not spans]
    if absent:
        return leaf(cid, Outcome.NOT_MET, "No record of " + " or ".join(absent) + " therapy.", ev)
    failed = [s for spans in found.values() for s in spans
              if s.stopped_reason == "ineffective" or s.response == "no-benefit"]
    if failed:
        return leaf(cid, Outcome.MET, "Given " + " and ".join(classes) + " without adequate response.", ev)
    return leaf(cid, Outcome.UNKNOWN, "Given " + " and ".join(classes) + ", but the response is not documented.", ev,
                [Missing("Chart notes documenting that MIS-C is refractory to IVIG and glucocorticoids",
                         Need.CLINICAL_DOC)])


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
    return leaf(cid, Outcome.UNKNOWN, "No contraindication to long-term glucocorticoids is recorded.", (),
                [Missing("Documentation of a contraindication to long-term glucocorticoid use", Need.CLINICAL_DOC)])


def macrophage_activation(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.mis-c.4.c"
    kind = policy.section("mis_c")["mas_kind"]
    diags = [d for d in (*case.order.reasons, *case.patient.diagnoses) if kind in d.kinds and d.active]
    if diags:
        return leaf(cid, Outcome.MET, "Features of macrophage activation syndrome are recorded.",
                    [diagnosis_evidence(d) for d in diags])
    return leaf(cid, Outcome.UNKNOWN, "No feature of macrophage activation syndrome is recorded.", (),
                [Missing("Chart notes documenting features of macrophage activation syndrome", Need.CLINICAL_DOC)])


def evaluate(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    four = any_of("table1.mis-c.4", (refractory(case, policy), glucocorticoid_contraindication(case, policy),
                                     macrophage_activation(case, policy)), "ANY of a, b, c.")
    return all_of(policy.indication(indication)["clause"], (
        age_under(case, policy, indication),
        prior_infection(case, policy),
        hospitalised(case, policy, "table1.mis-c.3", "Symptoms severe enough to require hospitalization"),
        four,
    ), "ALL of 1 to 4.")
