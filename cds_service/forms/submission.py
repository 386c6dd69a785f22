"""A submitted form read and checked against the Questionnaire, on the server, whatever the browser did.

`read_submission(form, fields, prefilled)` takes the posted fields (name -> list of strings, as
`request.form.to_dict(flat=False)` gives them) and returns a `Submission`: the answers by linkId (bare
values, no extensions yet), the errors by linkId, and the raw values to show again beside an error.

Checked: types (boolean, integer, decimal, date, dateTime, time, string/text with maxLength),
answers only from the listed options (a tampered code is an error, never stored), one answer unless
`repeats`, `required` when the item is enabled. Items that are disabled once the answers are known
lose their answers and errors. `readOnly` and hidden items are never taken from the form: they keep
their pre-filled answer (or `initial`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from .answers import enabled_link_ids
from .questionnaire_items import VALUE_KEY_FOR_TYPE, FormDefinition, FormItem

MAX_TEXT_CHARS = 10_000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_INTEGER = re.compile(r"[+-]?\d{1,10}")
_DECIMAL = re.compile(r"[+-]?(\d{1,15}(\.\d{1,10})?|\.\d{1,10})")
_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")
_LOCAL_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?")
_TIME = re.compile(r"(\d{2}:\d{2})(:\d{2})?")

REQUIRED_MESSAGE = "Answer this question."


def field_name(link_id: str) -> str:
    """The form field of an item's answer(s)."""
    return f"a:{link_id}"


def other_field_name(link_id: str) -> str:
    """The free-text field of an open-choice item."""
    return f"o:{link_id}"


class FieldError(ValueError):
    pass


@dataclass
class Submission:
    answers: dict[str, list[dict]]  # linkId -> [{"valueX": ...}] of enabled items
    errors: dict[str, str]  # linkId -> message
    raw: dict[str, list[str]] = field(default_factory=dict)
    other_raw: dict[str, str] = field(default_factory=dict)
    enabled: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors


def _nonempty(values: list[str]) -> list[str]:
    return [v for v in (s.strip() for s in values) if v]


def _parse_scalar(item: FormItem, text: str) -> dict:
    kind = item.type
    key = VALUE_KEY_FOR_TYPE[kind]
    if kind == "boolean":
        if text not in ("true", "false"):
            raise FieldError("Choose Yes or No.")
        return {key: text == "true"}
    if kind == "integer":
        if not _INTEGER.fullmatch(text) or not INT_MIN <= int(text) <= INT_MAX:
            raise FieldError("Enter a whole number.")
        return {key: int(text)}
    if kind == "decimal":
        if not _DECIMAL.fullmatch(text):
            raise FieldError("Enter a number (for example 12.5).")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FieldError("Enter a number (for example 12.5).") from None
        return {key: int(number) if number == number.to_integral_value() and "." not in text else float(number)}
    if kind == "date":
        return {key: _parse_date(text)}
    if kind == "dateTime":
        return {key: _parse_datetime(text)}
    if kind == "time":
        m = _TIME.fullmatch(text)
        try:
            if not m:
                raise ValueError
            time.fromisoformat(m.group(1) + (m.group(2) or ":00"))
        except ValueError:
            raise FieldError("Enter a time as HH:MM.") from None
        return {key: m.group(1) + (m.group(2) or ":00")}
    # string / text
    limit = min(item.max_length or MAX_TEXT_CHARS, MAX_TEXT_CHARS)
    if len(text) > limit:
        raise FieldError(f"Use at most {limit} characters.")
    if kind == "string" and ("\n" in text or "\r" in text):
        raise FieldError("Use a single line.")
    return {key: text}


def _parse_date(text: str) -> str:
    if _PARTIAL_DATE.fullmatch(text):
        if len(text) == 7 and not 1 <= int(text[5:]) <= 12:
            raise FieldError("Enter a date as YYYY-MM-DD.")
        return text
    try:
        return date.fromisoformat(text).isoformat() if len(text) == 10 else _bad_date()
    except ValueError:
        return _bad_date()


def _bad_date():
    raise FieldError("Enter a date as YYYY-MM-DD.")


def _parse_datetime(text: str) -> str:
    """A browser's `datetime-local` (read as UTC, as the form says), a date, or a FHIR dateTime with offset."""
    m = _LOCAL_DATETIME.fullmatch(text)
    if m:
        try:
            value = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{m.group(3) or ':00'}")
        except ValueError:
            raise FieldError("Enter a date and time.") from None
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(text) <= 10:
        try:
            return _parse_date(text)
        except FieldError:
            raise FieldError("Enter a date and time.") from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FieldError("Enter a date and time.") from None
    if value.tzinfo is None:
        raise FieldError("Enter a date and time.")
    return text


