"""Build the typed picture (`CaseFacts`) for each anakinra order in a hook call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import stated_dates
from .allergies import read_allergies
from .coverage import read_coverage
from .diagnoses import condition_notes, order_reasons, problem_list
from .disease_activity import read_disease_activity
from .dosing import read_dose
from .extra_history import encounters, immunizations, prior_authorizations, procedures
from .fhir_json import ReferenceLookup, dicts, parse_date, reference, str_or_none, text_or_empty
from .labs import lab_values, latest_weight, observation_kinds
from .medication import MedicationInfo, draft_span, medication_of, therapy_history, unidentifiable
from .model import CaseFacts, OrderFacts, PatientFacts, PrescriberStatement, TherapySpan
from .prescriber import read_prescriber
from .setting import read_setting
from .terminology.names import listed_preferred_products
from .text_statements import prescriber_statements


@dataclass(frozen=True)
class DraftOrder:
    resource: dict[str, Any]
    medication: MedicationInfo
    selected: bool

    @property
    def reference(self) -> str:
        rid = self.resource.get("id") if isinstance(self.resource.get("id"), str) else "draft"
        return f"MedicationRequest/{rid}"


def classify_drafts(
    entries: list[dict[str, Any]], selections: tuple[str, ...], hook: str, lookup: ReferenceLookup
) -> list[DraftOrder]:
    out = []
    for res in entries:
        if res.get("resourceType") != "MedicationRequest":
            continue
        info = medication_of(res, lookup)
        rid = str_or_none(res.get("id"))
        selected = hook != "order-select" or (
            rid is not None and (f"MedicationRequest/{rid}" in selections or rid in selections)
        )
        out.append(DraftOrder(res, info, selected))
    return out


def _order_facts(order: dict[str, Any], info: MedicationInfo, lookup: ReferenceLookup) -> OrderFacts:
    oid = rid if isinstance(rid := order.get("id"), str) else "draft"
    return OrderFacts(
        id=oid,
        reference=f"MedicationRequest/{oid}",
        label=info.label or "anakinra",
        authored_on=parse_date(order.get("authoredOn")),
        status=str_or_none(order.get("status")),
        intent=str_or_none(order.get("intent")),
        dose=read_dose(order, info.single_100mg_syringe),
        setting=read_setting(order),
        reasons=order_reasons(order, lookup),
        requester=reference(order.get("requester")),
        single_100mg_syringe=info.single_100mg_syringe,
        prescriber_statement=read_prescriber_statements(order),
        raw=order,
    )


def read_prescriber_statements(order: dict[str, Any], as_of: date | None = None) -> dict[str, PrescriberStatement]:
    """What the prescriber states in the order's notes, by statement key (first sentence wins).

    `anakinra_use` (a statement of anakinra treatment) also carries the last use its dates show, over every such
    sentence of the notes (`stated_dates.last_use`; relative dates, "last injection this morning", against `as_of`,
    the order date); `preferred_tried_list` carries the preferred products its list names."""
    oid = rid if isinstance(rid := order.get("id"), str) else "draft"
    as_of = as_of or parse_date(order.get("authoredOn"))
    out: dict[str, PrescriberStatement] = {}
    uses: list[tuple[str, str]] = []
    for i, note in enumerate(dicts(order.get("note"))):
        text = text_or_empty(note.get("text"))
        source = f"MedicationRequest/{oid}.note[{i}]"
        for key, sentence in prescriber_statements(text):
            if key == "anakinra_use":
                uses.append((sentence, source))
            items = listed_preferred_products(sentence) if key == "preferred_tried_list" else None
            if key == "preferred_tried_list" and items is None:
                continue  # a list cue with nothing listed ("see attached") is no list
            out.setdefault(key, PrescriberStatement(key, sentence, source, items=items))
    if uses:
        used = [(u, stated_dates.last_use([u[0]], as_of)) for u in uses]
        dated = [(u, w) for u, w in used if w is not None]
        if dated:
            last = stated_dates.last_use([s for s, _ in uses], as_of)
            if last is None:  # not reached: the sentences in `dated` place a use
                return out
            (sentence, source), _ = max(dated, key=lambda x: (x[1].latest, x[1].earliest))
            out["anakinra_use"] = PrescriberStatement(
                "anakinra_use", sentence, source, when=(last.earliest, last.latest), when_text=last.words
            )
    return out


def build_cases(
    *,
    drafts: list[DraftOrder],
    resources: dict[str, list[dict[str, Any]]],
    patient_id: str,
    user_id: str,
    hook: str,
    today: date,
    hasher: Callable[[str], str],
    lookup: ReferenceLookup,
    unavailable: frozenset[str] = frozenset(),
) -> list[CaseFacts]:
    """One CaseFacts per selected anakinra draft. `today` is the call date (the fallback as-of date)."""
    targets = [d for d in drafts if d.medication.is_anakinra and d.selected]
    if not targets:
        return []
    patients = resources.get("Patient", [])
    patient = next((p for p in patients if p.get("id") == patient_id), patients[0] if patients else {})
    birth = parse_date(patient.get("birthDate"))
    sex = str_or_none(patient.get("gender"))
    diagnoses, texts = problem_list(resources.get("Condition", []))
    notes = condition_notes(resources.get("Condition", []))
    allergies = read_allergies(resources.get("AllergyIntolerance", []))
    coverage = read_coverage(resources.get("Coverage", []), hasher)
    observations = resources.get("Observation", [])
    kinds = observation_kinds(observations)
    cases = []
    for draft in targets:
        order = _order_facts(draft.resource, draft.medication, lookup)
        as_of = order.authored_on or today
        unidentified: list[str] = []
        planned: list[TherapySpan] = []
        meds = therapy_history(resources, lookup, as_of, unidentified, planned)
        prescriber = read_prescriber(
            order.requester, user_id, resources.get("PractitionerRole", []), resources.get("Practitioner", []), lookup
        )
        others = tuple(
            s for s in (draft_span(d.resource, d.medication, as_of) for d in drafts if d is not draft) if s is not None
        )
        # Another draft signed with this one is as good as active: one naming no identifiable drug
        # counts as an unidentified medication, as an active record would.
        unidentified.extend(d.reference for d in drafts if d is not draft and unidentifiable(d.medication))
        pf = PatientFacts(
            reference=f"Patient/{patient_id}",
            as_of=as_of,
            birth_date=birth,
            sex=sex,
            weight=latest_weight(observations, as_of, kinds),
            labs=lab_values(observations, as_of, kinds),
            diagnoses=diagnoses,
            medications=meds,
            allergies=allergies,
            prescriber=prescriber,
            coverage=coverage,
            encounters=encounters(resources.get("Encounter", []), as_of),
            immunizations=immunizations(resources.get("Immunization", []), drafts),
            prior_authorizations=prior_authorizations(resources.get("ClaimResponse", []), lookup),
            conditions_text=texts,
            procedures=procedures(resources.get("Procedure", [])),
            chart_notes=notes,
            unavailable=unavailable,
            unidentified_medications=tuple(dict.fromkeys(unidentified)),
            planned_medications=tuple(planned),
            disease_activity=read_disease_activity(resources.get("Condition", []), observations, as_of),
        )
        cases.append(CaseFacts(patient=pf, order=order, other_drafts=others, hook=hook))
    return cases
