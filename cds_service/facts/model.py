"""A small typed picture of the patient and the order: what the policy reads.

Every fact carries where it came from (`source`: a relative FHIR reference, never a
business identifier) so that clause results can cite it as evidence. "Unknown" is always
explicit: a field that is None means the chart did not say, and the policy must treat it
as UNKNOWN, never as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from ..frozen_dataclass_init import fast_init


class Code(NamedTuple):
    """One coding. A NamedTuple, not a frozen dataclass: the facts layer makes a few hundred per call
    and a tuple is built ~3x faster (immutable all the same)."""

    system: str | None
    code: str | None
    display: str | None = None

    def label(self) -> str:
        return self.display or self.code or "?"


@fast_init
@dataclass(frozen=True)
class Weight:
    kg: float
    observed_on: date | None
    source: str | None
    original: str  # as recorded, e.g. "44 [lb_av]"


@fast_init
@dataclass(frozen=True)
class LabValue:
    kind: str  # crcl | creatinine | egfr | anc | sars_cov_2 | supar | crp | esr
    value: float | None  # numeric value in `unit`, None for coded results
    unit: str | None  # normalised unit: mL/min, mg/dL, 10*3/uL, ...
    observed_on: date | None
    source: str | None
    positive: bool | None = None  # for qualitative tests (SARS-CoV-2): detected / not detected
    text: str = ""  # what was recorded, for evidence
    flag: str | None = None  # the lab's own interpretation (v3 ObservationInterpretation: L, LL, H, ...)
    ref_low: float | None = None  # the lower limit of the lab's reference range, in `unit`


@fast_init
@dataclass(frozen=True)
class Diagnosis:
    indications: frozenset[str]  # indication keys (policy data names them): ra, nomid, dira, ...
    code: Code
    source: str  # "Condition/abc" or "MedicationRequest/xyz.reasonCode"
    from_order: bool  # stated as the order's reason
    active: bool  # clinical status active/recurrence/relapse (or stated on the order)
    confirmed: bool  # verification status confirmed (or absent: treated as confirmed by EHRs)
    onset: date | None = None
    text: str = ""
    kinds: frozenset[str] = frozenset()  # clinical kinds from the terminology: infection, pneumonia, mas, ...
    qualified: frozenset[str] = frozenset()  # indications a qualified code supports only once the indication is
    # otherwise documented (billing.icd10 qualifiers: G03.1 -> NOMID only)
    codes: tuple[Code, ...] = ()  # every coding of the concept (billing.icd10 reads the ICD-10-CM ones)
    clinical_status: str | None = None  # as recorded (active, resolved, ...), for evidence
    possible: frozenset[str] = frozenset()  # indications the code may be but does not establish (M04.2 alone
    # may be NOMID, M04.8 alone DIRA): their weight-based limit applies
    hedged_kinds: tuple[tuple[str, str], ...] = ()  # (kind, status) the text names without affirming it:
    # negated, uncertain, historical, family (text_evidence.py)

    def hedged(self, kind: str) -> str | None:
        """How the text states `kind` when it does not affirm it (None: affirmed by code or text, or not named)."""
        for k, state in self.hedged_kinds:
            if k == kind:
                return state
        return None


@fast_init
@dataclass(frozen=True)
class TherapySpan:
    """One piece of medication history: a statement, request, dispense or administration."""

    drug: str  # ingredient key from the terminology (or "anakinra")
    classes: frozenset[str]  # tnf, biologic, jak, csdmard, ...
    label: str  # the medication as written
    source: str  # "MedicationStatement/ms-1"
    kind: str  # statement | request | dispense | administration | draft
    status: str | None
    start: date | None
    end: date | None  # None = ongoing / not said
    active: bool  # current use as of the order date
    preferred_product: str | None = None  # table1.ra.preferred key
    stopped_reason: str | None = None  # ineffective | adverse | other | None (as coded / written)
    reason_text: str = ""
    is_sample: bool = False
    dose_text: str = ""
    mg_per_week: float | None = None  # methotrexate titration, when the dose is readable
    response: str | None = None  # benefit | no-benefit | None: a response statement in the notes
    supply: str = ""  # why is_sample: "manufacturer sample (v3 ActCode MS)", "note: samples" ...
    doubt: str = ""  # why current use is in doubt (a stale order, a later record saying stopped)
    dose_limit: str = ""  # methotrexate: the record's sentence documenting why the dose stayed below
    # the target (maximum tolerated dose, intolerance, renal/hepatic limit)

    @property
    def days(self) -> int | None:
        if self.start and self.end:
            return (self.end - self.start).days
        return None


@fast_init
@dataclass(frozen=True)
class AllergyFact:
    substance: str  # drug key, "anakinra", "ecoli-protein" or "other"
    label: str
    source: str
    kind: str  # allergy | intolerance (AllergyIntolerance.type; default allergy)
    active: bool
    refuted: bool = False
    criticality: str | None = None
    reactions: tuple[str, ...] = ()
    preferred_product: str | None = None
    classes: frozenset[str] = frozenset()  # the substance's drug classes (glucocorticoid, tnf, ...)
    unconfirmed: bool = False  # verificationStatus unconfirmed / presumed
    route_only: bool = False  # the intolerance is to the route (needles, injections), not the drug


@dataclass(frozen=True)
class DoseFacts:
    """The order's dose, normalised. Any None means the order did not say (UNKNOWN)."""

    mg_per_dose: float | None  # the largest single administration
    doses_per_day: float | None  # 1.0 daily, 0.5 every other day (concurrent lines add up)
    mg_per_day: float | None  # the most given on any one day (every dosageInstruction; the highest
    # sequence governs): every other day 100 mg is 100 mg on the days given
    syringes_per_28_days: float | None
    supply_days: float | None
    duration_days: float | None  # length of the course when bounded (boundsDuration/Period)
    route: str | None  # subcutaneous | intravenous | ... | None
    per_kg: float | None = None  # prescribed mg/kg per administration when the order states it
    notes: tuple[str, ...] = ()  # how each number was read (evidence text)
    timing_text: str = ""
    mean_mg_per_day: float | None = None  # the average over the days of the regimen
    per_kg_per_day: float | None = None  # mg/kg given on one day, when the order is written in mg/kg
    syringes_needed_per_28_days: float | None = None  # what the dose uses (a new syringe for each dose)
    lines: int = 1  # how many dosageInstruction lines were read


