"""Small builders of `CaseFacts` for policy tests (no FHIR): a healthy default case, changed with keywords.

Every date is relative to AS_OF (2026-03-02), so tests are pinned. The default case is an RA order that
meets every initiation clause; tests change one thing and look at one clause.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from cds_service.facts.model import (
    AllergyFact,
    CaseFacts,
    Code,
    CoverageFacts,
    Diagnosis,
    DoseFacts,
    EncounterFact,
    LabValue,
    OrderFacts,
    PatientFacts,
    Prescriber,
    PrescriberStatement,
    PriorAuthorization,
    ProcedureFact,
    SettingFacts,
    TherapySpan,
    Weight,
)
from cds_service.policy.data_loader import load_policy
from cds_service.policy.engine import evaluate
from cds_service.policy.model import ClauseResult, Decision, Outcome

AS_OF = date(2026, 3, 2)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
ORDER_REF = "MedicationRequest/draft-1"

M, NM, U, NA = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN, Outcome.NOT_APPLICABLE


def ago(days: int = 0, months: int = 0) -> date:
    return AS_OF - timedelta(days=days + round(months * 30.5))


def birth_for_age(years: int) -> date:
    return date(AS_OF.year - years, 1, 15)


# ------------------------------------------------------------------------------------------ facts


def dx(
    indications=("ra",),
    code: str | None = "M05.79",
    *,
    system: str = ICD,
    text: str = "",
    kinds=(),
    active: bool = True,
    confirmed: bool = True,
    from_order: bool = False,
    qualified=(),
    source: str | None = None,
    status: str | None = "active",
    possible=(),
) -> Diagnosis:
    c = Code(system, code, text or code)
    return Diagnosis(
        indications=frozenset(indications),
        code=c,
        source=source or (f"{ORDER_REF}.reasonCode[0]" if from_order else f"Condition/{code or text}"),
        from_order=from_order,
        active=active,
        confirmed=confirmed,
        text=text or (code or ""),
        kinds=frozenset(kinds),
        qualified=frozenset(qualified),
        codes=(c,) if code else (),
        clinical_status=status,
        possible=frozenset(possible),
    )


def span(
    drug: str,
    *,
    classes=(),
    start: date | None = None,
    end: date | None = None,
    active: bool = False,
    kind: str = "statement",
    stopped: str | None = None,
    preferred: str | None = None,
    sample: bool = False,
    response: str | None = None,
    reason: str = "",
    mg_per_week: float | None = None,
    source: str | None = None,
    label: str | None = None,
    status: str | None = None,
) -> TherapySpan:
    return TherapySpan(
        drug=drug,
        classes=frozenset(classes),
        label=label or drug,
        source=source or f"MedicationStatement/{drug}-{kind}-{start}",
        kind=kind,
        status=status or ("active" if active else "stopped"),
        start=start,
        end=end,
        active=active,
        preferred_product=preferred,
        stopped_reason=stopped,
        reason_text=reason,
        is_sample=sample,
        mg_per_week=mg_per_week,
        response=response,
    )


def failed(
    drug: str, classes=(), preferred: str | None = None, months: int = 5, ended_months_ago: int = 6, **kw
) -> TherapySpan:
    """A therapy of `months` months stopped for inadequate response."""
    end = ago(months=ended_months_ago)
    start = end - timedelta(days=round(months * 30.5))
    return span(
        drug,
        classes=classes,
        start=start,
        end=end,
        stopped="ineffective",
        preferred=preferred,
        reason="Inadequate response",
        **kw,
    )


def mtx_failed(**kw) -> TherapySpan:
    return failed("methotrexate", ("csdmard",), months=6, ended_months_ago=20, mg_per_week=25, **kw)


PREFERRED = {
    "humira": ("adalimumab", ("tnf", "biologic")),
    "enbrel": ("etanercept", ("tnf", "biologic")),
    "xeljanz": ("tofacitinib", ("jak",)),
    "rinvoq": ("upadacitinib", ("jak",)),
    "hadlima": ("adalimumab", ("tnf", "biologic")),
}


def preferred_failed(product: str, **kw) -> TherapySpan:
    drug, classes = PREFERRED[product]
    return failed(drug, classes, preferred=product, source=f"MedicationStatement/{product}", label=product, **kw)


def anakinra_dispense(days_ago: int = 20, sample: bool = False, response: str | None = None) -> TherapySpan:
    start = ago(days_ago)
    return span(
        "anakinra",
        classes=("anakinra", "biologic"),
        start=start,
        end=start + timedelta(days=28),
        kind="dispense",
        sample=sample,
        response=response,
        source=f"MedicationDispense/ana-{days_ago}",
        status="completed",
        active=days_ago < 28,
    )


def lab(
    kind: str, value: float | None, unit: str | None, days_ago: int = 10, positive: bool | None = None, text: str = ""
) -> LabValue:
    return LabValue(kind, value, unit, ago(days_ago), f"Observation/{kind}-{days_ago}", positive, text)


def allergy(
    substance: str,
    *,
    label: str | None = None,
    kind: str = "allergy",
    classes=(),
    reactions=(),
    active: bool = True,
    refuted: bool = False,
    unconfirmed: bool = False,
    route_only: bool = False,
    preferred: str | None = None,
) -> AllergyFact:
    return AllergyFact(
        substance=substance,
        label=label or substance,
        source=f"AllergyIntolerance/{substance}",
        kind=kind,
        active=active,
        refuted=refuted,
        reactions=tuple(reactions),
        preferred_product=preferred,
        classes=frozenset(classes),
        unconfirmed=unconfirmed,
        route_only=route_only,
    )


def inpatient(active: bool = True, class_code: str = "IMP", review: bool = False) -> EncounterFact:
    return EncounterFact(
        "Encounter/enc-1",
        inpatient=class_code == "IMP",
        active=active,
        start=ago(2),
        class_code=class_code,
        review=review,
    )


def statement(key: str, text: str = "the prescriber says so") -> PrescriberStatement:
    return PrescriberStatement(key, text, f"{ORDER_REF}.note[0]")


def prior_auth(
    status: str = "approved", indication: str | None = "ra", start_days_ago: int = 300, pa_id: str = "PA-1"
) -> PriorAuthorization:
    return PriorAuthorization(
        f"ClaimResponse/{pa_id}",
        "anakinra",
        status,
        ago(start_days_ago),
        ago(start_days_ago) + timedelta(days=365),
        pa_id,
        indication,
    )


def dose(
    mg: float | None = 100,
    per_day: float | None = 1,
    syringes: float | None = 28,
    supply: float | None = 28,
    duration: float | None = None,
    per_kg: float | None = None,
    route: str | None = "subcutaneous",
) -> DoseFacts:
    mg_day = mg * per_day if mg is not None and per_day is not None else None
    return DoseFacts(
        mg_per_dose=mg,
        doses_per_day=per_day,
        mg_per_day=mg_day,
        syringes_per_28_days=syringes,
        supply_days=supply,
        duration_days=duration,
        route=route,
        per_kg=per_kg,
    )


COMMUNITY = SettingFacts(False, ("category `community` (taken at home)",), "community")
CLINIC = SettingFacts(True, ("category `outpatient` (administered in a facility)",), "outpatient")
INPATIENT_ORDER = SettingFacts(True, ("category `inpatient` (administered in a facility)",), "inpatient")


def order(
    *,
    dose_facts: DoseFacts | None = None,
    setting: SettingFacts = COMMUNITY,
    reasons=(),
    statements=(),
    single_syringe: bool = True,
) -> OrderFacts:
    return OrderFacts(
        id="draft-1",
        reference=ORDER_REF,
        label="Kineret 100 mg/0.67 mL",
        authored_on=AS_OF,
        status="draft",
        intent="order",
        dose=dose_facts or dose(),
        setting=setting,
        reasons=tuple(reasons),
        requester="PractitionerRole/rheum",
        single_100mg_syringe=single_syringe,
        prescriber_statement={s.key: s for s in statements},
    )


def prescriber(*specialties: str, known: bool = True) -> Prescriber:
    return Prescriber(frozenset(specialties), "PractitionerRole/rheum", known)


def coverage(program: str | None = "commercial", present: bool = True) -> CoverageFacts:
    return CoverageFacts(
        present=present,
        program=program,
        source="Coverage/cov-1" if present else None,
        evidence=(f"program {program}",) if present else (),
    )


def patient(
    *,
    age: int | None = 50,
    sex: str | None = "female",
    weight_kg: float | None = 70.0,
    weight_days_ago: int = 10,
    labs=None,
    diagnoses=(dx(),),
    medications=None,
    allergies=(),
    specialties=("rheumatology",),
    program: str | None = "commercial",
    coverage_present: bool = True,
    encounters=(),
    immunizations=(),
    prior_authorizations=(),
    procedures=(),
    unavailable=(),
    prescriber_known: bool = True,
    unidentified_medications=(),
) -> PatientFacts:
    if labs is None:
        labs = (lab("anc", 4.2, "10*3/uL", 14), lab("creatinine", 0.8, "mg/dL", 14))
    if medications is None:
        medications = (
            mtx_failed(),
            preferred_failed("humira", ended_months_ago=14),
            preferred_failed("enbrel", ended_months_ago=8),
            preferred_failed("xeljanz", ended_months_ago=1),
        )
    weight = Weight(weight_kg, ago(weight_days_ago), "Observation/wt", f"{weight_kg} kg") if weight_kg else None
    return PatientFacts(
        reference="Patient/p1",
        as_of=AS_OF,
        birth_date=birth_for_age(age) if age is not None else None,
        sex=sex,
        weight=weight,
        labs=tuple(labs),
        diagnoses=tuple(diagnoses),
        medications=tuple(medications),
        allergies=tuple(allergies),
        prescriber=prescriber(*specialties, known=prescriber_known),
        coverage=coverage(program, coverage_present),
        encounters=tuple(encounters),
        immunizations=tuple(immunizations),
        prior_authorizations=tuple(prior_authorizations),
        procedures=tuple(procedures),
        unavailable=frozenset(unavailable),
        unidentified_medications=tuple(unidentified_medications),
    )


def case(*, drafts=(), hook: str = "order-sign", order_facts: OrderFacts | None = None, **patient_kw) -> CaseFacts:
    return CaseFacts(patient=patient(**patient_kw), order=order_facts or order(), other_drafts=tuple(drafts), hook=hook)


# ------------------------------------------------------------------------------------------ scenarios


def nomid_case(weight_kg: float | None = 20.0, mg: float = 100, age: int = 7, **kw) -> CaseFacts:
    kw.setdefault("diagnoses", (dx(("nomid",), "M04.2", text="NOMID"),))
    kw.setdefault("medications", ())
    kw.setdefault("specialties", ("pediatric-rheumatology",))
    return case(
        age=age, sex="male", weight_kg=weight_kg, order_facts=kw.pop("order_facts", order(dose_facts=dose(mg=mg))), **kw
    )


def misc_case(**kw) -> CaseFacts:
    # MIS-C itself is not evidence of the prior infection (table1.mis-c.2): a resolved COVID-19 is.
    kw.setdefault(
        "diagnoses",
        (
            dx(("mis-c",), "M35.81", text="MIS-C"),
            dx((), "U07.1", text="COVID-19", kinds=("sars_cov_2_prior",), status="resolved", active=False),
        ),
    )
    kw.setdefault(
        "medications",
        (
            span(
                "immune-globulin",
                classes=("ivig",),
                start=ago(4),
                end=ago(3),
                stopped="ineffective",
                kind="administration",
            ),
            span("methylprednisolone", classes=("glucocorticoid",), start=ago(4), end=ago(1), stopped="ineffective"),
        ),
    )
    kw.setdefault("encounters", (inpatient(),))
    kw.setdefault("specialties", ("pediatric-rheumatology",))
    kw.setdefault("weight_kg", 30.0)
    return case(age=kw.pop("age", 9), order_facts=kw.pop("order_facts", order(setting=INPATIENT_ORDER)), **kw)


def covid_case(statements=(statement("respiratory_failure_risk"), statement("elevated_supar")), **kw) -> CaseFacts:
    kw.setdefault(
        "diagnoses",
        (
            dx(("covid-19",), "U07.1", text="COVID-19", kinds=("infection", "sars_cov_2", "sars_cov_2_prior")),
            dx((), "J12.82", text="COVID-19 pneumonia", kinds=("infection", "pneumonia")),
        ),
    )
    kw.setdefault("medications", ())
    kw.setdefault("encounters", (inpatient(),))
    kw.setdefault("labs", (lab("sars_cov_2", None, None, 2, positive=True), lab("anc", 6.3, "10*3/uL", 1)))
    kw.setdefault("procedures", (ProcedureFact("Oxygen therapy", "Procedure/o2", ago(2), True, frozenset({"oxygen"})),))
    kw.setdefault("specialties", ("infectious-disease",))
    d = kw.pop("dose_facts", dose(syringes=28, supply=10, duration=10))
    return case(
        age=kw.pop("age", 58),
        sex="male",
        order_facts=order(dose_facts=d, setting=INPATIENT_ORDER, statements=statements),
        **kw,
    )


def still_case(code: str = "M06.1", **kw) -> CaseFacts:
    kw.setdefault("diagnoses", (dx(("still",), code, text="Adult-onset Still's disease"),))
    kw.setdefault("medications", ())
    return case(**kw)


# ------------------------------------------------------------------------------------------ reading results

POLICY = load_policy()


def decide(c: CaseFacts, policy=None, **kw) -> Decision:
    return evaluate(c, policy or POLICY, **kw)


def node(decision: Decision, clause_id: str) -> ClauseResult:
    """The clause as decided (the coverage groups first, then the rest of the trace)."""
    for top in decision.coverage_tree() + tuple(
        t for t in decision.tree if t.clause_id not in decision.coverage_groups
    ):
        found = top.find(clause_id)
        if found is not None:
            return found
    raise AssertionError(f"{clause_id} not in the decision tree")


def outcome(c: CaseFacts, clause_id: str, policy=None, **kw) -> Outcome:
    return node(decide(c, policy, **kw), clause_id).outcome


def with_patient(c: CaseFacts, **changes) -> CaseFacts:
    return replace(c, patient=replace(c.patient, **changes))


def with_order(c: CaseFacts, **changes) -> CaseFacts:
    return replace(c, order=replace(c.order, **changes))