def _parse_choice(item: FormItem, chosen: list[str], other: str) -> list[dict]:
    by_key = {o.key: o for o in item.options}
    out: list[dict] = []
    for key in chosen:
        option = by_key.get(key)
        if option is None:
            raise FieldError("Choose one of the listed answers.")
        if option.value not in out:
            out.append(dict(option.value))
    if other:
        if item.type != "open-choice":
            raise FieldError("Choose one of the listed answers.")
        if len(other) > MAX_TEXT_CHARS or "\n" in other:
            raise FieldError("Type a short answer on one line.")
        out.append({"valueString": other})
    if len(out) > 1 and not item.repeats:
        raise FieldError(
            "Choose one answer." if item.type == "choice" else "Choose a listed answer or type another, not both."
        )
    return out


def _read_item(item: FormItem, form: dict[str, list[str]]) -> tuple[list[dict], list[str], str]:
    """(answers, raw values, raw other text) of one editable question; raises FieldError."""
    raw = list(form.get(field_name(item.link_id), []))
    other_values = _nonempty(form.get(other_field_name(item.link_id), []))
    other = other_values[0] if other_values else ""
    if len(other_values) > 1:
        raise FieldError("Type one answer.")
    values = _nonempty(raw)
    if item.type in ("choice", "open-choice"):
        return _parse_choice(item, values, other), raw, other
    if len(values) > 1:
        raise FieldError("Give one answer.")
    text = values[0] if values else ""
    return ([_parse_scalar(item, text)] if text else []), raw, other


def fixed_answers(item: FormItem, prefilled: dict[str, list[dict]]) -> list[dict]:
    """What a read-only, hidden or unsupported item answers: its pre-filled answers, else `initial`."""
    if prefilled.get(item.link_id):
        return [dict(a) for a in prefilled[item.link_id]]
    return [dict(v) for v in item.initial] if item.is_question else []


def editable(item: FormItem) -> bool:
    return item.is_question and item.supported and not item.read_only and not item.hidden


def required_here(item: FormItem, answers: dict[str, list[dict]]) -> bool:
    """`required`, relative to the enclosing groups (R4 Questionnaire.item.required): a required question of an
    optional group that is left wholly unanswered (say, a medication trial not reported) is not asked for."""
    if not item.required:
        return False
    parent = item.parent
    while parent is not None:
        if (
            parent.type == "group"
            and not parent.required
            and not any(d.link_id in answers for d in parent.walk() if d is not parent)
        ):
            return False
        parent = parent.parent
    return True


def read_submission(
    form: dict[str, list[str]], definition: FormDefinition, prefilled: dict[str, list[dict]]
) -> Submission:
    answers: dict[str, list[dict]] = {}
    errors: dict[str, str] = {}
    raw: dict[str, list[str]] = {}
    other_raw: dict[str, str] = {}
    for item in definition.walk():
        if not item.is_question:
            continue
        if not editable(item):
            fixed = fixed_answers(item, prefilled)
            if fixed:
                answers[item.link_id] = fixed
            continue
        raw[item.link_id] = list(form.get(field_name(item.link_id), []))
        other_raw[item.link_id] = (form.get(other_field_name(item.link_id)) or [""])[0]
        try:
            parsed, raw[item.link_id], other_raw[item.link_id] = _read_item(item, form)
        except FieldError as exc:
            errors[item.link_id] = str(exc)
            continue
        if parsed:
            answers[item.link_id] = parsed
    enabled = enabled_link_ids(definition, answers)
    answers = {k: v for k, v in answers.items() if k in enabled}
    errors = {k: v for k, v in errors.items() if k in enabled}
    for item in definition.walk():
        if item.link_id not in enabled or not required_here(item, answers) or item.link_id in errors:
            continue
        if item.type == "group":
            if not any(d.link_id in answers for d in item.walk() if d is not item):
                errors[item.link_id] = "Answer at least one question in this section."
        elif item.is_question and not answers.get(item.link_id):
            errors[item.link_id] = (
                "This question cannot be answered here: its answer list is missing."
                if item.options_missing
                else REQUIRED_MESSAGE
            )
    return Submission(answers=answers, errors=errors, raw=raw, other_raw=other_raw, enabled=enabled)