@dataclass(frozen=True)
class SettingFacts:
    provider_administered: bool | None  # None: the order does not say
    reasons: tuple[str, ...] = ()  # evidence texts
    category: str | None = None


@dataclass(frozen=True)
class OrderFacts:
    id: str
    reference: str  # "MedicationRequest/<id>"
    label: str  # medication display for cards
    authored_on: date | None
    status: str | None
    intent: str | None
    dose: DoseFacts
    setting: SettingFacts
    reasons: tuple[Diagnosis, ...] = ()  # from reasonCode / reasonReference
    requester: str | None = None
    single_100mg_syringe: bool = True  # the product is the 100 mg single-use syringe
    # statement key -> what the prescriber states in the order's notes
    prescriber_statement: dict[str, PrescriberStatement] = field(default_factory=dict)
    # statement key -> PrescriberStatement: what the prescriber answered "no" to in the documentation questionnaire
    # (documentation/answers.py); a clause the chart does not meet is then NOT_MET, never met
    prescriber_denials: dict[str, PrescriberStatement] = field(default_factory=dict, compare=False)
    # the order as received (respond echoes it)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Prescriber:
    specialties: frozenset[str]
    source: str | None
    known: bool  # we found a Practitioner/Role for the prescriber at all
    codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class CoverageFacts:
    present: bool
    program: str | None  # commercial | fep | sao | medicare-part-d | medicare-advantage | None
    source: str | None = None  # "Coverage/cov-1"
    payor: str | None = None
    member_ref: str | None = None  # keyed hash of the subscriber id, never the id itself
    evidence: tuple[str, ...] = ()
    count: int = 0
    programs: tuple[str, ...] = ()  # every program the Coverage was recognised as (precedence order)


@dataclass(frozen=True)
class PrescriberStatement:
    """Something the prescriber wrote on the order (a note), classified by the terminology's patterns, or answered
    in the documentation questionnaire (`source` then names the QuestionnaireResponse item)."""

    key: str  # recent_anakinra | at_risk_if_changed | specialist_consult | ...
    text: str
    source: str  # "MedicationRequest/x.note[0]"
    # anakinra_use: the last use its dates show, between these two days (facts/stated_dates.py), and the words
    when: tuple[date, date] | None = None
    when_text: str = ""
    # preferred_tried_list: the preferred RA products the list names (empty when it says none); None when the
    # sentence names no product and does not say none (no list given)
    items: frozenset[str] | None = None


@dataclass(frozen=True)
class EncounterFact:
    source: str
    inpatient: bool  # an inpatient admission (class IMP, ACUTE, NONAC)
    active: bool
    start: date | None
    text: str = ""
    class_code: str | None = None  # v3 ActCode as recorded (IMP, EMER, OBSENC, AMB, ...)
    end: date | None = None
    review: bool = False  # an emergency or observation stay (admission not yet recorded)


@dataclass(frozen=True)
class ProcedureFact:
    label: str
    source: str
    performed: date | None
    active: bool  # status in-progress
    kinds: frozenset[str] = frozenset()  # oxygen, ventilation, ...
    codes: tuple[Code, ...] = ()
    ended: date | None = None  # performedPeriod.end (None: not said, or still going)


