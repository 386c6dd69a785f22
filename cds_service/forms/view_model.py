"""What the template shows for each item: widget, current value(s), error, pre-fill note, and the
enableWhen conditions in a shape the small browser script can evaluate (the server re-checks all).

`form_view(definition, prefilled, submission=None)`: the first render shows the pre-filled answers
(else `initial`); after a failed submit, the values the prescriber entered and the errors.
"""

from __future__ import annotations

import json

from .answers import answer_value, enabled_link_ids, values_equal
from .questionnaire_items import FormDefinition, FormItem
from .response_builder import information_origin
from .submission import Submission, editable, field_name, fixed_answers, other_field_name

_WIDGETS = {
    "boolean": "boolean",
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "dateTime": "datetime-local",
    "time": "time",
    "string": "text",
    "text": "textarea",
}
_ORIGIN_LABELS = {
    "auto-server": "Pre-filled from the plan's records",
    "auto-client": "Pre-filled from the EHR's records",
}


def display_value(answer: dict) -> str:
    value = answer_value(answer)
    if value is None:
        return ""
    kind, v = value
    if kind == "Boolean":
        return "Yes" if v else "No"
    if kind == "Coding":
        v = v or {}
        return str(v.get("display") or v.get("code") or "")
    if kind == "Reference":
        return str((v or {}).get("display") or (v or {}).get("reference") or "")
    if kind == "Quantity":
        v = v or {}
        return f"{v.get('value', '')} {v.get('unit') or v.get('code') or ''}".strip()
    return str(v)


def source_records(answer: dict) -> list[str]:
    """References named in an answer's extensions (its source records), not its author."""
    out: list[str] = []

    def walk(extensions):
        for ext in extensions or ():
            if not isinstance(ext, dict) or ext.get("url") == "author":
                continue
            ref = ext.get("valueReference")
            if isinstance(ref, dict):
                text = ref.get("reference") or ref.get("display")
                if isinstance(text, str) and text and text not in out:
                    out.append(text)
            walk(ext.get("extension"))

    walk(answer.get("extension"))
    return out


def prefill_note(answers: list[dict]) -> dict | None:
    if not answers:
        return None
    source = information_origin(answers[0]) or "auto-server"
    records: list[str] = []
    for a in answers:
        records.extend(r for r in source_records(a) if r not in records)
    return {
        "source": source,
        "label": _ORIGIN_LABELS.get(source, f"Pre-filled (source: {source})"),
        "text": ", ".join(display_value(a) for a in answers),
        "records": records,
    }


def raw_values(item: FormItem, answers: list[dict]) -> tuple[list[str], str]:
    """The form values (and open-choice text) that show these answers."""
    values: list[str] = []
    other = ""
    for a in answers:
        v = answer_value(a)
        if v is None:
            continue
        if item.type in ("choice", "open-choice"):
            option = next((o for o in item.options if values_equal(answer_value(o.value), v)), None)
            if option is not None:
                values.append(option.key)
            elif item.type == "open-choice" and v[0] == "String":
                other = str(v[1])
        elif v[0] == "Boolean":
            values.append("true" if v[1] else "false")
        elif v[0] == "DateTime" and isinstance(v[1], str) and v[1].endswith(("Z", "+00:00")) and len(v[1]) > 16:
            values.append(v[1][:16])
        else:
            values.append(str(v[1]))
    return values, other


def _condition(ew) -> dict:
    value = answer_value(ew.answer)
    out = {"q": ew.question, "op": ew.operator}
    if value is None:
        return out
    kind, v = value
    if kind == "Coding":
        out.update(kind="coding", system=(v or {}).get("system", ""), code=(v or {}).get("code", ""))
    elif kind == "Boolean":
        out.update(kind="boolean", value="true" if v else "false")
    elif kind in ("Integer", "Decimal"):
        out.update(kind="number", value=v)
    else:
        out.update(kind="text", value=str(v), prefixed=f"{kind.lower()}:{v}")
    return out


def _fixed_values(definition: FormDefinition, prefilled: dict[str, list[dict]]) -> dict[str, list[str]]:
    """Answers of items that have no input (read-only, hidden, unsupported), for the browser's enableWhen."""
    out = {}
    for item in definition.walk():
        if item.is_question and not editable(item):
            values, other = raw_values(item, fixed_answers(item, prefilled))
            if values or other:
                out[item.link_id] = values + ([other] if other else [])
    return out


def form_view(
    definition: FormDefinition, prefilled: dict[str, list[dict]], submission: Submission | None = None
) -> dict:
    counter = iter(range(1, 1_000_000))
    if submission is None:
        current = {}
        for item in definition.walk():
            if item.is_question:
                given = prefilled.get(item.link_id) or [dict(v) for v in item.initial]
                if given:
                    current[item.link_id] = given
        enabled = enabled_link_ids(definition, current)
    else:
        enabled = submission.enabled

    def node(item: FormItem) -> dict:
        n = next(counter)
        view = {
            "link_id": item.link_id,
            "type": item.type,
            "text": item.text,
            "prefix": item.prefix,
            "id": f"item-{n}",
            "name": field_name(item.link_id),
            "other_name": other_field_name(item.link_id),
            "required": item.required,
            "repeats": item.repeats,
            "read_only": item.read_only,
            "hidden": item.hidden,
            "enabled": item.link_id in enabled,
            "conditions": json.dumps([_condition(ew) for ew in item.enable_when]) if item.enable_when else "",
            "behavior": item.enable_behavior,
            "error": None,
            "prefill": None,
            "fixed_text": "",
            "options_missing": item.options_missing,
        }
        if item.type in {"group", "display"}:
            view["widget"] = item.type
        elif not editable(item):
            view["widget"] = "fixed"
            view["fixed_text"] = ", ".join(display_value(a) for a in fixed_answers(item, prefilled))
        elif item.type in ("choice", "open-choice"):
            view["widget"] = "checkbox" if item.repeats else "radio"
        else:
            view["widget"] = _WIDGETS[item.type]
        if item.is_question:
            view["prefill"] = prefill_note(prefilled.get(item.link_id, []))
            if submission is not None and item.link_id in submission.raw:
                values, other = submission.raw[item.link_id], submission.other_raw.get(item.link_id, "")
            else:
                values, other = raw_values(item, prefilled.get(item.link_id) or list(item.initial))
            view["value"] = values[0] if values else ""
            view["other_value"] = other
            view["options"] = [
                {"key": o.key, "label": o.label, "id": f"{view['id']}-{i}", "checked": o.key in values}
                for i, o in enumerate(item.options, 1)
            ]
            view["step"] = "1" if item.type == "integer" else "any"
            if submission is not None:
                view["error"] = submission.errors.get(item.link_id)
        elif submission is not None:
            view["error"] = submission.errors.get(item.link_id)
        view["children"] = [node(c) for c in item.children]
        return view

    items = [node(i) for i in definition.items]
    errors = []

    def collect(views):
        for v in views:
            if v["error"]:
                errors.append({"id": v["id"], "text": v["text"] or v["link_id"], "message": v["error"]})
            collect(v["children"])

    collect(items)
    return {
        "title": definition.title,
        "description": definition.questionnaire.get("description") or "",
        "items": items,
        "errors": errors,
        "fixed_json": json.dumps(_fixed_values(definition, prefilled)),
    }
