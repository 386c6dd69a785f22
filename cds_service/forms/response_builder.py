"""The completed QuestionnaireResponse (Da Vinci DTR `dtr-questionnaireresponse`, R4).

- `questionnaire` = the Questionnaire's canonical `url|version`; `status` completed; `subject`, the
  coverage (`qr-coverage`) and the order (`qr-context`) from the pre-filled response the payer made
  (server-side data, never the browser's); `author` = the practitioner the link was issued to;
  `authored` = now; `intendedUse` withpa unless the pre-fill says otherwise.
- Every answer carries `information-origin` (dtrx-1: `author` if and only if override/manual):
  a pre-filled answer kept unchanged keeps its own extensions (`auto-server` and its source record);
  an answer that replaces a pre-filled one is `override`; an answer where nothing was pre-filled is
  `manual`; a read-only or hidden item's answer that the prescriber could not change is `auto-server`.
- Items follow the Questionnaire's nesting; questions answered inside a question go under its first answer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .answers import answer_value, values_equal
from .questionnaire_items import FormDefinition, FormItem
from .submission import editable

DTR = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/"
INFORMATION_ORIGIN = DTR + "information-origin"
QR_COVERAGE = DTR + "qr-coverage"
QR_CONTEXT = DTR + "qr-context"
INTENDED_USE = DTR + "intendedUse"
QR_PROFILE = DTR + "dtr-questionnaireresponse"
DOC_REASON_SYSTEM = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/coverage-information-codes"
_CONTEXT_EXTENSIONS = (QR_COVERAGE, QR_CONTEXT, INTENDED_USE)


def information_origin(answer: dict) -> str | None:
    """The `source` code of an answer's information-origin extension, if any."""
    for ext in answer.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == INFORMATION_ORIGIN:
            for sub in ext.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == "source":
                    return sub.get("valueCode")
    return None


def _origin_extension(source: str, practitioner_ref: str | None) -> dict:
    ext: list[dict] = [{"url": "source", "valueCode": source}]
    if source in ("override", "manual"):
        if practitioner_ref and practitioner_ref.startswith("Practitioner/"):
            author = [{"url": "practitioner", "valueReference": {"reference": practitioner_ref}}]
        else:  # the profile's `practitioner` takes a Practitioner only: say who in the role's text
            author = [{"url": "role", "valueCodeableConcept": {"text": f"prescriber ({practitioner_ref})"}}]
        ext.append({"url": "author", "extension": author})
    return {"url": INFORMATION_ORIGIN, "extension": ext}


def _value_only(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k.startswith("value")}


def _with_origin(answer: dict, source: str, practitioner_ref: str | None) -> dict:
    others = [e for e in answer.get("extension") or () if isinstance(e, dict) and e.get("url") != INFORMATION_ORIGIN]
    return {**_value_only(answer), "extension": [*others, _origin_extension(source, practitioner_ref)]}


def answers_with_origin(
    item: FormItem, given: list[dict], prefilled: list[dict], practitioner_ref: str | None
) -> list[dict]:
    out = []
    for answer in given:
        value = answer_value(answer)
        kept = next(
            (
                p
                for p in prefilled
                if value is not None and answer_value(p) is not None and values_equal(answer_value(p), value)
            ),
            None,
        )
        if kept is not None:  # unchanged pre-fill: its own origin and source record stay
            out.append(
                {k: v for k, v in kept.items() if k != "item"}
                if information_origin(kept)
                else _with_origin(kept, "auto-server", None)
            )
        elif not editable(item):
            out.append(_with_origin(answer, "auto-server", None))
        else:
            out.append(_with_origin(answer, "override" if prefilled else "manual", practitioner_ref))
    return out


def _items(
    items: list[FormItem],
    answers: dict[str, list[dict]],
    prefilled: dict[str, list[dict]],
    practitioner_ref: str | None,
) -> list[dict]:
    out = []
    for item in items:
        children = _items(item.children, answers, prefilled, practitioner_ref)
        node: dict = {"linkId": item.link_id}
        if item.text:
            node["text"] = item.text
        if item.type == "group":
            if children:
                node["item"] = children
                out.append(node)
            continue
        given = answers.get(item.link_id)
        if not given or not item.is_question:
            continue  # a question's children cannot stand without an answer to hang them on
        node["answer"] = answers_with_origin(item, given, prefilled.get(item.link_id, []), practitioner_ref)
        if children:
            node["answer"][0]["item"] = children
        out.append(node)
    return out


def build_completed_response(
    definition: FormDefinition,
    answers: dict[str, list[dict]],
    prefilled_response: dict | None,
    prefilled: dict[str, list[dict]],
    *,
    practitioner_ref: str,
    authored: datetime,
    response_id: str | None = None,
) -> dict:
    """The completed QuestionnaireResponse for these (validated, enabled-only) answers."""
    pre = prefilled_response or {}
    extensions = [e for e in pre.get("extension") or () if isinstance(e, dict) and e.get("url") in _CONTEXT_EXTENSIONS]
    if not any(e["url"] == INTENDED_USE for e in extensions):
        extensions.append(
            {"url": INTENDED_USE, "valueCodeableConcept": {"coding": [{"system": DOC_REASON_SYSTEM, "code": "withpa"}]}}
        )
    if authored.tzinfo is None:
        authored = authored.replace(tzinfo=UTC)
    qr: dict = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id or uuid.uuid4().hex,
        "meta": {"profile": [QR_PROFILE]},
        "extension": extensions,
        "questionnaire": definition.canonical or pre.get("questionnaire"),
        "status": "completed",
    }
    if isinstance(pre.get("subject"), dict):
        qr["subject"] = pre["subject"]
    qr["authored"] = authored.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    qr["author"] = {"reference": practitioner_ref}
    qr["item"] = _items(definition.items, answers, prefilled, practitioner_ref)
    if not qr["item"]:
        del qr["item"]
    return qr


def r4_problems(resource: dict) -> list[str]:
    """What fhir.resources (R4B models) finds wrong with the resource; empty when it parses."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
    return []