@dataclass(frozen=True)
class ChartNote:
    """A note the chart writes about a condition (Condition.note), read as text evidence: only what a sentence
    states without negation or hedging counts (facts/text_evidence.py)."""

    text: str
    source: str  # "Condition/abc.note[0]"
    written: date | None  # the note's time, else the condition's recorded / onset date
    active: bool  # the condition it annotates is active
    statements: tuple[tuple[str, str], ...] = ()  # (key, sentence): what the note states (chart_statements)
    unstated: tuple[tuple[str, str, str], ...] = ()  # (key, status, sentence): spoken of without being stated
    values: tuple[LabValue, ...] = ()  # measurements the note states ("suPAR 7.8 ng/mL")
    kinds: frozenset[str] = frozenset()  # condition kinds the note affirms by name (ventilation, ...)
    hedged_kinds: tuple[tuple[str, str], ...] = ()  # (kind, status) named without being affirmed

    def states(self, key: str) -> str | None:
        """The sentence stating `key`, or None."""
        return next((sentence for k, sentence in self.statements if k == key), None)


@dataclass(frozen=True)
class ImmunizationFact:
    source: str
    label: str
    live: bool
    occurred: date | None
    kind: str = "given"  # given | ordered


@dataclass(frozen=True)
class PriorAuthorization:
    source: str
    drug: str  # "anakinra"
    status: str  # approved | denied | ...
    start: date | None
    end: date | None
    pa_id: str | None
    indication: str | None = None  # the one indication the approval names, if exactly one
    indications: frozenset[str] = frozenset()  # every indication it names (processNote, items, the Claim)
    basis: str = ""  # what the status rests on (review action code, disposition ...)


@dataclass(frozen=True)
class DiseaseActivity:
    """A statement of RA disease activity in the chart (facts/disease_activity.py)."""

    level: str  # low (mild, low activity, remission) | active (moderate, severe, high)
    what: str  # how the chart states it: "severity Mild (SNOMED 255604002)", "CDAI 6.5", ...
    source: str  # "Condition/x", "Condition/x.note[0]", "Observation/y"
    observed_on: date | None


@dataclass(frozen=True)
class PatientFacts:
    reference: str  # "Patient/<id>"
    as_of: date  # the order's authoredOn, else the call time
    birth_date: date | None
    sex: str | None  # male | female | other | unknown | None
    weight: Weight | None
    labs: tuple[LabValue, ...]
    diagnoses: tuple[Diagnosis, ...]
    medications: tuple[TherapySpan, ...]
    allergies: tuple[AllergyFact, ...]
    prescriber: Prescriber
    coverage: CoverageFacts
    encounters: tuple[EncounterFact, ...] = ()
    immunizations: tuple[ImmunizationFact, ...] = ()
    prior_authorizations: tuple[PriorAuthorization, ...] = ()
    conditions_text: tuple[str, ...] = ()  # free-text problem list entries (for MAS, pneumonia, infections)
    procedures: tuple[ProcedureFact, ...] = ()
    chart_notes: tuple[ChartNote, ...] = ()  # Condition notes, read sentence by sentence
    unavailable: frozenset[str] = frozenset()  # data needs that could not be obtained (prefetch keys)
    # Active medication records whose medication could not be identified at all (no code the value
    # sets know, no name: e.g. a medicationReference that was not included and has no display).
    unidentified_medications: tuple[str, ...] = ()
    # Use that is planned rather than current (a MedicationStatement `intended`, a MedicationRequest with
    # intent plan/proposal, a record that starts after the order date): only the combination clauses
    # read it ("will NOT be using"); it is no medication history for any other clause.
    planned_medications: tuple[TherapySpan, ...] = ()
    # What the chart states about RA disease activity (severity, scores, words), for table1.ra.activity.
    disease_activity: tuple[DiseaseActivity, ...] = ()

    @property
    def age_years(self) -> int | None:
        if self.birth_date is None:
            return None
        d, b = self.as_of, self.birth_date
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))

    @property
    def age_days(self) -> int | None:
        if self.birth_date is None:
            return None
        return (self.as_of - self.birth_date).days

    def labs_of(self, kind: str) -> tuple[LabValue, ...]:
        """Labs of one kind, newest first."""
        found = [lab for lab in self.labs if lab.kind == kind]
        found.sort(key=lambda lab: lab.observed_on or date.min, reverse=True)
        return tuple(found)


@dataclass(frozen=True)
class CaseFacts:
    """Everything the policy sees for one anakinra order."""

    patient: PatientFacts
    order: OrderFacts
    other_drafts: tuple[TherapySpan, ...] = ()  # other draft orders in the same bundle (not anakinra)
    hook: str = "order-sign"
