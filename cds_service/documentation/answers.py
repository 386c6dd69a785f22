"""Read a completed documentation QuestionnaireResponse back into the facts the clauses read.

Structured answers become prescriber statements (`PrescriberStatement`, under the keys the clauses read) or the
prescriber's denials ("no"), medication trials (`TherapySpan`) and intolerances (`AllergyFact`), each citing its
item: `QuestionnaireResponse/<id>#<linkId>`. Only a response that is `completed`, for the same patient, and for
this guideline's questionnaire (any version of the same guideline revision) is read (`acceptable`); the order's
notes stay a fallback: an answered statement replaces the note's, an unanswered one leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..facts.fhir_json import parse_date
from ..facts.model import AllergyFact, CaseFacts, PrescriberStatement, TherapySpan
from ..facts.terminology.codes import drug_classes
from ..facts.terminology.names import drug_for_name
from ..policy.data_loader import Policy
from ..policy.questions import Questions

OUTCOME_STOPPED = {"inadequate-response": "ineffective", "intolerance": "adverse"}


@dataclass(frozen=True)
class DocumentedAnswers:
    """What one QuestionnaireResponse says, as facts."""

    reference: str  # "QuestionnaireResponse/<id>"
    authored: str = ""
    statements: dict = field(default_factory=dict)  # key -> PrescriberStatement
    denials: dict = field(default_factory=dict)  # key -> PrescriberStatement (answered no)
    trials: tuple[TherapySpan, ...] = ()
    intolerances: tuple[AllergyFact, ...] = ()


def _type_id(ref) -> str | None:
    if not isinstance(ref, str):
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


def acceptable(qr: dict, patient_ref: str, questionnaire_url: str, revision: str) -> str | None:
    """None when `qr` may be read for `patient_ref`, else why not. Only a completed response, whose subject is
    this patient, to our questionnaire (`url|<revision>.<n>` or `url|<revision>`) counts."""
    if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
        return "not a QuestionnaireResponse"
    if qr.get("status") != "completed":
        return f"status {qr.get('status')!r}, not completed"
    raw_subject = qr.get("subject")
    subject = raw_subject if isinstance(raw_subject, dict) else {}
    if _type_id(subject.get("reference")) != _type_id(patient_ref):
        return "for another patient (or none)"
    canonical = qr.get("questionnaire")
    if not isinstance(canonical, str) or "|" not in canonical:
        return "names no versioned questionnaire"
    url, version = canonical.split("|", 1)
    if url != questionnaire_url:
        return "for another questionnaire"
    if version != revision and not version.startswith(revision + "."):
        return f"for another guideline revision ({version})"
    return None


def _answers(item: dict) -> list[dict]:
    return [a for a in item.get("answer", ()) if isinstance(a, dict)] if isinstance(item.get("answer"), list) else []


def _items(items, path: str = ""):
    """(linkId, item, position) of every item answered, depth first; repeated groups get their position."""
    counts: dict[str, int] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
            continue
        link = item["linkId"]
        n = counts.get(link, 0)
        counts[link] = n + 1
        yield link, item, n
        yield from _items(item.get("item"), path)
        for answer in _answers(item):  # items nested under an answer
            yield from _items(answer.get("item"), path)


def _value(answer: dict):
    for key in ("valueBoolean", "valueDate", "valueDateTime", "valueString", "valueCoding", "valueInteger"):
        if key in answer:
            return answer[key]
    return None


def _label(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return value.get("display") or value.get("code") or "?"
    return str(value)


def read_answers(qr: dict, questions: Questions, policy: Policy) -> DocumentedAnswers:
    """The facts one (acceptable) QuestionnaireResponse states."""
    rid = qr.get("id") if isinstance(qr.get("id"), str) else "unsaved"
    ref = f"QuestionnaireResponse/{rid}"
    spec = questions.by_link_id()
    answered: dict[str, list] = {}
    sources: dict[str, str] = {}
    groups: list[tuple[dict, str]] = []
    for link, item, n in _items(qr.get("item")):
        if link not in spec:
            continue
        if spec[link].get("reads") == "trial":
            groups.append((item, f"{ref}#{link}[{n}]"))
            continue
        values = [v for v in (_value(a) for a in _answers(item)) if v is not None]
        if values:
            answered.setdefault(link, []).extend(values)
            sources.setdefault(link, f"{ref}#{link}")
    statements: dict[str, PrescriberStatement] = {}
    denials: dict[str, PrescriberStatement] = {}
    details = {
        spec[link]["statement_of"]: (link, values)
        for link, values in answered.items()
        if spec[link].get("statement_of")
    }
    for key, items in questions.statement_items().items():
        given = [(i, answered[i["linkId"]]) for i in items if i["linkId"] in answered]
        if not given:
            continue
        text = "; ".join(f'"{i["text"]}" {", ".join(_label(v) for v in vs_)}' for i, vs_ in given)
        said_no = [i for i, vs_ in given if i["type"] == "boolean" and vs_[0] is False]
        if said_no:
            first = said_no[0]
            denials[key] = PrescriberStatement(key, text, sources[first["linkId"]])
            continue
        if len(given) < len(items):
            continue  # a statement needs every one of its questions answered yes
        source = sources[given[-1][0]["linkId"]]
        items_listed = None
        if key == "preferred_tried_list":
            codes = {
                code for _, vs_ in given for v in vs_ if isinstance(v, dict) and isinstance(code := v.get("code"), str)
            }
            items_listed = frozenset(c for c in codes if c in policy.data["ra_preferred_products"])
        if key in details:
            link, values = details[key]
            text += f'; "{spec[link]["text"]}" {", ".join(_label(v) for v in values)}'
        statements[key] = PrescriberStatement(key, text, source, items=items_listed)
    if "anakinra_use" in details and "recent_anakinra" in statements:
        link, values = details["anakinra_use"]
        day = parse_date(values[0]) if isinstance(values[0], str) else None
        if day is not None:
            statements["anakinra_use"] = PrescriberStatement(
                "anakinra_use",
                f'"{spec[link]["text"]}" {day.isoformat()}',
                f"{ref}#{link}",
                when=(day, day),
                when_text=f"last dose {day.isoformat()}",
            )
    return DocumentedAnswers(
        ref,
        str(qr.get("authored") or ""),
        statements,
        denials,
        tuple(t for t in (_trial(g, src, spec, policy) for g, src in groups) if t is not None),
        _intolerances(answered, sources, spec),
    )


def _trial(group: dict, source: str, spec: dict, policy: Policy) -> TherapySpan | None:
    roles: dict[str, object] = {}
    for link, item, _ in _items(group.get("item")):
        role = spec.get(link, {}).get("role")
        values = [v for v in (_value(a) for a in _answers(item)) if v is not None]
        if role and values:
            roles[role] = values[0]
    product = roles.get("product")
    key = product.get("code") if isinstance(product, dict) else None
    labels = policy.data["ra_preferred_products"]
    if not isinstance(key, str) or key not in labels:
        return None
    label = labels[key]
    drug = drug_for_name(label) or key
    start = parse_date(roles["start"]) if isinstance(roles.get("start"), str) else None
    end = parse_date(roles["end"]) if isinstance(roles.get("end"), str) else None
    outcome = roles.get("outcome")
    code = outcome.get("code") if isinstance(outcome, dict) else None
    return TherapySpan(
        drug=drug,
        classes=drug_classes(drug),
        label=label,
        source=source,
        kind="statement",
        status="completed" if end else "active",
        start=start,
        end=end,
        active=end is None,
        preferred_product=key,
        stopped_reason=OUTCOME_STOPPED.get(code or ""),
        reason_text=_label(outcome) if outcome else "",
    )


def _intolerances(answered: dict, sources: dict, spec: dict) -> tuple[AllergyFact, ...]:
    out = []
    for link, values in answered.items():
        if spec[link].get("reads") != "intolerance":
            continue
        for v in values:
            agent = v.get("code") if isinstance(v, dict) else None
            if agent:
                out.append(
                    AllergyFact(
                        substance=agent,
                        label=agent,
                        source=sources[link],
                        kind="intolerance",
                        active=True,
                        classes=drug_classes(agent),
                    )
                )
    return tuple(out)


def apply_answers(case: CaseFacts, answers: list[DocumentedAnswers]) -> CaseFacts:
    """`case` with the answers added (oldest first: a newer response's answer replaces an older one's). An
    answered statement replaces the order note's statement of the same key; a "no" removes it (the prescriber's
    structured answer is the newer word); trials and intolerances are added to the chart's, never replace them."""
    if not answers:
        return case
    statements = dict(case.order.prescriber_statement)
    denials = dict(case.order.prescriber_denials)
    trials: list[TherapySpan] = []
    intolerances: list[AllergyFact] = []
    for a in sorted(answers, key=lambda a: a.authored):
        for key, st in a.statements.items():
            statements[key] = st
            denials.pop(key, None)
        for key, st in a.denials.items():
            denials[key] = st
            statements.pop(key, None)
        trials.extend(a.trials)
        intolerances.extend(a.intolerances)
    order = replace(case.order, prescriber_statement=statements, prescriber_denials=denials)
    patient = case.patient
    if trials or intolerances:
        patient = replace(
            patient, medications=(*patient.medications, *trials), allergies=(*patient.allergies, *intolerances)
        )
    return replace(case, order=order, patient=patient)
